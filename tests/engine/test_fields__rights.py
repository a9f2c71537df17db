"""Field rights, enforced by the engine on both databases (issue 11): a unit cannot
flip its appeal's ``filed_in_time``, re-target its ``item``, clear the ``late`` flag the
sweep set, rewrite the office's rectification ``problem`` or change ``year`` — not by
saving, not in a transition's data, not when starting — and a refusal writes nothing.
The roles a field belongs to still set it: the office its decision and problem, the
system the late flag through the sweep."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from engine import (fire, get_instance, list_instances, read_history, start, update_data,
                    verify_history)
from engine.cycles import open_cycle
from engine.exceptions import FieldNotEditable, GuardFailed, InvalidInput, NotPermitted
from engine.timers import sweep

from appeal_support import seed_appeal
from time_support import local


def at(moment: str):
    return freeze_time(local(moment))


def snapshot(db, instance_id: int):
    view = get_instance(db, instance_id)
    return view.version, dict(view.data), len(read_history(db, instance_id))


def refused(db, instance_id: int, call, field: str) -> FieldNotEditable:
    """Run ``call``; it must be refused naming ``field``, with nothing written."""
    before = snapshot(db, instance_id)
    with pytest.raises(FieldNotEditable) as caught:
        call()
    assert caught.value.context["field"] == field
    assert field in caught.value.context["fields"]
    assert snapshot(db, instance_id) == before
    return caught.value


@pytest.fixture
def appeal(db, actors):
    """A late appeal of unit 101 on K1 (as file_appeal records one: item and
    filed_in_time computed, not set by anyone)."""
    return seed_appeal(db, "101", "K1 得分有误", item="K1", filed_in_time="no")


def test_a_unit_cannot_flip_filed_in_time_or_re_target_its_appeal(db, actors, appeal):
    head = actors["head101"]
    error = refused(db, appeal, lambda: update_data(db, appeal, head, {"filed_in_time": "yes"}),
                    "filed_in_time")
    assert error.context["fields"] == {"filed_in_time": []}
    assert "由系统自动设置" in error.message and "set by the system" in error.message
    assert isinstance(error, NotPermitted) and error.http_status == 403 and error.exit_code == 3
    refused(db, appeal, lambda: update_data(db, appeal, actors["staff101"], {"item": "K2"}),
            "item")
    # nor in the data of a transition, nor mixed with a field it may set
    refused(db, appeal, lambda: fire(db, appeal, "withdraw", head, data={"item": "K2"}), "item")
    refused(db, appeal, lambda: update_data(db, appeal, head, {"grounds": "新理由",
                                                                "filed_in_time": "yes"}),
            "filed_in_time")
    # the office does not edit a filed appeal at all (the engine computes both fields)
    before = snapshot(db, appeal)
    with pytest.raises(NotPermitted):
        update_data(db, appeal, actors["office"], {"filed_in_time": "yes"})
    assert snapshot(db, appeal) == before
    # what the unit may still do: its grounds while the appeal is filed
    update_data(db, appeal, head, {"grounds": "K1 得分计算有误"})
    view = get_instance(db, appeal)
    assert view.data == {"grounds": "K1 得分计算有误", "item": "K1", "filed_in_time": "no"}
    assert verify_history(db).ok


def test_the_office_cannot_start_an_appeal_directly_either(db, actors):
    """Not even with only the unit's fields: appeals are filed through file_appeal."""
    for data in ({"grounds": "纸质申诉"}, {"grounds": "x", "filed_in_time": "yes"}):
        with pytest.raises(InvalidInput) as refused:
            start(db, "appeal", actors["office"], unit_code="101", data=data)
        assert "perfeval appeals file" in refused.value.message
    assert list_instances(db, key="appeal", limit=10) == []


def test_the_office_writes_its_decision_but_not_the_grounds_or_results(db, actors, appeal):
    office = actors["office"]
    with pytest.raises(GuardFailed):
        fire(db, appeal, "admit", office)  # late: the guard refuses, the flag stands
    fire(db, appeal, "reject", office, comment="逾期")
    early = seed_appeal(db, "101", "g", item="K2", filed_in_time="yes")
    fire(db, early, "admit", office)
    fire(db, early, "start_review", office)
    refused(db, early, lambda: update_data(db, early, office, {"grounds": "改写"}), "grounds")
    refused(db, early, lambda: update_data(db, early, office, {"old_result": "x"}),
            "old_result")
    before = snapshot(db, early)
    with pytest.raises(NotPermitted):  # the unit does not edit an appeal under review
        update_data(db, early, actors["head101"], {"decision": "x"})
    assert snapshot(db, early) == before
    update_data(db, early, office, {"decision": "复核维持"})
    fire(db, early, "uphold", office, comment="维持")
    assert get_instance(db, early).data["decision"] == "复核维持"


