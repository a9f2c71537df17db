"""Whatever the input, loading returns a Definition or raises DefinitionInvalid: nothing else."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow import Definition, DefinitionInvalid, bundled_definitions_dir, load_definition_text
from workflow.source import parse_source

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

PLAN_TEXT = (bundled_definitions_dir() / "performance_plan.yaml").read_text(encoding="utf-8")
PLAN = parse_source(PLAN_TEXT)[0].data

WORDS = ["schema_version", "key", "title", "zh", "en", "subject", "unit", "roles", "office",
         "auditor", "fields", "type", "choice", "table", "columns", "initial", "states", "draft",
         "final", "editable_by", "transitions", "trigger", "from", "source", "to", "requires",
         "guards", "deadlines", "due", "date", "days", "working_days", "remind", "before", "on",
         "escalate", "after", "notify", "02-30", "13-01", "-1", "0", "1", "true", "null", "~",
         "&a", "*a", "<<", "!!binary", "!foo", "'", '"', "{", "}", "[", "]", ",", ":", "- ", "? ",
         "#", "|", ">", "\t", " ", "  ", "\n", "\n  ", "---", "...", "%YAML 1.1", "\x00", "\ufeff"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.floats(allow_nan=False),
                    st.sampled_from(WORDS), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(WORDS), inner, max_size=4)),
    max_leaves=12)


def outcome(text: str | bytes) -> Definition | DefinitionInvalid:
    try:
        return load_definition_text(text, "fuzz.yaml")
    except DefinitionInvalid as exc:
        assert exc.diagnostics, "DefinitionInvalid without diagnostics"
        for d in exc.diagnostics:
            assert d.line >= 1 and d.col >= 1 and str(d).startswith("fuzz.yaml:")
        return exc


@FUZZ
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    outcome(text)


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes(raw: bytes) -> None:
    outcome(raw)


@FUZZ
@given(st.lists(st.sampled_from(WORDS), max_size=60).map("".join))
def test_yaml_like_token_soup(text: str) -> None:
    outcome(text)


@FUZZ
@given(st.dictionaries(st.sampled_from(WORDS), values, max_size=12))
def test_random_documents(doc: dict) -> None:
    outcome(yaml.safe_dump(doc, allow_unicode=True))


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, path + (i,))
    return found


PLAN_PATHS = _paths(PLAN)[1:]


def _replace(doc: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(doc)]
    return doc  # an earlier mutation already replaced this part


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(PLAN_PATHS), values), min_size=1, max_size=3))
def test_mutated_performance_plan(mutations: list) -> None:
    doc: Any = PLAN
    for path, new in mutations:
        doc = _replace(doc, path, new)

    outcome(yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(st.sampled_from(PLAN_PATHS))
def test_dropping_any_value_of_performance_plan(path: tuple) -> None:
    doc = _replace(PLAN, path, None)

    outcome(yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(st.integers(0, len(PLAN_TEXT)), st.integers(1, 40), st.text(max_size=5))
def test_spliced_performance_plan_text(start: int, length: int, insert: str) -> None:
    outcome(PLAN_TEXT[:start] + insert + PLAN_TEXT[start + length:])
