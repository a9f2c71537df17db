"""The YAML reader keeps positions, keeps keys as written and never raises."""

from __future__ import annotations

from workflow.source import MAX_NODES, parse_source

TEXT = """\
a: 1
b:
  - x
  - {on: due, when: 2025-03-31}
c: {d: yes}
"""


def test_values_are_plain_and_keys_stay_as_written() -> None:
    doc, problems = parse_source(TEXT, "t.yaml")

    assert problems == []
    assert doc.data == {"a": 1, "b": ["x", {"on": "due", "when": "2025-03-31"}], "c": {"d": True}}


def test_positions_of_values_and_keys_are_one_based() -> None:
    doc, _ = parse_source(TEXT, "t.yaml")

    assert doc.position(("a",)) == (1, 4)
    assert doc.position(("b", 0)) == (3, 5)
    assert doc.position(("b", 1, "on")) == (4, 10)
    assert doc.position(("b", 1, "on"), key=True) == (4, 6)
    assert doc.position(("c", "d")) == (5, 8)


def test_position_of_a_missing_path_falls_back_to_its_parent() -> None:
    doc, _ = parse_source(TEXT, "t.yaml")

    assert doc.position(("b", 1, "missing")) == (4, 5)
    assert doc.position(("nowhere", 3)) == (1, 1)


def test_duplicate_key_is_reported_at_the_second_occurrence_and_first_value_kept() -> None:
    doc, problems = parse_source("a: 1\nb:\n  x: 1\n  x: 2\n", "t.yaml")

    (problem,) = problems
    assert (problem.line, problem.col) == (4, 3)
    assert problem.message == "duplicate key 'x' (first defined on line 3)"
    assert doc.data["b"] == {"x": 1}


def test_aliases_are_expanded() -> None:
    doc, problems = parse_source("a: &l {zh: 甲, en: A}\nb: *l\n")

    assert problems == []
    assert doc.data["b"] == {"zh": "甲", "en": "A"}


def test_recursive_alias_is_a_diagnostic() -> None:
    _, problems = parse_source("a: &x [1, *x]\n")

    assert [p.message for p in problems] == ["recursive alias: a value contains itself"]


def test_alias_bomb_is_stopped() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]

    doc, problems = parse_source("\n".join(lines))

    assert doc is None
    assert problems[0].message.startswith(f"document too large (over {MAX_NODES}")


def test_deep_nesting_is_a_diagnostic() -> None:
    doc, problems = parse_source("a: " + "[" * 5000 + "]" * 5000)

    assert doc is None
    assert problems[0].message == "document nested too deeply"


def test_unsupported_tags_are_diagnostics() -> None:
    _, problems = parse_source("a: !!python/object:os.system x\nb: !!binary aGk=\nc: !!set {x}\n")

    assert [p.line for p in problems] == [1, 2, 3]
    assert all("unsupported YAML tag" in p.message for p in problems)


def test_several_documents_are_a_syntax_error() -> None:
    doc, problems = parse_source("a: 1\n---\nb: 2\n")

    assert doc is None
    assert problems[0].message.startswith("invalid YAML")
    assert problems[0].line == 2


def test_invalid_utf8_is_located() -> None:
    doc, (problem,) = parse_source(b"a: 1\nb: caf\xe9\n", "t.yaml")

    assert doc is None
    assert (problem.line, problem.col) == (2, 7)
    assert problem.message.startswith("file is not UTF-8 text")