def test_the_sweep_sets_late_and_the_unit_cannot_clear_it(db, actors):
    office, head = actors["office"], actors["head101"]
    with at("2026-07-13 10:00"):
        report = start(db, "half_year_self_assessment", office, unit_code="101",
                       data={"year": 2026}).instance_id
        fire(db, report, "open_window", office)
        refused(db, report, lambda: update_data(db, report, head, {"late": "yes"}), "late")
        update_data(db, report, head, {"report": "草稿"})
    with at("2026-08-01 00:00"):
        swept = sweep(db)
    assert any(o.outcome == "fired:mark_overdue" for o in swept.outcomes)
    view = get_instance(db, report)
    assert (view.state, view.data["late"]) == ("overdue", "yes")
    entry = read_history(db, report)[-1]
    assert (entry["actor"], entry["data_patch"]) == ("system", {"late": "yes"})
    with at("2026-08-03 10:00"):
        refused(db, report, lambda: update_data(db, report, head, {"late": None}), "late")
        refused(db, report, lambda: fire(db, report, "submit_late", head,
                                         data={"report": "补报", "late": None}), "late")
        fire(db, report, "submit_late", head, data={"report": "补报"})
    assert get_instance(db, report).data["late"] == "yes"


def test_a_unit_cannot_change_the_year_of_its_report_or_plan(db, actors):
    office, head = actors["office"], actors["head101"]
    plan = start(db, "performance_plan", office, unit_code="101",
                 data={"year": 2026}).instance_id
    refused(db, plan, lambda: update_data(db, plan, head, {"year": 2025}), "year")
    refused(db, plan, lambda: fire(db, plan, "submit", head,
                                   data={"goals": "g", "measures": "m", "year": 2025}), "year")
    with pytest.raises(FieldNotEditable):
        start(db, "performance_plan", head, unit_code="101", data={"year": 2025})
    own = start(db, "performance_plan", head, unit_code="101", data={"goals": "目标"})
    assert get_instance(db, own.instance_id).data == {"goals": "目标"}


def test_the_cycle_year_is_fixed_when_opened(db, actors):
    with at("2025-12-22 10:00"):
        cycle = open_cycle(db, 2026, actors["office"]).instance_id
        error = refused(db, cycle, lambda: update_data(db, cycle, actors["office"],
                                                       {"year": 2030}), "year")
        assert error.context["fields"] == {"year": []}
        update_data(db, cycle, actors["office"], {"work_plan": "2026 年度实施方案"})
    assert get_instance(db, cycle).data["year"] == 2026


def test_a_unit_cannot_rewrite_the_problem_nor_an_accepted_plan(db, actors):
    office, head = actors["office"], actors["head101"]
    item = start(db, "rectification", office, unit_code="101",
                 data={"problem": "自身建设得分偏低"}).instance_id
    error = refused(db, item, lambda: update_data(db, item, head, {"problem": "无问题"}),
                    "problem")
    assert error.context["fields"] == {"problem": ["office"]}
    assert "绩效办" in error.message
    update_data(db, item, office, {"problem": "自身建设得分偏低,党建考核扣分"})
    refused(db, item, lambda: update_data(db, item, office, {"plan": "代写"}), "plan")
    fire(db, item, "submit_plan", head, data={"plan": "整改方案"})
    fire(db, item, "accept_plan", office)
    refused(db, item, lambda: update_data(db, item, head, {"plan": "降低标准"}), "plan")
    update_data(db, item, head, {"report": "已完成整改"})
    view = get_instance(db, item)
    assert view.data == {"problem": "自身建设得分偏低,党建考核扣分", "plan": "整改方案",
                         "report": "已完成整改"}


def test_another_units_head_is_refused_by_the_unit_rule_first(db, actors, appeal):
    before = snapshot(db, appeal)
    with pytest.raises(NotPermitted) as caught:
        update_data(db, appeal, actors["head102"], {"grounds": "x"})
    assert not isinstance(caught.value, FieldNotEditable)
    assert snapshot(db, appeal) == before


def test_data_sent_with_a_transition_names_the_refused_field(db, actors):
    """The office may fire a plan's start_review but not write the unit's goals with it:
    the refusal names the field, not the unit roles."""
    plan = start(db, "performance_plan", actors["staff101"], unit_code="101",
                 data={"goals": "目标", "measures": "措施"}).instance_id
    fire(db, plan, "submit", actors["head101"])
    version = get_instance(db, plan).version
    with pytest.raises(FieldNotEditable) as refused:
        fire(db, plan, "start_review", actors["office"], data={"goals": "改写"})
    assert refused.value.context["field"] == "goals"
    assert get_instance(db, plan).version == version
