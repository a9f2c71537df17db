"""An upgrade records the pre-existing scores and results in the chain — once.

A database from before evaluation facts has score, veto and result rows that no fact
accounts for; ``backfill_facts`` records them in one ``migration.backfill`` fact per
cycle so ``audit verify`` passes after the upgrade, and never again: a row added
outside the chain afterwards is reported, not blessed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from engine import read_history, verify_history
from engine.cycles import open_cycle
from engine.facts_backfill import backfill_facts
from engine.models import Unit
from engine.scoring_models import ResultRow, ScoreEntry, Veto

AT = datetime(2026, 2, 2, 2, 0)


def _old_rows(db, cycle_id):
    """What a pre-upgrade database holds: rows written beside the chain."""
    with db.write() as conn:
        units = dict(conn.execute(select(Unit.code, Unit.id)).all())
        conn.execute(insert(ScoreEntry.__table__), [
            {"cycle_id": cycle_id, "unit_id": units[c], "item": "K1", "value": v,
             "entered_by": "office", "entered_at": AT} for c, v in (("101", "88"), ("102", "91"))])
        conn.execute(insert(Veto.__table__).values(
            cycle_id=cycle_id, unit_id=units["201"], item="安全生产", reason="重大事故",
            entered_by="office", entered_at=AT))
        conn.execute(insert(ResultRow.__table__).values(
            cycle_id=cycle_id, unit_id=units["101"], category="县直单位", indicator="88.00",
            public="80.00", leadership="85.00", composite="87.30", grade="良好", rank=1,
            vetoed=False, revision=1, computed_at=AT, published_at=AT))
    return units


def test_old_rows_are_recorded_once_and_later_edits_stay_reported(db, actors):
    opened = open_cycle(db, 2026, actors["office"])
    units = _old_rows(db, opened.cycle_id)
    assert not verify_history(db).ok  # before the upgrade step: rows outside the chain

    assert backfill_facts(db) == 1
    assert backfill_facts(db) == 0
    entry = read_history(db, opened.instance_id)[-1]
    assert (entry["trigger"], entry["actor"]) == ("migration.backfill", "system")
    assert {s["after"] for s in entry["data_patch"]["scores"]} == {"88", "91"}
    assert verify_history(db).ok

    with db.write() as conn:  # after the upgrade, a row beside the chain is tampering
        conn.execute(insert(ScoreEntry.__table__).values(
            cycle_id=opened.cycle_id, unit_id=units["201"], item="K1", value="100",
            entered_by="office", entered_at=AT))
    assert backfill_facts(db) == 0
    report = verify_history(db)
    assert not report.ok
    assert any("201" in p.reason or str(units["201"]) in p.reason for p in report.problems)
