"""``when_children``: shape checked per file, child definition and states across the set."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow import DefinitionInvalid, load_definition_text, validate_paths
from workflow.spec import ChildrenCondition

DATA = Path(__file__).parent / "data" / "children"

BASE = """schema_version: 1
key: p
title: {zh: 上级, en: Parent}
subject: organisation
roles: [office]
initial: open
states:
  open: {label: {zh: 进行中, en: Open}}
  done: {label: {zh: 完成, en: Done}, final: true}
transitions:
  - {trigger: finish, from: open, to: done, roles: [office], when_children: WHEN}
"""


def test_a_valid_condition_is_loaded() -> None:
    text = BASE.replace("WHEN", "{definition: child, all_in: [accepted, closed]}")
    definition = load_definition_text(text)
    assert definition.transitions[0].when_children == ChildrenCondition("child",
                                                                        ("accepted", "closed"))
    assert definition.describe()["transitions"][0]["when_children"]["all_in"] == ["accepted",
                                                                                   "closed"]


@pytest.mark.parametrize("when, message", [
    ("{definition: child}", "missing required key 'all_in'"),
    ("{definition: child, all_in: []}", "all_in: must not be empty"),
    ("{definition: Child, all_in: [a]}", "invalid definition name 'Child'"),
    ("{definition: child, all_in: [a, a]}", "duplicate state 'a'"),
    ("{definition: child, al_in: [a]}", "unknown key 'al_in'"),
    ("[child]", "wrong type"),
])
def test_malformed_conditions_are_located(when, message) -> None:
    with pytest.raises(DefinitionInvalid) as invalid:
        load_definition_text(BASE.replace("WHEN", when), path="p.yaml")
    found = invalid.value.diagnostics
    assert any(message in d.message for d in found), found
    assert all(d.file == "p.yaml" and d.line == 11 for d in found)


def test_unknown_child_definition_and_state_are_reported_with_hints() -> None:
    problems = validate_paths([DATA])
    texts = [str(p) for p in problems]
    assert len(problems) == 2, texts
    state, definition = sorted(problems, key=lambda d: d.line)
    assert state.file.endswith("parent.yaml") and (state.line, state.col) == (11, 114)
    assert "'child' has no state 'acepted'" in state.message and state.hint == "accepted"
    assert definition.line == 12 and "unknown definition 'chlid'" in definition.message
    assert definition.hint == "child"
