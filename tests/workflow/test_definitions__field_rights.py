"""Field rights in the bundled definitions: no unit role may set, in any state, a field
that the system or the office sets (issue 11: a unit flipped its appeal's
``filed_in_time``, re-targeted its ``item``, cleared ``late``, rewrote the office's
``problem`` and changed ``year``)."""

from __future__ import annotations

import pytest

from workflow import load_bundled
from workflow.roles import is_unit_role

DEFINITIONS = load_bundled()

# definition -> field -> the only roles that may ever set it
PROTECTED = {
    "appeal": {"item": ("system",), "filed_in_time": ("system",), "decision": ("office",),
               "old_result": ("system",), "new_result": ("system",)},
    "annual_self_assessment": {"late": ("system",), "year": ("office",)},
    "half_year_self_assessment": {"late": ("system",), "year": ("office",)},
    "performance_plan": {"year": ("office",)},
    "rectification": {"problem": ("office",)},
    "evaluation_cycle": {"year": ("system",), "work_plan": ("office",)},
    "medium_term_plan": {"exemption_basis": ("office",)},
    "special_evaluation": {"subject_matter": ("office",), "findings": ("office", "expert"),
                           "report": ("office", "expert"), "unit_opinion": ("unit_head",)},
    "unit_evaluation": {"notes": ("office", "expert")},
}
CASES = [(k, f) for k, fields in PROTECTED.items() for f in fields]


@pytest.mark.parametrize("key, name", CASES, ids=[f"{k}.{f}" for k, f in CASES])
def test_a_protected_field_is_set_by_its_roles_only(key, name):
    definition = DEFINITIONS[key]
    assert definition.fields[name].set_by == PROTECTED[key][name]
    for state in definition.states:
        setters = definition.field_setters(state, name)
        assert set(setters) <= set(PROTECTED[key][name]), (state, setters)


@pytest.mark.parametrize("key", sorted(DEFINITIONS))
def test_no_unit_role_sets_a_field_the_office_or_system_sets(key):
    definition = DEFINITIONS[key]
    for name, spec in definition.fields.items():
        if spec.set_by is None or any(is_unit_role(r) for r in spec.set_by):
            continue
        for state in definition.states:
            assert not [r for r in definition.field_setters(state, name) if is_unit_role(r)], \
                (name, state)


def test_the_sweep_alone_sets_late_and_only_while_open():
    for key in ("annual_self_assessment", "half_year_self_assessment"):
        definition = DEFINITIONS[key]
        assert {s: definition.field_setters(s, "late") for s in definition.states
                if definition.field_setters(s, "late")} == {"open": ("system",)}
        # the unit still writes its report wherever it may edit
        for state in ("open", "returned", "overdue"):
            assert definition.editable_fields(state, ["unit_head"]) == ("report", "evidence")


def test_after_filing_a_unit_edits_only_its_grounds_and_evidence():
    appeal = DEFINITIONS["appeal"]
    assert appeal.editable_fields("filed", ["unit_staff", "unit_head"]) == ("grounds",
                                                                           "evidence")
    assert appeal.editable_fields("under_review", ["office"]) == ("decision",)
    assert not any(appeal.editable_fields(s, ["unit_staff", "unit_head"])
                   for s in appeal.states if s != "filed")


def test_a_rectification_plan_is_not_rewritten_once_accepted():
    rect = DEFINITIONS["rectification"]
    unit = ["unit_staff", "unit_head"]
    assert rect.editable_fields("issued", unit) == ("plan",)
    assert rect.editable_fields("issued", ["office"]) == ("problem",)
    assert rect.editable_fields("in_progress", unit) == ("report",)
    assert rect.editable_fields("reopened", unit) == ("report",)


def test_the_evaluated_unit_writes_only_its_opinion():
    special = DEFINITIONS["special_evaluation"]
    editing = {s: special.editable_fields(s, ["unit_head"]) for s in special.states}
    assert {s: f for s, f in editing.items() if f} == {"opinion_exchange": ("unit_opinion",)}
    assert not any("unit_opinion" in special.editable_fields(s, ["office", "expert"])
                   for s in special.states)


def test_set_by_and_editable_are_in_the_description():
    appeal = DEFINITIONS["appeal"].describe()
    assert appeal["fields"]["filed_in_time"]["set_by"] == ["system"]
    assert appeal["states"]["under_review"]["editable"] == {"office": ["decision"]}
