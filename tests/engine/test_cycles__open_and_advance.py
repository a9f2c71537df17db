"""Opening a cycle creates every unit's instances in one transaction; parents wait for
their children, or are forced with a reason that names the units not done."""

from __future__ import annotations

import pytest

from engine import GuardFailed, InvalidInput, NotPermitted, fire, list_instances, read_history
from engine import Actor, verify_history
from engine.cycle_config import CycleConfig
from engine.cycles import advance, children_count, force, open_cycle


@pytest.fixture
def cycle(db, actors):
    return open_cycle(db, 2026, actors["office"])


def test_open_creates_the_cycle_and_four_instances_per_unit(db, cycle):
    assert (cycle.units, cycle.children) == (3, 12)
    assert children_count(db, cycle.instance_id) == {
        "performance_plan": 3, "half_year_self_assessment": 3, "annual_self_assessment": 3,
        "unit_evaluation": 3}
    parent = [v for v in list_instances(db, key="evaluation_cycle")]
    assert [(v.id, v.state, v.data) for v in parent] == [(cycle.instance_id, "setup", {
        "year": 2026, "half_year_window_opens": "07-15", "annual_window_opens": "12-01"})]
    assert {v.parent_id for v in list_instances(db, key="unit_evaluation")} == {cycle.instance_id}
    report = verify_history(db)
    assert report.ok and report.instances == 13


def test_opening_the_same_year_twice_is_refused_and_writes_nothing(db, actors, cycle):
    with pytest.raises(InvalidInput) as refused:
        open_cycle(db, 2026, actors["office"])
    assert "2026" in refused.value.message
    assert len(list_instances(db)) == 13


def test_only_the_office_opens_a_cycle(db, actors):
    with pytest.raises(NotPermitted):
        open_cycle(db, 2026, actors["head101"])
    assert list_instances(db) == []


def test_scope_can_be_limited_to_categories(db, actors):
    opened = open_cycle(db, 2027, actors["office"], CycleConfig(categories=("乡镇场",)))
    assert (opened.units, opened.children) == (1, 4)


def test_parent_waits_for_children_and_names_those_not_done(db, actors, cycle):
    office = actors["office"]
    committee = Actor(None, "committee", None, frozenset({"committee"}))
    fire(db, cycle.instance_id, "issue_work_plan", committee)
    with pytest.raises(GuardFailed) as waiting:
        advance(db, cycle.instance_id, "start_monitoring", office)
    assert "3 个 performance_plan 未完成" in waiting.value.message
    assert "101 县发展和改革局" in waiting.value.message
    with pytest.raises(GuardFailed):  # fire() reads the children the same way
        fire(db, cycle.instance_id, "start_monitoring", office)
    for plan in list_instances(db, key="performance_plan"):
        head = Actor(None, "h", plan.subject_unit_id, frozenset({"unit_head"}))
        if plan.state == "draft":
            fire(db, plan.id, "submit", head, data={"goals": "目标", "measures": "措施"})
            fire(db, plan.id, "start_review", office)
            fire(db, plan.id, "approve", office)
    last = read_history(db, cycle.instance_id)[-1]  # the last approval advanced it
    assert (last["trigger"], last["actor"], last["to_state"]) == ("start_monitoring", "system",
                                                                  "monitoring")


def test_forcing_records_the_reason_and_the_units_not_done(db, actors, cycle):
    committee = Actor(None, "committee", None, frozenset({"committee"}))
    fire(db, cycle.instance_id, "issue_work_plan", committee)
    with pytest.raises(InvalidInput):
        force(db, cycle.instance_id, "force_start_monitoring", actors["office"], " ")
    force(db, cycle.instance_id, "force_start_monitoring", actors["office"], "时间已到")
    entry = read_history(db, cycle.instance_id)[-1]
    assert entry["trigger"] == "force_start_monitoring" and entry["to_state"] == "monitoring"
    assert entry["comment"].startswith("时间已到\n未完成单位 units not done (3): 101 县发展和改革局")
    assert "201 城关镇" in entry["comment"]
    with pytest.raises(NotPermitted):
        force(db, cycle.instance_id, "open_midyear", actors["head101"], "x")


def test_available_triggers_read_the_children(db, actors, cycle):
    from engine import available_triggers

    committee = Actor(None, "committee", None, frozenset({"committee"}))
    fire(db, cycle.instance_id, "issue_work_plan", committee)
    actions = {a.trigger: a for a in available_triggers(db, cycle.instance_id,
                                                        actors["office"])}
    assert not actions["start_monitoring"].allowed
    assert "3 个 performance_plan 未完成" in actions["start_monitoring"].reasons[0]
    assert actions["force_start_monitoring"].allowed


def test_fire_children_opens_every_window_in_one_transaction(db, actors, cycle):
    from engine.cycles import fire_children

    opened = fire_children(db, 2026, "half_year_self_assessment", "open_window",
                           actors["office"])
    assert [r.to_state for r in opened] == ["open"] * 3
    assert fire_children(db, 2026, "half_year_self_assessment", "open_window",
                         actors["office"]) == []
    with pytest.raises(NotPermitted):  # one refusal rolls the batch back
        fire_children(db, 2026, "annual_self_assessment", "open_window", actors["head101"])
    states = {v.state for v in list_instances(db, key="annual_self_assessment")}
    assert states == {"not_open"}


def test_the_last_two_children_finishing_at_once_still_advance_the_parent(db, actors, cycle):
    """Two writers approve the last two plans concurrently; the parent row lock makes
    the second see the first, so exactly one of them advances the cycle."""
    import threading

    office = actors["office"]
    fire(db, cycle.instance_id, "issue_work_plan",
         Actor(None, "committee", None, frozenset({"committee"})))
    plans = list_instances(db, key="performance_plan")
    for plan in plans:
        head = Actor(None, "h", plan.subject_unit_id, frozenset({"unit_head"}))
        fire(db, plan.id, "submit", head, data={"goals": "目标", "measures": "措施"})
        fire(db, plan.id, "start_review", office)
    fire(db, plans[0].id, "approve", office)
    barrier, errors = threading.Barrier(2), []

    def approve(plan_id):
        try:
            barrier.wait()
            fire(db, plan_id, "approve", office)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(p.id,)) for p in plans[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    history = read_history(db, cycle.instance_id)
    assert [e["trigger"] for e in history].count("start_monitoring") == 1
    assert history[-1]["to_state"] == "monitoring"
