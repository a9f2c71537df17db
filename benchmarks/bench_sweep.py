"""Cost of a timer sweep: 1,000 due timers among 1,000 and among 1,000,000 pending.

Not a test: run it by hand (see docs/time.md)::

    python benchmarks/bench_sweep.py                       # both databases
    python benchmarks/bench_sweep.py --db sqlite --pending 1000 1000000

For each database and each pending count, a fresh database (SQLite file in a temporary
folder; PostgreSQL ``perfeval_bench_sweep_<pid>_<n>`` created from
``PERFEVAL_BENCH_PG_URL`` and dropped afterwards) gets, through the engine, 1,000
performance plans in ``draft`` whose 1,000 due timers (half reminders, half due
notices) fall due one hour before the sweep; then the other pending timers, due within
the next year, on instance rows of their own (four timers per instance, as a real
county would have them), written in bulk by the raw driver (``COPY`` on PostgreSQL,
``executemany`` on SQLite) — never through ``fire()``. ``ANALYZE`` runs, then
``engine.timers.sweep`` is timed ``--rounds`` times (the swept timers are made due
again and their events deleted between rounds) and the best time counts, so that
neither warm-up nor a noisy neighbour decides. Each sweep must claim and notify
exactly the 1,000 due timers; ``ratio_1m_to_1k`` is the best time among the largest
pending count over the best among the smallest: the cost follows the due timers, not
the pending ones.

Output: a line per run, then, last, one JSON line per database:
``{"benchmark": "sweep", "db": …, "due": 1000, "pending": …, "seconds": …,
"ratio_1m_to_1k": …}`` (``pending`` and ``seconds`` of the largest run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, delete, func, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine import Actor, Database, init, start  # noqa: E402
from engine.calendar import calendar_for  # noqa: E402
from engine.clock import pinned  # noqa: E402
from engine.models import Instance, OutboxMessage, Timer, Unit  # noqa: E402
from engine.timers import sweep  # noqa: E402

DUE = 1000
PG_URL = os.environ.get("PERFEVAL_BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 3, 2, 2, 0)  # Monday 10:00 in Shanghai
COLUMNS = ("instance_id", "instance_version", "state", "kind", "slot", "due_at", "notify",
           "status", "attempts", "created_at", "entered_at", "due_date", "adjustments",
           "calendar_version")


def _fresh(kind: str, tag: str) -> tuple[Database, callable]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="perfeval-bench-sweep-")
        return Database(f"sqlite:///{folder}/bench.db"), lambda: None
    name = f"perfeval_bench_sweep_{os.getpid()}_{tag}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))

    def drop():
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return db, drop


def _due_instances(db: Database) -> None:
    """1,000 real plans in draft; their timers made due an hour before NOW."""
    with db.write() as conn:
        conn.execute(Unit.__table__.insert(), [
            {"code": f"U{i:03d}", "name": f"单位{i}", "category": "县直单位",
             "created_at": NOW} for i in range(20)])
    system = Actor.system()
    with pinned(NOW - timedelta(days=30)):
        ids = [start(db, "performance_plan", system, unit_code=f"U{i % 20:03d}").instance_id
               for i in range(DUE)]
    t = Timer.__table__
    with db.write() as conn:
        conn.execute(update(t).values(status="cancelled"))
        version = calendar_for(db).version
        conn.execute(t.insert(), [
            {"instance_id": iid, "instance_version": 1, "state": "draft",
             "kind": "remind" if n % 2 else "due", "slot": "remind:0" if n % 2 else "due",
             "due_at": NOW - timedelta(hours=1), "notify": [], "status": "pending",
             "attempts": 0, "created_at": NOW, "entered_at": NOW - timedelta(days=30),
             "due_date": NOW.date(), "adjustments": [], "calendar_version": version}
            for n, iid in enumerate(ids)])


def _bulk_pending(db: Database, pending: int) -> None:
    """``pending`` future timers, four per bulk-inserted instance, by the raw driver."""
    instances = (pending + 3) // 4
    with db.read() as conn:
        dv = conn.execute(select(Instance.definition_version_id)).scalar()
        first = (conn.execute(select(func.max(Instance.id))).scalar() or 0) + 1
    version = calendar_for(db).version
    def inst_rows():
        return ((first + i, dv, "performance_plan", "draft", 1, "{}", "x" * 64, NOW, NOW)
                for i in range(instances))

    def timer_rows():
        return ((first + n // 4, 1, "draft", "remind", "remind:0",
                 NOW + timedelta(minutes=1 + n % 525_000), "[]", "pending", 0, NOW, NOW,
                 NOW.date(), "[]", version) for n in range(pending))

    inst_cols = ("id", "definition_version_id", "definition_key", "state", "version", "data",
                 "last_hash", "created_at", "updated_at")
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.dialect == "postgresql":
            for table, cols, rows in (("instances", inst_cols, inst_rows()),
                                      ("timers", COLUMNS, timer_rows())):
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cur.execute("SELECT setval(pg_get_serial_sequence('instances', 'id'), "
                        "(SELECT max(id) FROM instances))")
            raw.commit()
            cur.execute("ANALYZE")
        else:
            cur.execute("BEGIN")
            cur.executemany(f"INSERT INTO instances ({', '.join(inst_cols)}) VALUES "
                            f"({', '.join('?' * len(inst_cols))})", inst_rows())
            cur.executemany(f"INSERT INTO timers ({', '.join(COLUMNS)}) VALUES "
                            f"({', '.join('?' * len(COLUMNS))})", timer_rows())
            cur.execute("COMMIT")
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _reset(db: Database, due_ids: list[int]) -> None:
    """Make the swept timers due again and forget their events (the next round)."""
    t, o = Timer.__table__, OutboxMessage.__table__
    with db.write() as conn:
        conn.execute(delete(o).where(o.c.dedupe_key.like("timer:%")))
        conn.execute(update(t).where(t.c.id.in_(due_ids)).values(
            status="pending", outcome=None, fired_at=None, claimed_by=None, claimed_at=None))


def run_one(kind: str, pending: int, rounds: int) -> float:
    """Best of ``rounds`` sweeps of the 1,000 due timers among ``pending`` others."""
    db, drop = _fresh(kind, str(pending))
    try:
        init(db)
        _due_instances(db)
        _bulk_pending(db, pending)
        with db.read() as conn:
            due_ids = conn.execute(select(Timer.id).where(
                Timer.status == "pending", Timer.due_at <= NOW)).scalars().all()
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            report = sweep(db, NOW)
            times.append(time.perf_counter() - started)
            summary = report.summary()
            assert summary["claimed"] == DUE and summary["notified"] == DUE, summary
            _reset(db, due_ids)
        with db.read() as conn:
            left = conn.execute(select(func.count()).select_from(Timer.__table__).where(
                Timer.status == "pending")).scalar()
        assert left >= pending, left
        print(f"{kind:<10} pending {pending:>9,}: sweep of {DUE} due timers "
              f"{' '.join(f'{t:.3f}' for t in times)} s (best {min(times):.3f})", flush=True)
        return min(times)
    finally:
        db.dispose()
        drop()


def main() -> None:
    """Run the benchmark; print a JSON line per database last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pending", type=int, nargs=2, default=[1_000, 1_000_000],
                        metavar=("SMALL", "LARGE"))
    parser.add_argument("--rounds", type=int, default=3, help="sweeps per size; best counts")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    for kind in kinds:
        small, large = (run_one(kind, n, args.rounds) for n in args.pending)
        results.append({"benchmark": "sweep", "db": kind, "due": DUE,
                        "pending": args.pending[1], "seconds": round(large, 3),
                        "ratio_1m_to_1k": round(large / small, 2)})
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
