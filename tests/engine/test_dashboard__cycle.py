"""The office dashboard's reads for one cycle: the paged matrix with completion over
every unit, the progress over the year by local week, fired escalations, overdue."""

from __future__ import annotations

from datetime import date

import pytest
from freezegun import freeze_time

from engine import Actor, fire
from engine.cycles import open_cycle
from engine.dashboard import (count_escalations, count_overdue, escalations, matrix,
                              overdue, progress)
from engine.timers import sweep
from time_support import local


@pytest.fixture
def cycle(db, actors):
    """The 2026 cycle of the three seeded units, opened on Monday 5 January."""
    with freeze_time(local("2026-01-05 10:00")):
        return open_cycle(db, 2026, actors["office"])


def _plans(db, cycle):
    m = matrix(db, parent_id=cycle.instance_id, keys=("performance_plan",))
    return {u["code"]: m.cells[(u["id"], "performance_plan")].instance_id for u in m.units}


def _approve(db, actors, plan_id, head, when):
    with freeze_time(local(when)):
        fire(db, plan_id, "submit", head, data={"goals": "目标", "measures": "措施"})
        fire(db, plan_id, "start_review", actors["office"])
        fire(db, plan_id, "approve", actors["office"])


def test_progress_counts_each_instance_once_by_local_week(db, actors, cycle):
    plans = _plans(db, cycle)
    _approve(db, actors, plans["101"], actors["head101"], "2026-01-13 10:00")
    # 07:00 on Thursday 15 January in Shanghai is still the 14th in UTC
    _approve(db, actors, plans["102"], actors["head102"], "2026-01-15 07:00")
    with freeze_time(local("2026-01-16 10:00")):  # published: a second done state
        fire(db, plans["101"], "publish", actors["office"])
    chart = progress(db, cycle.instance_id, 2026, today=date(2026, 2, 10))
    assert chart.weeks == [date(2026, 1, 7), date(2026, 1, 14), date(2026, 1, 21),
                           date(2026, 1, 28), date(2026, 2, 4), date(2026, 2, 11)]
    assert chart.totals == {"annual_self_assessment": 3, "half_year_self_assessment": 3,
                            "performance_plan": 3, "unit_evaluation": 3}
    assert chart.series["performance_plan"] == [0, 1, 2, 2, 2, 2]
    assert chart.series["unit_evaluation"] == [0] * 6
    assert chart.titles["performance_plan"].zh == "年度绩效计划"


def test_matrix_pages_units_but_counts_every_unit(db, actors, cycle):
    plans = _plans(db, cycle)
    _approve(db, actors, plans["201"], Actor(None, "head201", _unit(db, cycle, "201"),
                                             frozenset({"unit_head"})), "2026-01-13 10:00")
    first = matrix(db, parent_id=cycle.instance_id, page_size=2)
    second = matrix(db, parent_id=cycle.instance_id, page_size=2, page=2)
    assert (first.total_units, first.pages) == (3, 2)
    assert [u["code"] for u in first.units] == ["101", "102"]
    assert [u["code"] for u in second.units] == ["201"]
    assert first.completion == second.completion
    assert first.state_counts["performance_plan"] == {"draft": 2, "approved": 1}
    assert first.completion["乡镇场"]["performance_plan"] == (0, 1)
    assert first.completion["县直单位"]["unit_evaluation"] == (0, 2)
    assert (second.cells[(second.units[0]["id"], "performance_plan")].state) == "approved"
    assert matrix(db, parent_id=cycle.instance_id, page=9, page_size=2).page == 2


def _unit(db, cycle, code):
    return next(u["id"] for u in matrix(db, parent_id=cycle.instance_id).units
                if u["code"] == code)


def test_fired_escalations_and_overdue_working_days(db, actors, cycle):
    plans = _plans(db, cycle)
    _approve(db, actors, plans["101"], actors["head101"], "2026-03-02 10:00")
    report = sweep(db, local("2026-04-02 10:00"))
    assert report.count("failed") == 0
    found = escalations(db, parent_id=cycle.instance_id)
    assert sorted((e.unit_code, e.definition_key, e.state, e.level, e.notify)
                  for e in found) == [("102", "performance_plan", "draft", 1, ("office",)),
                                      ("201", "performance_plan", "draft", 1, ("office",))]
    assert found[0].state_label.zh == "草拟" and found[0].fired_at is not None
    assert escalations(db, parent_id=cycle.instance_id + 999) == []
    assert count_escalations(db, parent_id=cycle.instance_id) == 2
    assert len(escalations(db, parent_id=cycle.instance_id, limit=1)) == 1
    late = overdue(db, today=date(2026, 4, 3), parent_id=cycle.instance_id)
    assert sorted((o.unit_code, o.due_date, o.working_days_overdue) for o in late) == [
        ("102", date(2026, 3, 31), 3), ("201", date(2026, 3, 31), 3)]
    assert count_overdue(db, today=date(2026, 4, 3), parent_id=cycle.instance_id) == 2
    assert count_overdue(db, today=date(2026, 3, 31), parent_id=cycle.instance_id) == 0
