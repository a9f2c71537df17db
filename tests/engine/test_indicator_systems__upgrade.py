"""Upgrading a database from before year-bound systems: ``perfeval init`` binds to each
cycle the system it was scored with — the one in force when its results were first
computed, with its data as it was then — recorded as ``systems.bind`` facts by the
system; a second run writes nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from freezegun import freeze_time
from sqlalchemy import insert, select

from engine import Actor, fire, load_definitions, start, update_data
from engine.cycles import cycle_for_year, open_cycle
from engine.indicator_backfill import backfill_bindings
from engine.indicator_systems import bound_systems
from engine.models import HistoryEntry, Unit
from engine.scoring_models import ResultRow
from engine.upgrades import upgrade_data
from workflow.loader import bundled_definitions_dir

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
BEFORE = Path(__file__).parent / "data" / "before_years"
_h = HistoryEntry.__table__


def upgrade(db, tmp_path: Path) -> None:
    """What ``perfeval init`` does when the bundled indicator system changed: register it
    (here a copy, as the test database already holds the bundled version) and run the
    upgrade's data steps."""
    folder = tmp_path / "now"
    folder.mkdir(exist_ok=True)
    text = (bundled_definitions_dir() / "indicator_system.yaml").read_text(encoding="utf-8")
    (folder / "indicator_system.yaml").write_text(
        text.replace("title: {zh: 绩效评估指标体系,", "title: {zh: 绩效评估指标体系(新版),", 1),
        encoding="utf-8")
    [loaded] = load_definitions(db, folder)
    if loaded.created:
        upgrade_data(db, {"indicator_system"})


def rows(*weights: int) -> list[dict]:
    return [{"code": f"K{n}", "name": f"指标{n}", "weight": w, "method": "direct",
             "verifier": "县财政局", "veto": "no"} for n, w in enumerate(weights, start=1)]


def legacy_in_force(db, indicators) -> int:
    """A system without a year, on the definition from before years."""
    iid = start(db, "indicator_system", OFFICE, data={
        "category": "县直单位", "indicators": indicators}).instance_id
    for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                         ("approve", COMMITTEE), ("put_in_force", OFFICE)):
        fire(db, iid, trigger, who)
    return iid


def computed(db, year: int, moment: str) -> None:
    """A stored result of ``year`` computed at ``moment`` (as the old code left it)."""
    cycle = cycle_for_year(db, year)["id"]
    with db.write() as conn:
        unit = conn.execute(select(Unit.id).where(Unit.code == "101")).scalar_one()
        conn.execute(insert(ResultRow.__table__).values(
            cycle_id=cycle, unit_id=unit, category="县直单位", indicator="80", public="80",
            leadership="80", composite="80", grade="合格", rank=1, vetoed=False, revision=1,
            computed_at=datetime.fromisoformat(moment), published_at=None))


def bound(db, year: int) -> dict:
    with db.read() as conn:
        return bound_systems(conn, cycle_for_year(db, year)["instance_id"])


def test_init_binds_each_old_cycle_to_the_system_it_was_scored_with(db, actors, tmp_path):
    load_definitions(db, BEFORE)  # the database as it was before years
    with freeze_time("2025-02-10 02:00:00"):
        open_cycle(db, 2025, OFFICE, child_keys=())
        old = legacy_in_force(db, rows(40, 60))
    with freeze_time("2026-01-05 02:00:00"):
        open_cycle(db, 2026, OFFICE, child_keys=())
    computed(db, 2025, "2026-01-20 02:00:00")
    with freeze_time("2026-02-15 02:00:00"):
        fire(db, old, "archive", OFFICE)
        new = legacy_in_force(db, rows(70, 30))
    with freeze_time("2026-06-15 02:00:00"):  # adjusted before the upgrade
        fire(db, new, "start_adjustment", COMMITTEE, comment="调整")
        update_data(db, new, OFFICE, {"indicators": rows(50, 50), "adjustment_reason": "调整"})
        fire(db, new, "finish_adjustment", COMMITTEE, comment="调整完成")
    assert bound(db, 2025) == {} and bound(db, 2026) == {}
    with freeze_time("2026-07-01 02:00:00"):
        upgrade(db, tmp_path)
    b2025, b2026 = bound(db, 2025)["县直单位"], bound(db, 2026)["县直单位"]
    assert (b2025["system_id"], b2025["year"]) == (old, 2025)
    assert [r["weight"] for r in b2025["indicators"]] == [40, 60]
    assert "2026-01-20 10:00" in b2025["reason"] and b2025["actor"] == "system"
    assert b2026["system_id"] == new and [r["weight"] for r in b2026["indicators"]] == [50, 50]
    with freeze_time("2026-07-02 02:00:00"):
        assert backfill_bindings(db) == 0
        upgrade(db, tmp_path)
    with db.read() as conn:
        binds = conn.execute(select(_h.c.id).where(_h.c.trigger == "systems.bind")).all()
    assert len(binds) == 2


def test_a_cycle_not_computed_yet_gets_the_system_in_force_now(db, actors, tmp_path):
    with freeze_time("2026-03-01 02:00:00"):
        open_cycle(db, 2026, OFFICE, child_keys=())
        load_definitions(db, BEFORE)
        legacy_in_force(db, rows(40, 60))
        upgrade(db, tmp_path)  # the current definition: systems with a year
        assert set(bound(db, 2026)) == {"县直单位"}  # the legacy system, in force now
        iid = start(db, "indicator_system", OFFICE, data={
            "year": 2026, "category": "乡镇场", "indicators": rows(100)}).instance_id
        for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                             ("approve", COMMITTEE), ("put_in_force", OFFICE)):
            fire(db, iid, trigger, who)
        assert backfill_bindings(db) == 0
    assert set(bound(db, 2026)) == {"乡镇场", "县直单位"}  # 乡镇场 bound by its effect
    assert bound(db, 2026)["乡镇场"]["system_id"] == iid
