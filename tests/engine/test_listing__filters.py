"""The instances list's read: paging with a total, filters by process, state, unit and
"overdue only", unit users confined to their unit (a unit filter cannot widen that),
the filters' choices, and a fixed number of queries."""

from __future__ import annotations

from datetime import date

import pytest
from freezegun import freeze_time
from sqlalchemy import event

from engine import fire, start
from engine.cycles import open_cycle
from engine.dashboard import overdue
from engine.listing import list_page
from time_support import local


@pytest.fixture
def instances(db, actors) -> dict[str, list[int]]:
    """The 2026 cycle (its children for the three units) and 12 more plans, four per
    unit, opened in January; one of unit 101's extra plans submitted in February."""
    with freeze_time(local("2026-01-05 10:00")):
        open_cycle(db, 2026, actors["office"])
        made: dict[str, list[int]] = {"101": [], "102": [], "201": []}
        for _round in range(4):
            for code in made:
                made[code].append(start(db, "performance_plan", actors["office"],
                                        unit_code=code).instance_id)
    with freeze_time(local("2026-02-02 10:00")):
        fire(db, made["101"][0], "submit", actors["head101"],
             data={"goals": "目标", "measures": "措施"})
    return made


def test_pages_of_the_newest_first_with_a_total(db, actors, instances):
    first = list_page(db, actors["office"], page_size=10)
    everything = list_page(db, actors["office"], page_size=1000)
    assert first.total == everything.total == len(everything.rows) > 20
    assert first.pages == -(-first.total // 10) and first.page == 1
    assert [r.id for r in first.rows] == [r.id for r in everything.rows[:10]]
    assert [r.id for r in everything.rows] == sorted((r.id for r in everything.rows),
                                                     reverse=True)
    last = list_page(db, actors["office"], page=99, page_size=10)  # clamped
    assert last.page == last.pages and [r.id for r in last.rows] == [
        r.id for r in everything.rows[(last.pages - 1) * 10:]]


def test_filters_by_process_state_and_unit(db, actors, instances):
    office = actors["office"]
    plans = list_page(db, office, key="performance_plan", page_size=100)
    assert {r.definition_key for r in plans.rows} == {"performance_plan"}
    assert plans.total == 12 + 3  # the extra plans and the cycle's three
    submitted = list_page(db, office, key="performance_plan", state="submitted")
    assert [r.id for r in submitted.rows] == [instances["101"][0]]
    assert submitted.rows[0].state_label.en == "Submitted"
    assert submitted.rows[0].title.zh == "年度绩效计划"
    unit_102 = list_page(db, office, unit_code="102", page_size=100)
    assert {r.unit_code for r in unit_102.rows} == {"102"} and unit_102.total > 4
    assert list_page(db, office, unit_code="nope").total == 0
    assert [u["code"] for u in plans.units] == ["101", "102", "201"]
    assert {"performance_plan", "unit_evaluation"} <= set(plans.processes)
    assert plans.state_choices("performance_plan")["approved"].zh == "已审核备案"
    assert "approved" in plans.state_choices()


def test_overdue_only_matches_the_dashboard(db, actors, instances):
    today = date(2026, 4, 10)
    listed = list_page(db, actors["office"], overdue_only=True, today=today, page_size=500)
    expected = {o.instance_id for o in overdue(db, today=today)}
    assert listed.total == len(expected) > 0
    assert {r.id for r in listed.rows} == expected
    assert all(r.overdue and r.due_date < today for r in listed.rows)
    assert list_page(db, actors["office"], overdue_only=True,
                     today=date(2026, 1, 6)).total == 0


def test_unit_users_see_only_their_unit_whatever_the_filter(db, actors, instances):
    head = actors["head101"]
    own = list_page(db, head, page_size=100)
    assert own.total > 4 and {r.unit_code for r in own.rows} == {"101"}
    assert own.units == []  # no unit choices for unit users
    other = list_page(db, head, unit_code="102", page_size=100)
    assert other.total == 0 and other.rows == []
    assert list_page(db, head, unit_code="101").total == own.total


def test_a_fixed_number_of_queries(db, actors, instances):
    statements: list[str] = []

    def _record(conn, cursor, statement, *args):  # noqa: ARG001
        statements.append(statement)

    list_page(db, actors["office"], page_size=5)  # warm the compiled-definition cache
    event.listen(db.engine, "before_cursor_execute", _record)
    try:
        list_page(db, actors["office"], page_size=5, overdue_only=True, key="performance_plan",
                  today=date(2026, 4, 10))
        office = len(statements)
        statements.clear()
        list_page(db, actors["office"], page_size=50)
        assert len(statements) == office == 4
        statements.clear()
        list_page(db, actors["head101"], page_size=50)
        assert len(statements) == 3
    finally:
        event.remove(db.engine, "before_cursor_execute", _record)
