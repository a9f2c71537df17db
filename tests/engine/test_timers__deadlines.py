"""Frozen-time deadlines: the half-year report due 31 July 2026 and the annual report due
10 December 2026 remind, fall due and escalate on the right days; leaving the state
cancels them; an escalation fires its trigger as the system actor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from engine import fire, get_instance, read_history, start, verify_history
from engine.timers import sweep
from time_support import events, load_time_definitions, local, shown, timers

HALF_YEAR = [  # (kind, local time, notify, fire)
    ("remind", "2026-07-28 09:00", [], None),    # 3 working days before (Tue)
    ("remind", "2026-07-30 09:00", [], None),    # 1 working day before (Thu)
    ("remind", "2026-07-31 09:00", [], None),    # on the due day (Fri)
    ("due", "2026-08-01 00:00", [], None),       # the end of 31 July
    ("escalate", "2026-08-03 09:00", ["office"], None),           # +1 working day (Mon)
    ("escalate", "2026-08-05 09:00", ["leader"], "mark_overdue"),  # +3 working days
]
ANNUAL = [
    ("remind", "2026-12-07 09:00", [], None),
    ("remind", "2026-12-09 09:00", [], None),
    ("remind", "2026-12-10 09:00", [], None),
    ("due", "2026-12-11 00:00", [], None),
    ("escalate", "2026-12-11 09:00", ["office"], None),
    ("escalate", "2026-12-15 09:00", ["leader"], "mark_overdue"),
]


@pytest.fixture
def reports(db):
    load_time_definitions(db)
    return db


def _start(db, actors, key, entered):
    with freeze_time(local(entered)):
        return start(db, key, actors["staff101"], unit_code="101",
                     data={"year": 2026}).instance_id


@pytest.mark.parametrize("key, entered, plan", [
    ("half_year_report", "2026-07-13 10:00", HALF_YEAR),
    ("annual_report", "2026-12-01 10:00", ANNUAL)])
def test_timers_fall_on_the_right_days(reports, actors, key, entered, plan):
    pid = _start(reports, actors, key, entered)
    rows = timers(reports, pid)
    assert [(t.kind, shown(t.due_at), t.notify, t.fire_trigger) for t in rows] == plan
    assert {t.due_date.isoformat() for t in rows} == {plan[2][1][:10]}
    assert {t.uncovered_year for t in rows} == {None}


@pytest.mark.parametrize("key, entered, plan", [
    ("half_year_report", "2026-07-13 10:00", HALF_YEAR),
    ("annual_report", "2026-12-01 10:00", ANNUAL)])
def test_each_timer_takes_effect_at_its_moment_and_escalation_marks_overdue(
        reports, actors, key, entered, plan):
    pid = _start(reports, actors, key, entered)
    for kind, when, notify, _ in plan:
        before = sweep(reports, local(when) - _minute())
        assert before.outcomes == []
        report = sweep(reports, local(when))
        assert [(o.kind, o.outcome.split(":")[0]) for o in report.outcomes] == [
            (kind, "fired" if kind == "escalate" and notify == ["leader"] else "notified")]
    sent = events(reports, pid)
    assert [e.kind for e in sent] == [k for k, *_ in plan]
    assert len({e.dedupe_key for e in sent}) == len(plan)
    first = sent[0].payload
    assert (first["due_date"], first["working_days_left"], first["state"]) == (
        plan[2][1][:10], 3, "drafting")
    assert sent[-2].recipients["roles"] == ["office"]
    assert get_instance(reports, pid).state == "overdue"
    last = read_history(reports, pid)[-1]
    assert (last["trigger"], last["actor"], last["role"]) == ("mark_overdue", "system", "system")
    assert verify_history(reports).ok


def test_leaving_the_state_cancels_its_timers(reports, actors):
    pid = _start(reports, actors, "half_year_report", "2026-07-13 10:00")
    with freeze_time(local("2026-07-29 15:00")):
        assert sweep(reports).count("notified") == 1  # the 28 July reminder
        fire(reports, pid, "submit", actors["head101"])
    assert {t.status for t in timers(reports, pid) if t.state == "drafting"} == {
        "done", "cancelled"}
    assert sweep(reports, local("2026-08-31 12:00")).outcomes[0].state == "submitted"
    # submitted is due 5 working days after 29 July; its passed reminder folds into it
    assert [(e.kind, e.payload["state"]) for e in events(reports, pid)] == [
        ("remind", "drafting"), ("due", "submitted")]


def test_a_late_sweep_collapses_passed_reminders_into_one_notice(reports, actors):
    pid = _start(reports, actors, "half_year_report", "2026-07-13 10:00")
    report = sweep(reports, local("2026-07-31 12:00"))  # the scheduler was down all week
    assert [(o.kind, o.outcome) for o in report.outcomes] == [
        ("remind", "collapsed"), ("remind", "collapsed"), ("remind", "notified")]
    (notice,) = events(reports, pid)
    assert notice.payload["working_days_left"] == 0 and notice.payload["late"] is True
    assert sweep(reports, local("2026-07-31 12:00")).outcomes == []


def test_after_the_due_moment_even_the_last_reminder_folds_into_the_due_notice(reports, actors):
    pid = _start(reports, actors, "half_year_report", "2026-07-13 10:00")
    report = sweep(reports, local("2026-08-01 08:00"))
    assert [o.outcome for o in report.outcomes] == ["collapsed"] * 3 + ["notified"]
    assert [e.kind for e in events(reports, pid)] == ["due"]


def test_a_reminder_already_past_on_entering_is_not_created(reports, actors):
    pid = _start(reports, actors, "half_year_report", "2026-07-29 10:00")
    assert [t.kind for t in timers(reports, pid)] == ["remind", "remind", "due", "escalate",
                                                       "escalate"]


def test_the_cycle_year_field_places_a_date_deadline(reports, actors):
    with freeze_time(local("2027-01-05 10:00")):  # a late annual report for 2026
        pid = start(reports, "annual_report", actors["staff101"], unit_code="101",
                    data={"year": 2026}).instance_id
    due = [t for t in timers(reports, pid) if t.kind == "due"][0]
    assert shown(due.due_at) == "2026-12-11 00:00"
    assert sweep(reports, local("2027-01-05 10:01")).count("notified") == 2  # due + office


def _minute():
    return timedelta(minutes=1)
