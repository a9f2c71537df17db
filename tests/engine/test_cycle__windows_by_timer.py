"""The self-assessment windows open, and unsubmitted reports go overdue, by the timer
sweep alone: the cycle's dated deadlines (its settings, default 07-15 / 12-01) fire the
opening step, whose ``then_children`` opens every unit's report in the same
transaction; each report's own deadline (07-31 / 12-10) marks it overdue with the late
flag; a late report is still accepted, and the parent then moves by ``when_children``.
"""

from __future__ import annotations

from freezegun import freeze_time
from sqlalchemy import func, select

from engine import Actor, fire, list_instances, read_history, verify_history
from engine.cycle_config import CycleConfig
from engine.cycles import force, open_cycle
from engine.models import HistoryEntry
from engine.timers import sweep

from time_support import local

COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))


def at(moment: str):
    return freeze_time(local(moment))


def reports(db, key: str) -> dict[int, object]:
    return {v.subject_unit_id: v for v in list_instances(db, key=key, limit=100)}


def state_of(db, instance_id: int) -> str:
    return next(v.state for v in list_instances(db, limit=1000) if v.id == instance_id)


def monitoring_cycle(db, actors, config: CycleConfig | None = None):
    """A 2026 cycle opened in December 2025 and in monitoring (plans forced past)."""
    with at("2025-12-22 10:00"):
        cycle = open_cycle(db, 2026, actors["office"], config)
        fire(db, cycle.instance_id, "issue_work_plan", COMMITTEE)
    with at("2026-04-01 10:00"):
        force(db, cycle.instance_id, "force_start_monitoring", actors["office"], "计划备案截止")
    return cycle


def run_sweep(db, moment: str):
    with at(moment):
        return sweep(db)


def test_the_half_year_window_opens_and_late_reports_go_overdue_by_the_sweep(db, actors):
    cycle = monitoring_cycle(db, actors)
    run_sweep(db, "2026-07-14 23:59")
    assert state_of(db, cycle.instance_id) == "monitoring"
    assert {r.state for r in reports(db, "half_year_self_assessment").values()} == {"not_open"}

    swept = run_sweep(db, "2026-07-15 00:00")
    assert any(o.outcome == "fired:open_midyear" for o in swept.outcomes)
    assert state_of(db, cycle.instance_id) == "midyear_review"
    opened = reports(db, "half_year_self_assessment")
    assert {r.state for r in opened.values()} == {"open"} and len(opened) == 3
    # the cycle's move and every unit's opening are one transaction: same moment, system
    step = read_history(db, cycle.instance_id)[-1]
    assert (step["trigger"], step["actor"]) == ("open_midyear", "system")
    for report in opened.values():
        entry = read_history(db, report.id)[-1]
        assert (entry["trigger"], entry["actor"], entry["at"]) == ("open_window", "system",
                                                                   step["at"])

    head101, head102 = actors["head101"], actors["head102"]
    on_time = opened[head101.unit_id]
    late = opened[head102.unit_id]
    silent = next(r for u, r in opened.items() if u not in (head101.unit_id, head102.unit_id))
    with at("2026-07-25 10:00"):
        fire(db, on_time.id, "submit", head101, data={"report": "半年自评"})

    run_sweep(db, "2026-07-31 23:59")
    assert state_of(db, late.id) == "open"  # due at the end of 31 July
    swept = run_sweep(db, "2026-08-01 00:00")
    assert sum(o.outcome == "fired:mark_overdue" for o in swept.outcomes) == 2
    now = {r.id: r for r in reports(db, "half_year_self_assessment").values()}
    assert (now[on_time.id].state, now[late.id].state, now[silent.id].state) == (
        "submitted", "overdue", "overdue")
    assert now[late.id].data["late"] == "yes" and "late" not in now[on_time.id].data
    marked = read_history(db, late.id)[-1]
    assert (marked["trigger"], marked["actor"], marked["data_patch"]) == (
        "mark_overdue", "system", {"late": "yes"})
    assert "2026-07-31" in marked["comment"]
    assert read_history(db, on_time.id)[-1]["trigger"] == "submit"  # untouched

    with at("2026-08-03 10:00"):
        fire(db, late.id, "submit_late", head102, data={"report": "逾期补报"})
        for report in (on_time, late):
            fire(db, report.id, "start_review", actors["office"])
            fire(db, report.id, "accept", actors["office"])
        assert state_of(db, cycle.instance_id) == "midyear_review"
        fire(db, silent.id, "close_overdue", actors["office"], comment="逾期未报")
    accepted = {r.id: r for r in reports(db, "half_year_self_assessment").values()}[late.id]
    assert accepted.state == "accepted" and accepted.data["late"] == "yes"
    assert [e["trigger"] for e in read_history(db, late.id)][-4:] == [
        "mark_overdue", "submit_late", "start_review", "accept"]
    last = read_history(db, cycle.instance_id)[-1]
    assert (last["trigger"], last["actor"], last["to_state"]) == (
        "close_midyear", "system", "monitoring_h2")
    assert verify_history(db).ok


def test_the_annual_window_opens_on_its_day_and_closes_on_10_december(db, actors):
    cycle = monitoring_cycle(db, actors)
    run_sweep(db, "2026-07-15 00:00")
    with at("2026-07-20 10:00"):
        force(db, cycle.instance_id, "force_close_midyear", actors["office"], "半年自评结束")
    with at("2026-11-10 10:00"):
        fire(db, cycle.instance_id, "prepare_year_end", actors["office"])
    run_sweep(db, "2026-11-30 23:59")
    assert {r.state for r in reports(db, "annual_self_assessment").values()} == {"not_open"}
    run_sweep(db, "2026-12-01 00:00")
    assert state_of(db, cycle.instance_id) == "self_assessment"
    assert {r.state for r in reports(db, "annual_self_assessment").values()} == {"open"}
    run_sweep(db, "2026-12-11 00:00")
    assert {(r.state, r.data.get("late"))
            for r in reports(db, "annual_self_assessment").values()} == {("overdue", "yes")}


def test_the_opening_day_is_a_cycle_setting(db, actors):
    cycle = monitoring_cycle(db, actors, CycleConfig(half_year_window_opens="07-20"))
    run_sweep(db, "2026-07-15 10:00")
    assert state_of(db, cycle.instance_id) == "monitoring"
    run_sweep(db, "2026-07-19 23:59")
    assert state_of(db, cycle.instance_id) == "monitoring"
    run_sweep(db, "2026-07-20 00:00")
    assert state_of(db, cycle.instance_id) == "midyear_review"
    assert {r.state for r in reports(db, "half_year_self_assessment").values()} == {"open"}


def test_the_office_may_open_early_and_the_timer_then_does_nothing(db, actors):
    cycle = monitoring_cycle(db, actors)
    with at("2026-07-10 10:00"):
        fire(db, cycle.instance_id, "open_midyear", actors["office"])
    assert {r.state for r in reports(db, "half_year_self_assessment").values()} == {"open"}
    swept = run_sweep(db, "2026-07-15 00:00")
    assert not any(o.outcome.startswith("fired") for o in swept.outcomes)
    with db.read() as conn:
        opened = conn.execute(select(func.count()).where(
            HistoryEntry.trigger == "open_window")).scalar()
    assert opened == 3  # each report opened once, by the office's step
