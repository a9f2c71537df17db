"""The content hash versions the parsed document, not its formatting."""

from __future__ import annotations

import hashlib
import json

import yaml

from workflow import bundled_definitions_dir, load_definition_text
from workflow.source import parse_source

PLAN = (bundled_definitions_dir() / "performance_plan.yaml").read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return load_definition_text(text).content_hash


def _data(text: str) -> dict:
    doc, problems = parse_source(text)
    assert problems == []
    return dict(doc.data)


def test_hash_is_sha256_of_canonical_json_of_the_document() -> None:
    canonical = json.dumps(_data(PLAN), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert _hash(PLAN) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_hash_ignores_comments_and_whitespace() -> None:
    reformatted = "# a new comment\n\n" + PLAN.replace("goals:    {", "goals: {").replace(
        "# counted from entering the state", "") + "\n\n# trailing comment\n"

    assert reformatted != PLAN
    assert _hash(reformatted) == _hash(PLAN)


def test_hash_ignores_block_versus_flow_style_and_key_order() -> None:
    data = _data(PLAN)  # not yaml.safe_load: it reads the key "on" as True
    block = yaml.safe_dump(dict(reversed(list(data.items()))), allow_unicode=True,
                           default_flow_style=False, sort_keys=False)

    assert _hash(block) == _hash(PLAN)


def test_hash_changes_when_a_label_changes() -> None:
    changed = PLAN.replace("{zh: 草拟, en: Draft}", "{zh: 起草, en: Draft}")

    assert changed != PLAN
    assert _hash(changed) != _hash(PLAN)


def test_source_and_path_are_kept() -> None:
    definition = load_definition_text(PLAN, "plans/plan.yaml")

    assert definition.source == PLAN
    assert definition.path == "plans/plan.yaml"
