"""The demo's indicator systems: each year has its own, bound to its cycle; this year's
are copies of last year's (their creation entries name the source), one is adjusted in
June and re-bound to this year only; last year was published by the committee's
approval and is scored with last year's systems."""

from __future__ import annotations

import io

from freezegun import freeze_time
from rich.console import Console
from sqlalchemy import select

from engine import Database, read_history, verify_history
from engine.cycles import cycle_for_year
from engine.facts import RESULTS_PUBLISH
from engine.indicator_systems import bound_systems, list_systems
from engine.models import HistoryEntry
from web.commands.demo import setup_web_demo

_h = HistoryEntry.__table__


def test_each_year_its_systems_this_years_copied_and_one_adjusted(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        with freeze_time("2026-07-20 08:00:00"):
            setup_web_demo(db, Console(file=io.StringIO()), units=12,
                           attachments=tmp_path / "files")
        systems = list_systems(db)
        with db.read() as conn:
            bound = {y: bound_systems(conn, cycle_for_year(db, y)["instance_id"])
                     for y in (2025, 2026)}
            published = conn.execute(select(_h.c.actor, _h.c.role).where(
                _h.c.instance_id == cycle_for_year(db, 2025)["instance_id"],
                _h.c.trigger == RESULTS_PUBLISH)).all()
        report = verify_history(db)
        first_entries = {s["id"]: read_history(db, s["id"])[0]["comment"] or ""
                         for s in systems if s["year"] == 2026}
    finally:
        db.dispose()
    by_year = {y: [s for s in systems if s["year"] == y] for y in (2025, 2026)}
    assert {s["state"] for s in by_year[2025]} == {"archived"}
    assert {s["state"] for s in by_year[2026]} == {"in_force"}
    assert len(by_year[2025]) == len(by_year[2026]) == 3
    assert all("复制自 2025 年度" in c for c in first_entries.values())
    assert {s["cycle_year"] for s in by_year[2026]} == {2026}
    assert sorted(s["edition"] for s in by_year[2026]) == [1, 1, 2]
    for year in (2025, 2026):
        assert {b["system_id"] for b in bound[year].values()} == {s["id"] for s in by_year[year]}
    weights = {y: {b["category"]: [r["weight"] for r in b["indicators"]][:2]
                   for b in bound[y].values()} for y in (2025, 2026)}
    assert all(w == [40, 35] for w in weights[2025].values())
    assert sorted(map(tuple, weights[2026].values())) == [(40, 35), (40, 35), (45, 30)]
    assert [tuple(p) for p in published] == [("committee", "committee")]
    assert report.ok
