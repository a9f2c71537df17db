"""The office dashboard and My tasks at county and ten-county scale, after a full year.

Not a test: run it by hand (see docs/performance.md)::

    python benchmarks/bench_web.py                       # 160 then 1,600 units, SQLite
    python benchmarks/bench_web.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres

For each size a fresh database (a temporary SQLite file, or a scratch PostgreSQL
database created on the server ``--db`` names and dropped at the end) gets the schema,
the bundled definitions, the units (bench_cycle's county of 160, repeated) and a whole
2026 cycle replayed through the engine's public functions with the clock pinned at
each step: the cycle opened in January; 90 % of the plans submitted and approved in
March, the rest left in draft and escalated by the sweep; the half-year window opened by
its own timer in July, 85 % submitted and accepted, the rest marked overdue by the
sweep; the annual window opened by its timer in December, 80 % submitted, half of those
accepted and the rest left under review; every unit evaluation in verification. Office
steps on many children go through ``fire_children`` (one transaction each).

On PostgreSQL the database is then ANALYZEd, as autovacuum does within a minute of
such a load: without statistics the planner estimates one row everywhere and nests
loops (My tasks took 0.5 s at 1,600 units before the ANALYZE, 12 ms after).

Then, with the clock pinned at 18 December 2026 10:00 (Shanghai), the Flask test client
signed in as the office and as one unit's head GETs the office dashboard and My tasks:
two warm-up requests, then the median server time of ``--repeat`` requests, and the
number of SQL statements of one request (a ``before_cursor_execute`` listener).
Printed per page: time and queries at both sizes and the time ratio large/small; the
queries must be equal at both sizes and the dashboard's ratio at most 4. Last line:
``{"benchmark": "web", "pages": {"dashboard": {"ms_160", "ms_1600", "ratio",
"queries_160", "queries_1600"}, "tasks": {…}, "tasks_unit": {…}}, "ok": …}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import event, select, text  # noqa: E402
from scratch import scratch_database  # noqa: E402

from bench_cycle import COMMITTEE, OFFICE, SYSTEM, children, head, seed  # noqa: E402
from engine import Database, add_user, fire, get_instance, init  # noqa: E402
from engine.clock import local_to_utc, pinned  # noqa: E402
from engine.cycles import fire_children, force, open_cycle  # noqa: E402
from engine.models import Unit  # noqa: E402
from engine.timers import sweep  # noqa: E402
from web.app import create_app  # noqa: E402

YEAR = 2026
PASSWORD = "bench-password-1"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NOW = (date(YEAR, 12, 18), 10)
PAGES = (("dashboard", "bench_office", "/office/"), ("tasks", "bench_office", "/"),
         ("tasks_unit", "bench_head", "/"))


def at(month: int, day: int, hour: int = 10):
    """Local ``YEAR-month-day hour:00`` as naive UTC."""
    return local_to_utc(date(YEAR, month, day), hour)


def _parent_in(db: Database, parent: int, state: str) -> bool:
    return get_instance(db, parent).state == state


def _reports(db: Database, parent: int, key: str, units: list[tuple[int, int]], days,
             month: int, data: dict, share: float, accept: float = 1.0) -> None:
    """``share`` of the units submit their ``key`` over ``days`` of ``month``; the
    office reviews them each evening and accepts/approves ``accept`` of the reviewed."""
    submitting = units[:int(len(units) * share)]
    per_day = -(-len(submitting) // len(days))
    final = "approve" if key == "performance_plan" else "accept"
    for n, day in enumerate(days):
        batch = submitting[n * per_day:(n + 1) * per_day]
        with pinned(at(month, day)):
            for iid, unit in batch:
                fire(db, iid, "submit", head(unit), data=data)
        if not batch:
            continue
        with pinned(at(month, day, 17)):
            fire_children(db, YEAR, key, "start_review", OFFICE, states=("submitted",))
            if accept >= 1.0 or n < len(days) * accept:
                fire_children(db, YEAR, key, final, OFFICE, states=("under_review",))


def build(db: Database, units: int) -> None:
    """Seed ``units`` units and replay the 2026 cycle (see the module docstring)."""
    seed(db, units)
    with db.read() as conn:
        # the last unit is among the late ones: it has tasks in every process
        last = conn.execute(select(Unit.code).order_by(Unit.code.desc()).limit(1)).scalar()
    add_user(db, "bench_office", PASSWORD, ["office"])
    add_user(db, "bench_head", PASSWORD, ["unit_head"], unit_code=last)
    with pinned(at(1, 5)):
        parent = open_cycle(db, YEAR, OFFICE).instance_id
        fire(db, parent, "issue_work_plan", COMMITTEE)
    plans = children(db, parent, "performance_plan")
    _reports(db, parent, "performance_plan", plans, range(2, 14), 3,
             {"goals": "目标", "measures": "措施"}, 0.9)
    sweep(db, at(4, 2))  # late plans: reminders, overdue, escalation to the office
    with pinned(at(4, 2, 11)):
        if _parent_in(db, parent, "planning"):
            force(db, parent, "force_start_monitoring", OFFICE, "逾期单位另行督办")
    sweep(db, at(7, 15, 1))  # the half-year window opens by itself
    with pinned(at(7, 15, 2)):
        if _still(db, parent, "half_year_self_assessment"):
            fire_children(db, YEAR, "half_year_self_assessment", "open_window", SYSTEM,
                          states=("not_open",))
    _reports(db, parent, "half_year_self_assessment",
             children(db, parent, "half_year_self_assessment"), range(16, 31), 7,
             {"report": "半年自评报告"}, 0.85)
    sweep(db, at(8, 3))  # the rest marked overdue
    with pinned(at(9, 1)):
        if _parent_in(db, parent, "midyear_review"):
            force(db, parent, "force_close_midyear", OFFICE, "逾期单位另行处理")
    with pinned(at(11, 20)):
        fire(db, parent, "prepare_year_end", OFFICE)
    sweep(db, at(12, 1, 1))  # the annual window opens by itself
    with pinned(at(12, 1, 2)):
        if _still(db, parent, "annual_self_assessment"):
            fire_children(db, YEAR, "annual_self_assessment", "open_window", SYSTEM,
                          states=("not_open",))
    _reports(db, parent, "annual_self_assessment",
             children(db, parent, "annual_self_assessment"), range(2, 10), 12,
             {"report": "年度自评报告"}, 0.8, accept=0.5)
    sweep(db, at(12, 11))
    with pinned(at(12, 14)):
        fire_children(db, YEAR, "unit_evaluation", "start_verification", SYSTEM)
    sweep(db, local_to_utc(*NOW))


def _still(db: Database, parent: int, key: str) -> bool:
    """Some ``key`` child of the cycle is still ``not_open``."""
    from engine.models import Instance

    i = Instance.__table__
    with db.read() as conn:
        return conn.execute(select(i.c.id).where(
            i.c.parent_id == parent, i.c.definition_key == key, i.c.state == "not_open")
            .limit(1)).first() is not None


def _client(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def measure_pages(db: Database, repeat: int) -> dict[str, dict[str, float]]:
    """Median milliseconds and SQL statements per page (see the module docstring)."""
    app = create_app({"TESTING": True, "DB": db, "SECRET_KEY": "bench",
                      "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
    clients = {u: _client(app, u) for u in {p[1] for p in PAGES}}
    out = {}
    with pinned(local_to_utc(*NOW)):
        for name, user, path in PAGES:
            client = clients[user]
            for _ in range(2):
                assert client.get(path).status_code == 200
            statements: list[str] = []

            def record(conn, cursor, statement, *args):  # noqa: ARG001
                statements.append(statement)

            event.listen(db.engine, "before_cursor_execute", record)
            try:
                assert client.get(path).status_code == 200
            finally:
                event.remove(db.engine, "before_cursor_execute", record)
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200
            out[name] = {"ms": statistics.median(times), "queries": len(statements),
                         "bytes": len(response.data)}
    return out


def run(units: int, url: str | None, repeat: int) -> tuple[dict, float]:
    """Build a fresh database of ``units`` units, measure its pages; (pages, build s)."""
    with scratch_database(url, f"perfeval_bench_web_{units}") as db:
        init(db)
        began = time.perf_counter()
        build(db, units)
        built = time.perf_counter() - began
        if db.dialect == "postgresql":  # what autovacuum does within a minute of the load
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        return measure_pages(db, repeat), built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=None,
                        help="a PostgreSQL server URL (scratch databases); default SQLite")
    parser.add_argument("--small", type=int, default=160)
    parser.add_argument("--large", type=int, default=1600)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    logging.getLogger("engine").setLevel(logging.ERROR)  # 2027 calendar-data warnings
    sizes = {}
    for units in (args.small, args.large):
        pages, built = run(units, args.db, args.repeat)
        sizes[units] = pages
        print(f"{units} units: built in {built:.1f} s", flush=True)
    result, ok = {}, True
    for name, _, path in PAGES:
        small, large = sizes[args.small][name], sizes[args.large][name]
        ratio = large["ms"] / small["ms"]
        row = {f"ms_{args.small}": round(small["ms"], 2), f"ms_{args.large}": round(large["ms"], 2),
               "ratio": round(ratio, 2), f"queries_{args.small}": small["queries"],
               f"queries_{args.large}": large["queries"]}
        result[name] = row
        ok = ok and small["queries"] == large["queries"]
        if name == "dashboard":
            ok = ok and ratio <= 4
        print(f"{name:11s} {path:9s} {small['ms']:8.1f} ms / {small['queries']} queries "
              f"({args.small}) · {large['ms']:8.1f} ms / {large['queries']} queries "
              f"({args.large}) · ratio {ratio:.2f} · {large['bytes'] // 1024} KiB")
    print(json.dumps({"benchmark": "web", "db": "postgresql" if args.db else "sqlite",
                      "pages": result, "ok": ok}))


if __name__ == "__main__":
    main()
