"""Scenarios of the evaluation year through the engine's public API, under frozen time
on both databases: an appeal escalated to the committee (and one rejected as late, one
withdrawn), the medium-term plan (with the exempt path), a special evaluation end to
end, the mid-year indicator adjustment, rectification escalated by its timers, and the
year that closes only when rectifications, appeals and special evaluations are done."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from engine import (Actor, GuardFailed, available_triggers, fire, get_instance, read_history,
                    start, update_data, verify_history)
from engine.appeals import file_appeal
from engine.cycles import force, open_cycle
from engine.models import OutboxMessage, Timer
from engine.results import compute_results, enter_scores, read_results
from evaluation_support import walk_to
from engine.timers import sweep

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
EXPERT = Actor(None, "expert", None, frozenset({"expert"}))
ROWS = [{"code": "K1", "name": "重点工作", "weight": 60, "method": "direct", "verifier": "督查室"},
        {"code": "K2", "name": "自身建设", "weight": 40, "method": "direct", "verifier": "工委"}]
# the cycle from setup to the appeals stage, forcing the steps that wait for children
TO_APPEALS = [("issue_work_plan", COMMITTEE, {}), ("force_start_monitoring", OFFICE, "计划已备案"),
              ("open_midyear", OFFICE, {}), ("force_close_midyear", OFFICE, "半年自评结束"),
              ("prepare_year_end", OFFICE, {}), ("open_self_assessment", OFFICE, {}),
              ("force_close_self_assessment", OFFICE, "年度自评结束"),
              ("force_start_scoring", OFFICE, "考核结束"), ("submit_results", OFFICE, {}),
              ("approve_results", COMMITTEE, {}), ("open_appeals", OFFICE, {})]


def at(moment: str):
    return freeze_time(moment + "T02:00:00")  # 10:00 in Asia/Shanghai


def walk(db, instance_id, *steps):
    for trigger, actor, kwargs in steps:
        fire(db, instance_id, trigger, actor, **kwargs)


def in_force_system(db, category, rows=ROWS):
    iid = start(db, "indicator_system", OFFICE,
                data={"year": 2026, "category": category, "indicators": rows}).instance_id
    walk(db, iid, ("submit", OFFICE, {}), ("start_review", COMMITTEE, {}),
         ("approve", COMMITTEE, {}), ("put_in_force", OFFICE, {}))
    return iid


def to_appeals(db, cycle_id, steps=TO_APPEALS):
    for trigger, actor, how in steps:
        if isinstance(how, str):
            force(db, cycle_id, trigger, actor, how)
        else:
            fire(db, cycle_id, trigger, actor)


@pytest.fixture
def published(db):
    """A 2026 cycle at the appeals stage, results published on Monday 1 March 2027."""
    with at("2027-03-01"):
        cycle = open_cycle(db, 2026, OFFICE)
        for category in ("县直单位", "乡镇场"):
            in_force_system(db, category)
        rows = [(c, item, v) for c, v in (("101", 80), ("102", 85), ("201", 70))
                for item in ("K1", "K2", "public", "leadership")]
        to_scoring = TO_APPEALS.index(("submit_results", OFFICE, {}))
        to_appeals(db, cycle.instance_id, TO_APPEALS[:to_scoring])  # scores in 综合计分
        assert enter_scores(db, 2026, OFFICE, rows) == []
        compute_results(db, 2026, OFFICE)
        to_appeals(db, cycle.instance_id, TO_APPEALS[to_scoring:])  # approval publishes
    return cycle


def state(db, instance_id):
    return get_instance(db, instance_id).state


def test_an_appeal_escalated_to_the_committee_one_late_and_one_withdrawn(db, actors,
                                                                         published):
    head101, head102 = actors["head101"], actors["head102"]
    cycle = published.instance_id
    with at("2027-03-03"):  # within 5 working days of 1 March
        escalated = file_appeal(db, 2026, head101, "重点工作得分有误", item="K1").instance_id
        withdrawn = file_appeal(db, 2026, head101, "公众评议样本不足", item="public").instance_id
        walk(db, escalated, ("admit", OFFICE, {}), ("start_review", OFFICE, {}),
             ("uphold", OFFICE, {"data": {"decision": "原得分核实无误"}, "comment": "复核维持"}),
             ("notify", OFFICE, {}))
        fire(db, withdrawn, "withdraw", head101)
    with at("2027-03-09"):  # 1 March + 5 working days = 8 March: too late
        late = file_appeal(db, 2026, head102, "不服", item="K2").instance_id
        assert get_instance(db, late).data["filed_in_time"] == "no"
        with pytest.raises(GuardFailed) as refused:
            fire(db, late, "admit", OFFICE)
        assert "超过申诉期限" in refused.value.message
        fire(db, late, "reject", OFFICE, comment="超过申诉期限,不予受理")
        fire(db, escalated, "escalate", head101, comment="不服复核结论,提请考评委裁决")
        with pytest.raises(GuardFailed) as waiting:  # the escalated appeal is still open
            fire(db, cycle, "finalise", OFFICE)
        assert "1 个 appeal 未完成" in waiting.value.message
    with at("2027-03-16"):
        fire(db, escalated, "decide", COMMITTEE, comment="考评委裁决:维持原结果")
        fire(db, cycle, "finalise", OFFICE)
    assert (state(db, escalated), state(db, withdrawn), state(db, late)) == (
        "final", "withdrawn", "rejected")
    steps = [(e["trigger"], e["role"]) for e in read_history(db, escalated)]
    assert steps[-3:] == [("notify", "office"), ("escalate", "unit_head"),
                          ("decide", "committee")]
    assert state(db, cycle) == "finalised"
    assert verify_history(db).ok


def test_the_medium_term_plan_and_its_exempt_path(db, actors):
    staff, head = actors["staff101"], actors["head101"]
    with at("2026-01-10"):
        plan = start(db, "medium_term_plan", staff, unit_code="101",
                     data={"period_start": 2026, "period_end": 2032, "goals": "五年目标",
                           "measures": "措施"}).instance_id
        with pytest.raises(GuardFailed) as too_long:  # "一般为三至五年"
            fire(db, plan, "open_consultation", head)
        assert "三至五年" in too_long.value.message
        fire(db, plan, "open_consultation", head, data={"period_end": 2030})
    with at("2026-02-10"):
        walk(db, plan, ("submit", head, {}), ("start_review", OFFICE, {}),
             ("request_revision", OFFICE, {"comment": "目标须量化"}),
             ("submit", head, {"data": {"goals": "量化的五年目标"}}),
             ("start_review", OFFICE, {}), ("approve", OFFICE, {}), ("publish", OFFICE, {}))
    assert state(db, plan) == "published"
    assert [e["trigger"] for e in read_history(db, plan)].count("submit") == 2

    # 102: the county's five-year plan already contains the performance content
    with at("2026-01-12"):
        exempt = start(db, "medium_term_plan", OFFICE, unit_code="102").instance_id
        with pytest.raises(GuardFailed):  # the basis is required
            fire(db, exempt, "exempt", OFFICE, comment="五年规划已含")
        fire(db, exempt, "exempt", OFFICE, data={"exemption_basis": "县十五五规划第八章"},
             comment="五年规划已含有政府绩效管理内容")
    view = get_instance(db, exempt)
    assert view.state == "exempt" and view.data["exemption_basis"] == "县十五五规划第八章"
    with pytest.raises(Exception):  # final: nothing more happens to it
        fire(db, exempt, "submit", actors["head102"])
    assert verify_history(db).ok


def test_a_special_evaluation_end_to_end_and_the_year_waits_for_it(db, actors, published):
    head = actors["head101"]
    cycle = published.instance_id
    with at("2027-03-10"):
        fire(db, cycle, "finalise", OFFICE)  # no appeals
        fire(db, cycle, "apply_results", COMMITTEE)
        special = start(db, "special_evaluation", OFFICE, unit_code="101", parent_id=cycle,
                        data={"subject_matter": "县惠民行动计划资金使用"}).instance_id
        walk(db, special, ("notify", OFFICE, {}),
             ("approve_plan", OFFICE, {"data": {"work_plan": "问卷+现场调研"}}),
             ("start_collection", EXPERT, {}), ("start_assessment", EXPERT, {}),
             ("conclude", EXPERT, {"data": {"findings": "资金到位率 92%"}}),
             ("exchange_opinions", OFFICE, {}))
        with pytest.raises(GuardFailed) as waiting:  # the year waits for the evaluation
            fire(db, cycle, "close", OFFICE)
        assert "special_evaluation" in waiting.value.message
    with at("2027-03-20"):
        fire(db, special, "respond", head, data={"unit_opinion": "同意,补充说明见附件"})
        walk(db, special, ("finalise_report", EXPERT, {"data": {"report": "专项评估报告"}}),
             ("approve_report", COMMITTEE, {}), ("archive", OFFICE, {}))
        assert state(db, special) == "archived"
        fire(db, cycle, "close", OFFICE)
    assert state(db, cycle) == "closed"
    roles = [e["role"] for e in read_history(db, special)]
    assert {"office", "expert", "unit_head", "committee"} <= set(roles)


def test_the_year_closes_only_when_every_kind_of_child_is_done(db, actors, published):
    head101, head102 = actors["head101"], actors["head102"]
    cycle = published.instance_id
    with at("2027-03-03"):
        appeal = file_appeal(db, 2026, head101, "重点工作", item="K1").instance_id
    with at("2027-03-10"):
        fire(db, appeal, "reject", OFFICE, comment="无新证据")
        fire(db, cycle, "finalise", OFFICE)
        fire(db, cycle, "apply_results", COMMITTEE)
        item = start(db, "rectification", OFFICE, unit_code="102", parent_id=cycle,
                     data={"problem": "自身建设得分偏低"}).instance_id
        special = start(db, "special_evaluation", OFFICE, unit_code="201", parent_id=cycle,
                        data={"subject_matter": "道路建设项目"}).instance_id
        with pytest.raises(GuardFailed) as waiting:
            fire(db, cycle, "close", OFFICE)
        message = waiting.value.message
        assert "rectification" in message and "special_evaluation" in message
        assert "个 appeal" not in message  # the appeals are done
        close = next(a for a in available_triggers(db, cycle, OFFICE) if a.trigger == "close")
        assert not close.allowed and len(close.reasons) == 2  # what the UI shows
    with at("2027-04-20"):
        walk(db, item, ("submit_plan", head102, {"data": {"plan": "整改方案"}}),
             ("accept_plan", OFFICE, {}), ("report_done", head102, {"data": {"report": "完成"}}),
             ("verify", OFFICE, {}), ("close", OFFICE, {}))
        with pytest.raises(GuardFailed) as still:
            fire(db, cycle, "close", OFFICE)
        assert "special_evaluation" in still.value.message
        assert "rectification" not in still.value.message
        forced = force(db, cycle, "force_close", OFFICE, "专项评估转入下年度")
    assert forced.to_state == "closed"
    comment = read_history(db, cycle)[-1]["comment"]
    assert comment.startswith("专项评估转入下年度")
    assert "未完成 rectification not done (0): 无 none" in comment
    assert "未完成 appeal not done (0): 无 none" in comment
    assert "未完成 special_evaluation not done (1): 201 城关镇" in comment
    assert special and verify_history(db).ok


def test_a_mid_year_indicator_adjustment_keeps_100_and_is_used_for_scoring(db, actors):
    with at("2026-02-20"):
        cycle = open_cycle(db, 2026, OFFICE)
        system = in_force_system(db, "县直单位")
        in_force_system(db, "乡镇场")
    with at("2026-09-15"):  # 株洲-style adjustment notice
        fire(db, system, "start_adjustment", COMMITTEE, comment="重点工作任务调整")
        adjusted = [dict(ROWS[0], weight=50), dict(ROWS[1], weight=30),
                    {"code": "K3", "name": "营商环境", "weight": 10, "method": "direct",
                     "verifier": "发改局"}]
        update_data(db, system, OFFICE, {"indicators": adjusted})
        with pytest.raises(GuardFailed) as not_100:  # 50 + 30 + 10 = 90
            fire(db, system, "finish_adjustment", COMMITTEE, comment="调整完成")
        assert "100" in not_100.value.message
        update_data(db, system, OFFICE, {
            "indicators": adjusted[:2] + [dict(adjusted[2], weight=20)],
            "adjustment_reason": "新增营商环境指标(县政府常务会议决定)"})
        fire(db, system, "finish_adjustment", COMMITTEE, comment="调整完成,权重合计 100")
    view = get_instance(db, system)
    assert view.state == "in_force"
    assert sum(r["weight"] for r in view.data["indicators"]) == 100
    history = read_history(db, system)
    reasons = [e for e in history if e["trigger"] == "update_data"
               and "adjustment_reason" in (e["data_patch"] or {})]
    assert reasons[-1]["data_patch"]["adjustment_reason"].startswith("新增营商环境指标")
    assert [e["trigger"] for e in history][-1] == "finish_adjustment"
    with at("2027-02-20"):
        walk_to(db, 2026, "scoring")  # scores are entered in 综合计分
        rows = [("101", "K1", 90), ("101", "K2", 80), ("101", "K3", 60),
                ("101", "public", 70), ("101", "leadership", 80),
                ("102", "K1", 70), ("102", "K2", 70), ("102", "K3", 100),
                ("102", "public", 70), ("102", "leadership", 70),
                ("201", "K1", 80), ("201", "K2", 80), ("201", "public", 80),
                ("201", "leadership", 80)]
        assert enter_scores(db, 2026, OFFICE, rows) == []
        compute_results(db, 2026, OFFICE)
    results = {r["code"]: r for r in read_results(db, 2026)}
    # 101 under the adjusted system: (50·90 + 30·80 + 20·60) / 100 = 81.00;
    # composite 0.8 × 81 + 0.1 × 70 + 0.1 × 80 = 79.80 (the original 60/40 would give 86.00)
    assert (D(results["101"]["indicator"]), D(results["101"]["composite"])) == (
        D("81.00"), D("79.80"))
    # 102: (3500 + 2100 + 2000) / 100 = 76.00; 60.80 + 7 + 7 = 74.80
    assert D(results["102"]["indicator"]) == D("76.00")
    assert cycle.units == 3


def test_an_overdue_rectification_escalates_to_the_office_and_committee(db, actors,
                                                                        published):
    cycle = published.instance_id
    with at("2027-03-10"):
        fire(db, cycle, "finalise", OFFICE)
        fire(db, cycle, "apply_results", COMMITTEE)
        item = start(db, "rectification", OFFICE, unit_code="102", parent_id=cycle,
                     data={"problem": "自身建设得分偏低"}).instance_id
    plan_due = timer_of(db, item, "issued", "due")
    assert plan_due.due_date.isoformat() == "2027-04-09"  # 30 days after 10 March
    first = timer_of(db, item, "issued", "escalate")
    with freeze_time(first.due_at):
        report = sweep(db)
    assert "fired:mark_overdue" in [o.outcome for o in report.outcomes]
    assert state(db, item) == "overdue"
    second = timer_of(db, item, "overdue", "escalate")
    with freeze_time(second.due_at):
        report = sweep(db)
    assert "fired:escalate" in [o.outcome for o in report.outcomes]
    assert state(db, item) == "escalated"
    with db.read() as conn:
        notices = conn.execute(select(OutboxMessage.kind, OutboxMessage.payload).where(
            OutboxMessage.instance_id == item, OutboxMessage.kind == "escalate")
            .order_by(OutboxMessage.id)).all()
    assert [n.payload["notify"] for n in notices] == [["office"], ["office", "committee"]]
    assert [e["actor"] for e in read_history(db, item)][-2:] == ["system", "system"]
    # the unit can still hand in its plan from the escalated state
    with at("2027-04-25"):
        fire(db, item, "submit_plan", actors["head102"], data={"plan": "补交整改方案"})
    assert state(db, item) == "plan_submitted"


def timer_of(db, instance_id, state_name, kind):
    with db.read() as conn:
        return conn.execute(select(Timer.__table__).where(
            Timer.instance_id == instance_id, Timer.state == state_name,
            Timer.kind == kind)).one()
