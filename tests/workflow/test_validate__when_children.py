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


def test_several_conditions_are_loaded_in_order_and_all_described() -> None:
    text = BASE.replace("WHEN", "[{definition: child, all_in: [accepted]}, "
                                "{definition: other, all_in: [closed, carried_over]}]")
    t = load_definition_text(text).transitions[0]
    assert [(c.definition, c.all_in) for c in t.children_conditions] == [
        ("child", ("accepted",)), ("other", ("closed", "carried_over"))]
    assert t.when_children == t.children_conditions[0]  # the single-form readers' view
    described = load_definition_text(text).describe()["transitions"][0]["when_children"]
    assert described == [{"definition": "child", "all_in": ["accepted"]},
                         {"definition": "other", "all_in": ["closed", "carried_over"]}]


@pytest.mark.parametrize("when, message", [
    ("[]", "must not be empty"),
    ("[{definition: child, all_in: [a]}, {definition: child, all_in: [b]}]",
     "child definition 'child' listed twice"),
    ("[{definition: child, all_in: [a]}, {definition: other}]", "missing required key 'all_in'"),
])
def test_malformed_condition_lists_are_located(when, message) -> None:
    with pytest.raises(DefinitionInvalid) as invalid:
        load_definition_text(BASE.replace("WHEN", when), path="p.yaml")
    found = invalid.value.diagnostics
    assert any(message in d.message for d in found), found
    assert all(d.file == "p.yaml" and d.line == 11 for d in found)


def test_then_children_is_loaded_and_checked_for_shape() -> None:
    text = BASE.replace("when_children: WHEN", "then_children: [{definition: child, fire: open}]")
    t = load_definition_text(text).transitions[0]
    assert [(c.definition, c.trigger) for c in t.then_children] == [("child", "open")]
    assert t.when_children is None and t.children_conditions == ()
    for bad, message in (("{definition: child, fire: open}", "wrong type"),
                         ("[{definition: child}]", "missing required key 'fire'"),
                         ("[{definition: child, fire: Open}]", "invalid trigger name 'Open'")):
        with pytest.raises(DefinitionInvalid) as invalid:
            load_definition_text(BASE.replace("when_children: WHEN", f"then_children: {bad}"))
        assert any(message in d.message for d in invalid.value.diagnostics), bad
