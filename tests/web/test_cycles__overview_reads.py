"""The reads behind the cycle and appeals pages (engine.cycle_views) on SQLite and
PostgreSQL: cycles with their children per state, one year's progress per definition
and category, the steps with the units pending, appeals with their due dates."""

from __future__ import annotations

from freezegun import freeze_time

from engine import Actor, fire, start
from engine.appeals import file_appeal
from engine.cycle_views import (appeals_of, cycle_overview, entry_items, list_cycles,
                                scope_units, unit_items)
from engine.cycles import open_cycle
from engine.results import compute_results, enter_scores
from cycle_support import walk_to

ROWS = [{"code": "K1", "name": "重点工作", "weight": 100, "method": "direct",
         "verifier": "县财政局"}]


def test_cycles_and_one_years_progress(db, actors):
    office = actors["office"]
    open_cycle(db, 2026, office)
    [cycle] = list_cycles(db)
    assert (cycle["year"], cycle["state"], cycle["total"]) == (2026, "setup", 12)
    assert cycle["children"] == {"draft": 3, "not_open": 6, "tracking": 3}
    view = cycle_overview(db, 2026, office)
    assert list(view.by_definition) == ["performance_plan", "half_year_self_assessment",
                                        "annual_self_assessment", "unit_evaluation"]
    assert view.by_category["县直单位"]["performance_plan"] == {"draft": 2}
    assert view.by_category["乡镇场"]["unit_evaluation"] == {"tracking": 1}
    [step] = view.steps
    assert step.trigger == "issue_work_plan" and not step.allowed and step.reasons
    assert [u["code"] for u in scope_units(db, 2026)] == ["101", "102", "201"]


def test_steps_name_the_units_pending_for_a_condition_and_its_force(db, actors):
    office = actors["office"]
    committee = Actor(None, "committee", None, frozenset({"committee"}))
    opened = open_cycle(db, 2026, office)
    fire(db, opened.instance_id, "issue_work_plan", committee)
    steps = {s.trigger: s for s in cycle_overview(db, 2026, office).steps}
    wait, force = steps["start_monitoring"], steps["force_start_monitoring"]
    assert not wait.force and force.force and force.allowed
    assert wait.pending == force.pending == ("101 县发展和改革局", "102 县财政局", "201 城关镇")
    assert wait.waits_for == ("performance_plan",)


def test_appeals_with_their_due_dates_and_the_items(db, actors):
    office = actors["office"]
    committee = Actor(None, "committee", None, frozenset({"committee"}))
    expert = Actor(None, "expert", actors["head102"].unit_id, frozenset({"expert"}))
    with freeze_time("2027-03-01T02:00:00"):
        open_cycle(db, 2026, office)
        for category in ("县直单位", "乡镇场"):
            iid = start(db, "indicator_system", office,
                        data={"year": 2026, "category": category, "indicators": ROWS}).instance_id
            for trigger, who in (("submit", office), ("start_review", committee),
                                 ("approve", committee), ("put_in_force", office)):
                fire(db, iid, trigger, who)
        walk_to(db, 2026, "scoring")
        assert enter_scores(db, 2026, office, [(c, i, 80) for c in ("101", "102", "201")
                                               for i in ("K1", "public", "leadership")]) == []
        compute_results(db, 2026, office)
        walk_to(db, 2026, "publicity")  # the committee's approval publishes
    with freeze_time("2027-03-03T02:00:00"):
        appeal = file_appeal(db, 2026, actors["head101"], "得分有误").instance_id
    [row] = appeals_of(db, 2026)
    assert (row["id"], row["state"], row["code"], row["filed_in_time"]) == (
        appeal, "filed", "101", "yes")
    assert row["due"].isoformat() == "2027-03-08"
    assert unit_items(db, actors["head101"].unit_id) == ["K1", "public", "leadership"]
    assert entry_items(db, expert) == ["K1"]
    assert entry_items(db, office) == ["K1", "public", "leadership"]
