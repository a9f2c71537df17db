"""A whole evaluation cycle at county and ten-county scale: does the per-unit cost stay flat?

Not a test: run it by hand (see docs/process.md)::

    python benchmarks/bench_cycle.py                  # 160 then 1,600 units on SQLite
    python benchmarks/bench_cycle.py --db postgresql  # scratch databases from PERFEVAL_BENCH_PG_URL

For each size a fresh database gets the schema and bundled definitions, ``units``
units in the three county categories (ten counties = 1,600: the 158-unit sample county
plus two, per county), and one indicator system in force per category. Timed: opening
the 2026 cycle (one transaction creating the cycle and four instances per unit), every
unit's annual plan submitted, reviewed and approved, the half-year and annual
self-assessments opened, submitted, reviewed and accepted, the cycle advanced through
each ``when_children`` phase, every unit evaluation verified with its five scores
entered, results computed (composite, grades, ranks) and published, and every unit
notified. Printed last: one JSON line
``{"benchmark": "cycle", "units": 1600, "seconds": …, "per_unit_ms": …,
"ratio_1600_to_160": …}`` (ratio = per-unit cost at 1,600 over that at 160).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402
from scratch import scratch_database  # noqa: E402

from engine import (Actor, Database, fire, init, read_history, start,  # noqa: E402
                    verify_history)
from engine.cycles import open_cycle  # noqa: E402
from engine.models import Instance, Unit  # noqa: E402
from engine.org import read_table  # noqa: E402
from engine.people import samples_dir  # noqa: E402
from engine.results import compute_results, enter_scores  # noqa: E402

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
SYSTEM = Actor.system()
ROWS = [{"code": "K1", "name": "重点工作", "weight": 50, "method": "direct", "verifier": "督查室"},
        {"code": "K2", "name": "财源建设", "weight": 30, "method": "attainment", "target": 100,
         "verifier": "财政局"},
        {"code": "K3", "name": "自身建设", "weight": 20, "method": "direct", "verifier": "工委"}]


def seed(db: Database, units: int) -> None:
    """``units`` units in counties of 160 (the sample county's 158 plus two)."""
    county = [(r[0], r[1], r[2]) for r in read_table(samples_dir() / "county_units.csv")[1:]]
    county += [("X001", "县综合执法局", "县直单位"), ("X002", "县数据资源局", "县直单位")]
    rows = [{"code": f"C{n // 160:02d}{county[n % 160][0]}",
             "name": f"第{n // 160 + 1}县{county[n % 160][1]}", "category": county[n % 160][2]}
            for n in range(units)]
    with db.write() as conn:
        conn.execute(insert(Unit.__table__), rows)
    for category in ("乡镇场", "县直单位", "驻县单位"):
        iid = start(db, "indicator_system", OFFICE,
                    data={"year": 2026, "category": category, "indicators": ROWS}).instance_id
        for trigger, actor in (("submit", OFFICE), ("start_review", COMMITTEE),
                               ("approve", COMMITTEE), ("put_in_force", OFFICE)):
            fire(db, iid, trigger, actor)


def children(db: Database, parent: int, key: str) -> list[tuple[int, int]]:
    i = Instance.__table__
    with db.read() as conn:
        return conn.execute(select(i.c.id, i.c.subject_unit_id).where(
            i.c.parent_id == parent, i.c.definition_key == key).order_by(i.c.id)).all()


def head(unit_id: int) -> Actor:
    return Actor(None, f"head{unit_id}", unit_id, frozenset({"unit_head"}))


def run_cycle(db: Database) -> None:
    """The timed part: one cycle, every unit to published results."""
    cycle = open_cycle(db, 2026, OFFICE)
    parent = cycle.instance_id
    fire(db, parent, "issue_work_plan", COMMITTEE)
    for iid, unit in children(db, parent, "performance_plan"):
        fire(db, iid, "submit", head(unit), data={"goals": "目标", "measures": "措施"})
        fire(db, iid, "start_review", OFFICE)
        fire(db, iid, "approve", OFFICE)
    expect(db, parent, "start_monitoring")
    for key, opening, closing in (("half_year_self_assessment", "open_midyear", "close_midyear"),
                                  ("annual_self_assessment", "open_self_assessment",
                                   "close_self_assessment")):
        if key == "annual_self_assessment":
            fire(db, parent, "prepare_year_end", OFFICE)
        fire(db, parent, opening, OFFICE)  # then_children opens every unit's window
        for iid, unit in children(db, parent, key):
            fire(db, iid, "submit", head(unit), data={"report": "自评报告"})
            fire(db, iid, "start_review", OFFICE)
            fire(db, iid, "accept", OFFICE)
        expect(db, parent, closing)
    evaluations = children(db, parent, "unit_evaluation")
    codes = dict(db_units(db))
    rows = []
    for k, (iid, unit) in enumerate(evaluations):
        fire(db, iid, "start_verification", SYSTEM)
        rows += [(codes[unit], "K1", 60 + k % 40), (codes[unit], "K2", 50 + k % 60),
                 (codes[unit], "K3", 70 + k % 30), (codes[unit], "public", Decimal(80) + k % 7),
                 (codes[unit], "leadership", 75 + k % 11)]
    assert enter_scores(db, 2026, OFFICE, rows) == []
    for iid, _ in evaluations:
        fire(db, iid, "confirm_scores", OFFICE)
    expect(db, parent, "start_scoring")
    compute_results(db, 2026, OFFICE)
    fire(db, parent, "submit_results", OFFICE)
    fire(db, parent, "approve_results", COMMITTEE)  # publishes the results (its effect)
    for iid, _ in evaluations:
        fire(db, iid, "record_result", SYSTEM)
        fire(db, iid, "notify_result", SYSTEM)


def expect(db: Database, parent: int, trigger: str) -> None:
    """The last child's move has advanced the parent (fired by the system)."""
    last = read_history(db, parent)[-1]
    assert (last["trigger"], last["actor"]) == (trigger, "system"), last["trigger"]


def db_units(db: Database):
    with db.read() as conn:
        return conn.execute(select(Unit.id, Unit.code)).all()


def measure(units: int, backend: str, pg_url: str) -> float:
    """Seconds for one cycle of ``units`` units on a fresh database."""
    with scratch_database(None if backend == "sqlite" else pg_url,
                          "perfeval_bench_cycle") as db:
        init(db)
        seed(db, units)
        began = time.perf_counter()
        run_cycle(db)
        seconds = time.perf_counter() - began
        report = verify_history(db)
        assert report.ok, report.problems[:3]
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--small", type=int, default=160)
    parser.add_argument("--large", type=int, default=1600)
    parser.add_argument("--pg-url", default=os.environ.get(
        "PERFEVAL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    small = measure(args.small, args.db, args.pg_url)
    large = measure(args.large, args.db, args.pg_url)
    per_small, per_large = small / args.small * 1000, large / args.large * 1000
    print(f"{args.db}: {args.small} units {small:.2f} s ({per_small:.2f} ms/unit); "
          f"{args.large} units {large:.2f} s ({per_large:.2f} ms/unit)")
    print(json.dumps({"benchmark": "cycle", "db": args.db, "units": args.large,
                      "seconds": round(large, 3), "per_unit_ms": round(per_large, 3),
                      "units_small": args.small, "seconds_small": round(small, 3),
                      "per_unit_ms_small": round(per_small, 3),
                      "ratio_1600_to_160": round(per_large / per_small, 3)}))


if __name__ == "__main__":
    main()
