"""Permission is checked in the engine: roles, unit confinement, read-only auditors."""

from __future__ import annotations

import pytest

from engine.exceptions import FieldNotEditable

from engine import (InvalidInput, InvalidTransition, NotPermitted, fire, get_instance,
                    list_instances, read_history, start, update_data)


@pytest.fixture
def plan(db, actors):
    return start(db, "performance_plan", actors["staff101"], unit_code="101",
                 data={"goals": "g", "measures": "m"}).instance_id


def test_wrong_role_is_told_which_role_is_needed(db, actors, plan):
    with pytest.raises(NotPermitted) as denied:
        fire(db, plan, "submit", actors["staff101"])
    assert "unit_head" in denied.value.message and "单位负责人" in denied.value.message
    assert denied.value.context["needed_roles"] == ["unit_head"]
    assert get_instance(db, plan).version == 1


def test_unit_head_of_another_unit_cannot_act(db, actors, plan):
    with pytest.raises(NotPermitted) as denied:
        fire(db, plan, "submit", actors["head102"])
    assert "own unit" in denied.value.message
    assert get_instance(db, plan).state == "draft"


def test_unit_users_cannot_start_for_another_unit(db, actors):
    with pytest.raises(NotPermitted):
        start(db, "performance_plan", actors["staff101"], unit_code="102")


def test_auditor_can_read_everything_and_change_nothing(db, actors, plan):
    auditor = actors["auditor"]
    assert get_instance(db, plan, auditor).state == "draft"
    assert len(read_history(db, plan, auditor)) == 1
    with pytest.raises(NotPermitted):
        fire(db, plan, "submit", auditor)
    with pytest.raises((NotPermitted, InvalidInput)):
        update_data(db, plan, auditor, {"goals": "x"})
    with pytest.raises(NotPermitted):
        start(db, "performance_plan", auditor, unit_code="101")
    assert get_instance(db, plan).version == 1


def test_unit_users_only_see_their_own_unit(db, actors, plan):
    other = start(db, "performance_plan", actors["office"], unit_code="102").instance_id
    with pytest.raises(NotPermitted):
        get_instance(db, other, actors["staff101"])
    seen = {v.id for v in list_instances(db, actors["staff101"])}
    assert seen == {plan}
    assert {v.id for v in list_instances(db, actors["office"])} == {plan, other}


def test_unknown_trigger_and_trigger_from_wrong_state_are_invalid(db, actors, plan):
    with pytest.raises(InvalidTransition) as invalid:
        fire(db, plan, "approve", actors["office"])
    assert "submit" in invalid.value.message  # names what is possible
    with pytest.raises(InvalidTransition):
        fire(db, plan, "to_published", actors["office"])


def test_data_can_only_be_changed_where_the_state_allows(db, actors, plan):
    fire(db, plan, "submit", actors["head101"])
    with pytest.raises(InvalidInput):
        update_data(db, plan, actors["staff101"], {"goals": "changed after submit"})
    with pytest.raises(FieldNotEditable) as refused:  # nobody may edit in 已报送
        fire(db, plan, "start_review", actors["office"], data={"goals": "office rewrites"})
    assert refused.value.context["fields"] == {"goals": []}
    assert get_instance(db, plan).data["goals"] == "g"


def test_unknown_fields_and_wrong_types_are_rejected(db, actors, plan):
    with pytest.raises(InvalidInput) as bad:
        update_data(db, plan, actors["staff101"], {"goalz": "x", "goals": 5})
    assert set(bad.value.context["fields"]) == {"goalz", "goals"}
    assert get_instance(db, plan).version == 1
