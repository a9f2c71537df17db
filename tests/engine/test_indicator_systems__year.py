"""Indicator systems bound to a year: putting one in force (or finishing an adjustment)
binds it to its year's cycle, recorded in the cycle's chain; opening a cycle binds the
year's systems in force; adjusting a later year's system never touches an earlier
year's binding; a second system in force for the same year and category is refused;
last year's systems are copied into a new year all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from engine import Actor, InvalidInput, NotFound, fire, read_history, start, update_data
from engine import get_instance, verify_history
from engine.cycles import cycle_for_year, open_cycle
from engine.facts import SYSTEMS_BIND
from engine.indicator_systems import bound_systems, copy_system, copy_year, list_systems
from engine.models import HistoryEntry, Instance

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
_h, _i = HistoryEntry.__table__, Instance.__table__


def rows(*weights: int, prefix: str = "K") -> list[dict]:
    return [{"code": f"{prefix}{n}", "name": f"指标{n}", "weight": w, "method": "direct",
             "verifier": "县财政局", "veto": "no"} for n, w in enumerate(weights, start=1)]


def in_force(db, year: int, category: str = "县直单位", indicators=None) -> int:
    iid = start(db, "indicator_system", OFFICE, data={
        "year": year, "category": category,
        "indicators": indicators or rows(60, 40)}).instance_id
    for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                         ("approve", COMMITTEE), ("put_in_force", OFFICE)):
        fire(db, iid, trigger, who)
    return iid


def adjust(db, iid: int, indicators: list[dict]) -> None:
    fire(db, iid, "start_adjustment", COMMITTEE, comment="年中调整重点工作权重")
    update_data(db, iid, OFFICE, {"indicators": indicators,
                                  "adjustment_reason": "市委新增重点工作"})
    fire(db, iid, "finish_adjustment", COMMITTEE, comment="调整完成")


def binds(db, year: int) -> list[dict]:
    cycle = cycle_for_year(db, year)["instance_id"]
    with db.read() as conn:
        return [p for p in conn.execute(select(_h.c.data_patch).where(
            _h.c.instance_id == cycle, _h.c.trigger == SYSTEMS_BIND).order_by(_h.c.seq))
            .scalars()]


def bound(db, year: int) -> dict:
    with db.read() as conn:
        return bound_systems(conn, cycle_for_year(db, year)["instance_id"])


def last_hash(db, iid: int) -> str:
    with db.read() as conn:
        return conn.execute(select(_i.c.last_hash).where(_i.c.id == iid)).scalar_one()


@freeze_time("2026-01-05 02:00:00")
def test_putting_in_force_binds_to_the_open_cycle_in_its_history(db, actors):
    open_cycle(db, 2026, OFFICE)
    iid = in_force(db, 2026)
    [entry] = binds(db, 2026)
    assert entry["system_id"] == iid and entry["year"] == 2026
    assert entry["category"] == "县直单位" and entry["system_hash"] == last_hash(db, iid)
    assert [r["code"] for r in entry["indicators"]] == ["K1", "K2"]
    history = read_history(db, cycle_for_year(db, 2026)["instance_id"])
    assert history[-1]["trigger"] == SYSTEMS_BIND and history[-1]["actor"] == "office"
    assert verify_history(db).ok


@freeze_time("2026-01-05 02:00:00")
def test_no_cycle_yet_nothing_bound_then_opening_binds_the_years_systems(db, actors):
    mine = in_force(db, 2026)
    in_force(db, 2025)  # another year: not bound to 2026
    drafted = start(db, "indicator_system", OFFICE, data={
        "year": 2026, "category": "乡镇场", "indicators": rows(100)}).instance_id
    opened = open_cycle(db, 2026, OFFICE)
    assert {b["system_id"] for b in binds(db, 2026)} == {mine}
    assert drafted not in {b["system_id"] for b in binds(db, 2026)}
    with db.read() as conn:
        entry = conn.execute(select(_h.c.seq, _h.c.role).where(
            _h.c.instance_id == opened.instance_id,
            _h.c.trigger == SYSTEMS_BIND)).one()
    assert entry.seq == 2 and entry.role == "office"  # in the opening transaction
    listed = {s["id"]: s for s in list_systems(db)}
    assert listed[mine]["cycle_year"] == 2026 and listed[mine]["bound_at"] is not None
    assert listed[drafted]["cycle_year"] is None and listed[drafted]["state"] == "draft"


@freeze_time("2026-06-15 02:00:00")
def test_adjusting_2026_rebinds_2026_and_leaves_2025_as_it_was(db, actors):
    open_cycle(db, 2025, OFFICE)
    open_cycle(db, 2026, OFFICE)
    old = in_force(db, 2025)
    new = in_force(db, 2026)
    before_2025 = bound(db, 2025)
    adjust(db, new, rows(50, 30, 20))
    after_2025, after_2026 = bound(db, 2025), bound(db, 2026)
    assert after_2025 == before_2025
    assert after_2025["县直单位"]["system_id"] == old
    assert [r["weight"] for r in after_2025["县直单位"]["indicators"]] == [60, 40]
    assert [r["weight"] for r in after_2026["县直单位"]["indicators"]] == [50, 30, 20]
    assert after_2026["县直单位"]["system_hash"] == last_hash(db, new)
    assert "市委新增重点工作" in after_2026["县直单位"]["reason"]
    assert len(binds(db, 2026)) == 2 and len(binds(db, 2025)) == 1
    editions = {s["id"]: s["edition"] for s in list_systems(db)}
    assert editions == {old: 1, new: 2}
    assert verify_history(db).ok


@freeze_time("2026-01-05 02:00:00")
def test_a_system_being_adjusted_is_bound_at_open_as_it_was_in_force(db, actors):
    iid = in_force(db, 2026)
    in_force_hash = last_hash(db, iid)
    fire(db, iid, "start_adjustment", COMMITTEE, comment="调整")
    update_data(db, iid, OFFICE, {"indicators": rows(10, 90)})
    open_cycle(db, 2026, OFFICE)
    [entry] = binds(db, 2026)
    assert [r["weight"] for r in entry["indicators"]] == [60, 40]
    assert entry["system_hash"] == in_force_hash


@freeze_time("2026-01-05 02:00:00")
def test_a_second_system_in_force_for_the_same_year_and_category_is_refused(db, actors):
    open_cycle(db, 2026, OFFICE)
    first = in_force(db, 2026)
    with pytest.raises(InvalidInput, match=f"#{first}"):
        in_force(db, 2026, indicators=rows(70, 30))
    [entry] = binds(db, 2026)
    assert entry["system_id"] == first
    states = {s["id"]: s["state"] for s in list_systems(db)}
    assert sorted(states.values()) == ["filed", "in_force"]  # the second stays filed
    in_force(db, 2026, category="乡镇场")  # another category is fine
    in_force(db, 2027)  # and so is another year


@freeze_time("2026-01-05 02:00:00")
def test_copy_last_years_systems_into_a_new_year_as_drafts(db, actors):
    a = in_force(db, 2025, indicators=rows(60, 40))
    b = in_force(db, 2025, category="乡镇场", indicators=rows(100, prefix="T"))
    new = copy_year(db, 2025, 2026, OFFICE)
    listed = {s["id"]: s for s in list_systems(db, year=2026)}
    assert set(listed) == set(new) and len(new) == 2
    assert {s["state"] for s in listed.values()} == {"draft"}
    with db.read() as conn:
        data = {r.data["category"]: r.data for r in conn.execute(
            select(_i.c.data).where(_i.c.id.in_(new)))}
    assert data["县直单位"]["year"] == 2026 and data["乡镇场"]["indicators"] == rows(100, prefix="T")
    comments = {read_history(db, i)[0]["comment"] for i in new}
    assert any(f"#{a}" in c and "2025" in c for c in comments)
    assert any(f"#{b}" in c for c in comments)
    # a 2025 system is unchanged and 2026's copy goes through its own approval
    in_force_ids = {s["id"] for s in list_systems(db) if s["state"] == "in_force"}
    assert in_force_ids == {a, b}


@freeze_time("2026-01-05 02:00:00")
def test_a_copy_is_all_or_nothing(db, actors):
    in_force(db, 2025)
    in_force(db, 2025, category="乡镇场", indicators=rows(100))
    existing = start(db, "indicator_system", OFFICE, data={
        "year": 2026, "category": "乡镇场"}).instance_id
    with pytest.raises(InvalidInput, match=f"#{existing}"):
        copy_year(db, 2025, 2026, OFFICE)
    assert [s["id"] for s in list_systems(db, year=2026)] == [existing]
    [one] = copy_year(db, 2025, 2026, OFFICE, category="县直单位")
    assert {s["id"] for s in list_systems(db, year=2026)} == {existing, one}
    with pytest.raises(NotFound):
        copy_year(db, 2019, 2026, OFFICE)
    with pytest.raises(InvalidInput):
        copy_year(db, 2025, 1800, OFFICE)


@freeze_time("2026-01-05 02:00:00")
def test_copy_one_system_and_who_may(db, actors):
    source = in_force(db, 2025)
    copied = copy_system(db, source, 2026, OFFICE)
    assert [s["year"] for s in list_systems(db) if s["id"] == copied] == [2026]
    from engine import NotPermitted

    with pytest.raises(NotPermitted):
        copy_system(db, source, 2027, actors["head101"])
    with pytest.raises(NotFound):
        copy_system(db, 999999, 2027, OFFICE)


# --- computing a year with its own systems ----------------------------------------------

TO_VERIFICATION = (("issue_work_plan", COMMITTEE, None),
                   ("force_start_monitoring", OFFICE, "演示"),
                   ("open_midyear", OFFICE, None), ("force_close_midyear", OFFICE, "演示"),
                   ("prepare_year_end", OFFICE, None), ("open_self_assessment", OFFICE, None),
                   ("force_close_self_assessment", OFFICE, "演示"))


def scoring_year(db, year: int) -> int:
    """``year``'s cycle (no unit instances) in scoring with every unit's scores entered,
    its systems of both categories in force."""
    from engine.results import enter_scores

    cycle = open_cycle(db, year, OFFICE, child_keys=()).instance_id
    in_force(db, year, indicators=rows(60, 40))
    in_force(db, year, category="乡镇场", indicators=rows(100, prefix="T"))
    for trigger, who, comment in TO_VERIFICATION:
        fire(db, cycle, trigger, who, comment=comment)
    values = [("101", "K1", "90"), ("101", "K2", "70"), ("102", "K1", "60"),
              ("102", "K2", "95"), ("201", "T1", "80")]
    values += [(u, item, "85") for u in ("101", "102", "201") for item in ("public", "leadership")]
    assert enter_scores(db, year, OFFICE, values) == []
    fire(db, cycle, "force_start_scoring", OFFICE, comment="演示")
    return cycle


def numbers(results) -> dict:
    return {r.code: (r.indicator, r.composite, r.grade, r.rank) for r in results}


@freeze_time("2026-03-02 02:00:00")
def test_adjusting_2026_leaves_2025s_recomputed_results_unchanged(db, actors):
    from engine.results import compute_results

    scoring_year(db, 2025)
    before = numbers(compute_results(db, 2025, OFFICE))
    assert before["101"][0] == Decimal("82.00") and before["102"][0] == Decimal("74.00")
    open_cycle(db, 2026, OFFICE, child_keys=())
    new = in_force(db, 2026, indicators=rows(60, 40))
    adjust(db, new, rows(10, 90))  # 102 would now lead 101 on indicators
    assert numbers(compute_results(db, 2025, OFFICE)) == before
    assert [r["weight"] for r in bound(db, 2026)["县直单位"]["indicators"]] == [10, 90]


@freeze_time("2026-03-02 02:00:00")
def test_a_published_year_keeps_its_systems(db, actors):
    from engine.results import compute_results

    cycle = scoring_year(db, 2025)
    compute_results(db, 2025, OFFICE)
    fire(db, cycle, "submit_results", OFFICE)
    fire(db, cycle, "approve_results", COMMITTEE)  # publishes
    before = binds(db, 2025)
    system = bound(db, 2025)["县直单位"]["system_id"]
    version = get_instance(db, system).version
    with pytest.raises(InvalidInput, match="结果已公布"):  # no adjustment once published
        fire(db, system, "start_adjustment", COMMITTEE, comment="调整")
    assert get_instance(db, system).version == version
    with pytest.raises(InvalidInput, match="结果已公布"):  # nor a copy into that year
        copy_system(db, system, 2025, OFFICE)
    assert binds(db, 2025) == before
    late = start(db, "indicator_system", OFFICE, data={
        "year": 2025, "category": "驻县单位", "indicators": rows(100)}).instance_id
    for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                         ("approve", COMMITTEE)):
        fire(db, late, trigger, who)
    with pytest.raises(InvalidInput, match="结果已公布"):
        fire(db, late, "put_in_force", OFFICE)
    assert binds(db, 2025) == before


@freeze_time("2026-01-05 02:00:00")
def test_two_systems_put_in_force_at_once_only_one_wins(db, actors):
    import threading

    from engine.instances import fire_on

    def filed() -> int:
        iid = start(db, "indicator_system", OFFICE, data={
            "year": 2026, "category": "县直单位", "indicators": rows(60, 40)}).instance_id
        for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                             ("approve", COMMITTEE)):
            fire(db, iid, trigger, who)
        return iid

    first, second = filed(), filed()
    outcome: list = []

    def other() -> None:
        try:
            fire(db, second, "put_in_force", OFFICE)
            outcome.append("in force")
        except InvalidInput as exc:
            outcome.append(exc)

    with db.write() as conn:
        fire_on(conn, db, first, "put_in_force", OFFICE)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=1.0)  # waits for the first transaction …
        assert thread.is_alive() and outcome == []
    thread.join(timeout=30)  # … then sees the first system in force
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidInput), outcome
    states = sorted(s["state"] for s in list_systems(db))
    assert states == ["filed", "in_force"]


@freeze_time("2026-06-15 02:00:00")
def test_an_adjustment_cannot_move_a_system_to_another_year_or_category(db, actors):
    open_cycle(db, 2026, OFFICE, child_keys=())
    iid = in_force(db, 2026)
    fire(db, iid, "start_adjustment", COMMITTEE, comment="调整")
    update_data(db, iid, OFFICE, {"year": 2027, "adjustment_reason": "改年度"})
    with pytest.raises(InvalidInput, match="不能改变适用年度"):
        fire(db, iid, "finish_adjustment", COMMITTEE, comment="调整完成")
    update_data(db, iid, OFFICE, {"year": 2026, "category": "乡镇场"})
    with pytest.raises(InvalidInput, match="单位类别"):
        fire(db, iid, "finish_adjustment", COMMITTEE, comment="调整完成")
    update_data(db, iid, OFFICE, {"category": "县直单位", "indicators": rows(30, 70)})
    fire(db, iid, "finish_adjustment", COMMITTEE, comment="调整完成")
    assert [r["weight"] for r in bound(db, 2026)["县直单位"]["indicators"]] == [30, 70]
