"""Throughput of ``engine.fire()`` against a raw-driver floor, on SQLite and PostgreSQL.

Not a test: run it by hand (see docs/performance.md)::

    python benchmarks/bench_fire.py                      # 20,000 fires, both databases
    python benchmarks/bench_fire.py --db sqlite --fires 5000
    python benchmarks/bench_fire.py --rss-check          # 10k then 100k fires, peak RSS

Workload: ``--instances`` performance plans (bundled ``performance_plan``) spread over 20
units, each started with its goals and measures filled in, then fired round-robin
through the revision loop ``submit → start_review → request_revision → submit → …``
(draft/revise → submitted → under_review → revise → …). ``submit`` is done by the
unit's head (a unit-confined role, ``requires: [goals, measures]``), the other two by
the office (``request_revision`` needs a comment). ``under_review`` has a deadline, so
entering it writes timers and leaving it cancels them; every fire writes its hash-chained
history row and an outbox row.

*ours* calls ``engine.fire()`` with engine ``Actor`` objects (so no per-fire user
lookup is measured). The *floor* is the raw driver (``sqlite3`` / ``psycopg``, no
SQLAlchemy, no engine) writing the same rows into the same schema (created by
``engine.init``) with the same transaction shape, one transaction per fire:

    BEGIN (IMMEDIATE on SQLite)
    SELECT the instance row
    UPDATE instances … WHERE id = ? AND version = ?          (versioned)
    UPDATE timers SET status='cancelled' … (only when leaving a state with a deadline)
    INSERT history (SHA-256 over the same canonical JSON, chained on last_hash)
    INSERT timers (executemany, only when entering a state with a deadline)
    INSERT outbox
    COMMIT

The floor does no permission, data or guard checks and takes the timer rows (due
times, slots, due date, calendar version) from the engine's own planner once, before
timing: it is the cost of the database work and the hashing alone. Both paths use the
same connection settings (SQLite: WAL, synchronous=NORMAL, foreign_keys=ON;
PostgreSQL: server defaults, synchronous_commit on). Each run uses fresh databases (a
temporary SQLite file per path; scratch PostgreSQL databases ``perfeval_bench_<pid>_*``
created from ``PERFEVAL_BENCH_PG_URL`` and dropped at the end). Timing alternates
between the two paths in rounds so that drift on the machine hits both alike. After
timing, ``engine.verify_history`` checks both databases' hash chains, and the two
databases are compared row by row (ids, moments and hashes aside): if the engine starts
writing something the floor does not, the run says so and exits non-zero.

Output: a table per database, then, last, one JSON line per database.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text  # noqa: E402  (setup only)
from sqlalchemy.engine import make_url  # noqa: E402

import engine  # noqa: E402
from engine import deadlines  # noqa: E402  (setup only: the floor's timer rows)
from engine.calendar import WorkCalendar  # noqa: E402
from engine.models import (DefinitionVersion, HistoryEntry, Instance,  # noqa: E402
                           OutboxMessage, Timer, Unit)

TIMER_COLUMNS = frozenset(c.name for c in Timer.__table__.columns)
# Timer statuses the engine cancels when an instance leaves a state with a deadline.
CANCELLABLE = "('pending', 'paused')" if "paused_at" in TIMER_COLUMNS else "('pending')"

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
KEY = "performance_plan"
CYCLE = ("submit", "start_review", "request_revision")
UNITS = 20
PASSWORD = "bench-password-1"
COMMENT = "目标需量化,请补充季度分解"
DATA = {"goals": "全年固定资产投资增长8%", "measures": "项目清单化管理,按季度调度"}
HASHED_FIELDS = ("instance_id", "seq", "from_state", "to_state", "trigger", "actor_id",
                 "actor", "role", "at", "comment", "data_hash", "definition_hash",
                 "prev_hash")


# --------------------------------------------------------------------------- setup


@dataclass
class Workload:
    """The seeded instances and who fires what on them (identical for both paths)."""

    instance_ids: list[int]
    unit_of: dict[int, int]                       # instance id -> unit id
    heads: dict[int, engine.Actor]                # unit id -> unit head actor
    office: engine.Actor
    version_id: int = 0
    definition_hash: str = ""
    fired: dict[int, int] = field(default_factory=dict)   # instance id -> fires so far
    cursor: int = 0

    def plan(self, n: int) -> list[tuple]:
        """The next ``n`` fires, round-robin over the instances:
        (instance id, trigger, actor, comment, version before the fire)."""
        ids, m = self.instance_ids, len(self.instance_ids)
        out = []
        for k in range(self.cursor, self.cursor + n):
            iid = ids[k % m]
            j = self.fired.get(iid, 0)
            self.fired[iid] = j + 1
            trigger = CYCLE[j % 3]
            actor = self.heads[self.unit_of[iid]] if trigger == "submit" else self.office
            comment = COMMENT if trigger == "request_revision" else None
            out.append((iid, trigger, actor, comment, 1 + j))  # start wrote version 1
        self.cursor += n
        return out


def seed(db: engine.Database, instances: int) -> Workload:
    """Schema, definitions, 20 units with a head each, an office user, started plans."""
    engine.init(db)
    with db.write_session() as session:
        session.add_all(Unit(code=f"U{u:03d}", name=f"单位{u}", category="县直单位")
                        for u in range(UNITS))
    for u in range(UNITS):
        engine.add_user(db, f"head{u:03d}", PASSWORD, ["unit_head"], unit_code=f"U{u:03d}")
    engine.add_user(db, "office", PASSWORD, ["office"])
    heads_by_code = {f"U{u:03d}": engine.actor_for(db, f"head{u:03d}") for u in range(UNITS)}
    office = engine.actor_for(db, "office")
    ids, unit_of = [], {}
    for k in range(instances):
        code = f"U{k % UNITS:03d}"
        result = engine.start(db, KEY, office, unit_code=code, data=DATA)
        ids.append(result.instance_id)
        unit_of[result.instance_id] = heads_by_code[code].unit_id
    with db.read() as conn:
        row = conn.execute(select(DefinitionVersion.id, DefinitionVersion.content_hash)
                           .where(DefinitionVersion.key == KEY)).first()
    heads = {a.unit_id: a for a in heads_by_code.values()}
    return Workload(ids, unit_of, heads, office, row.id, row.content_hash)


# --------------------------------------------------------------------------- the two paths


def ours(db: engine.Database) -> Callable[[list], None]:
    fire = engine.fire

    def run(batch):
        for iid, trigger, actor, comment, version in batch:
            fire(db, iid, trigger, actor, comment=comment, expected_version=version)
    return run


class FloorRules:
    """What the floor needs to know about the definition, computed before timing."""

    def __init__(self, db: engine.Database, definition, wl: Workload) -> None:
        d = definition
        self.dest = {(s, t.trigger): t.dest for t in d.transitions for s in t.sources}
        self.next_roles = {s: list(dict.fromkeys(r for t in d.transitions_from(s)
                                                 for r in t.roles)) for s in d.states}
        self.deadline_states = set(d.deadlines)
        self.timers = {s: _planned_timer_rows(db, spec) for s, spec in d.deadlines.items()}
        self.role = {"submit": "unit_head", "start_review": "office",
                     "request_revision": "office"}
        self.data_hash = hashlib.sha256(b"{}").hexdigest()
        self.definition_hash = wl.definition_hash
        self.version_id = wl.version_id


# Timer columns the floor fills per fire; every other column of the engine's timer rows
# (kind, slot, due time, notify, due date, calendar version, …) is computed once here.
PER_FIRE_TIMER_COLUMNS = ("instance_id", "instance_version", "created_at", "entered_at")


def _planned_timer_rows(db: engine.Database, spec) -> list[dict]:
    """The engine's timer rows for entering ``spec.state`` now (setup only, so the floor
    pays no date arithmetic), without the per-fire columns."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    if hasattr(deadlines, "timer_rows"):
        from engine.calendar import calendar_for
        rows = deadlines.timer_rows(spec, instance_id=0, version=0, entered_at=now, now=now,
                                    calendar=calendar_for(db))
    else:  # the engine before deadline policies (for measuring older commits)
        rows = [{"state": spec.state, "kind": p.kind, "due_at": p.due_at,
                 "notify": list(p.notify), "status": "pending", "attempts": 0}
                for p in deadlines.plan_timers(spec, now, WorkCalendar())]
    return [{k: v for k, v in r.items() if k not in PER_FIRE_TIMER_COLUMNS} for r in rows]


def _timer_insert(rows: list[dict], placeholder: str, adapt) -> tuple[str, list]:
    """The floor's INSERT for a state's timer rows (the engine's columns) and, per row,
    the constant parameters adapted for the driver; the per-fire values (instance,
    version, created_at[, entered_at]) follow them."""
    columns = list(rows[0]) + [c for c in PER_FIRE_TIMER_COLUMNS if c in TIMER_COLUMNS]
    sql = (f"INSERT INTO timers ({', '.join(columns)}) "
           f"VALUES ({', '.join([placeholder] * len(columns))})")
    return sql, [tuple(adapt(v) for v in r.values()) for r in rows]


def _per_fire(iid: int, seq: int, at) -> tuple:
    """instance_id, instance_version, created_at[, entered_at] of a fire's timer rows."""
    return (iid, seq, at, at) if "entered_at" in TIMER_COLUMNS else (iid, seq, at)


def _entry_hash(entry: dict) -> str:
    fields = {k: entry[k] for k in HASHED_FIELDS}
    fields["at"] = entry["at"].isoformat(timespec="microseconds") + "Z"
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


def _floor_entry(rules: FloorRules, iid, trigger, actor, comment, row, now):
    state, version, last_hash = row
    dest = rules.dest[(state, trigger)]
    entry = {"instance_id": iid, "seq": version + 1, "from_state": state, "to_state": dest,
             "trigger": trigger, "actor_id": actor.user_id, "actor": actor.username,
             "role": rules.role[trigger], "at": now, "comment": comment,
             "data_hash": rules.data_hash, "definition_hash": rules.definition_hash,
             "prev_hash": last_hash}
    entry["hash"] = _entry_hash(entry)
    return entry


def _outbox_values(rules: FloorRules, entry, unit_id):
    recipients = {"roles": rules.next_roles[entry["to_state"]], "unit_id": unit_id}
    payload = {"definition": KEY, "instance_id": entry["instance_id"],
               "from": entry["from_state"], "to": entry["to_state"],
               "trigger": entry["trigger"], "actor": entry["actor"],
               "comment": entry["comment"]}
    return recipients, payload


def _sqlite_time(moment: datetime) -> str:
    # SQLAlchemy's SQLite DateTime storage format
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def floor_sqlite(path: str, rules: FloorRules, busy_timeout_s: int) -> Callable[[list], None]:
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={busy_timeout_s * 1000}")
    dumps = json.dumps

    def adapt(value):  # what SQLAlchemy's types store in SQLite
        if isinstance(value, datetime):
            return _sqlite_time(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, (list, dict)):
            return dumps(value)
        return value

    timer_sql = {s: _timer_insert(rows, "?", adapt) for s, rows in rules.timers.items()}

    def run(batch):
        for iid, trigger, actor, comment, _ in batch:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT definition_version_id, subject_unit_id, state, version, data, "
                    "last_hash, parent_id FROM instances WHERE id = ?", (iid,)).fetchone()
                now = datetime.now(timezone.utc).replace(tzinfo=None)
                entry = _floor_entry(rules, iid, trigger, actor, comment, (row[2], row[3], row[5]), now)
                at = _sqlite_time(now)
                changed = conn.execute(
                    "UPDATE instances SET state = ?, version = ?, last_hash = ?, updated_at = ? "
                    "WHERE id = ? AND version = ?",
                    (entry["to_state"], entry["seq"], entry["hash"], at, iid, row[3])).rowcount
                if changed != 1:
                    raise RuntimeError("floor: concurrent change")
                if row[2] in rules.deadline_states:
                    conn.execute("UPDATE timers SET status = 'cancelled' "
                                 f"WHERE instance_id = ? AND status IN {CANCELLABLE}", (iid,))
                conn.execute(
                    "INSERT INTO history (instance_id, seq, from_state, to_state, trigger, "
                    "actor_id, actor, role, at, comment, data_patch, data_hash, "
                    "definition_version_id, definition_hash, prev_hash, hash) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'null', ?, ?, ?, ?, ?)",
                    (iid, entry["seq"], entry["from_state"], entry["to_state"], trigger,
                     entry["actor_id"], entry["actor"], entry["role"], at, comment,
                     entry["data_hash"], rules.version_id, entry["definition_hash"],
                     entry["prev_hash"], entry["hash"]))
                timers = timer_sql.get(entry["to_state"])
                if timers:
                    per_fire = _per_fire(iid, entry["seq"], at)
                    conn.executemany(timers[0], [row + per_fire for row in timers[1]])
                recipients, payload = _outbox_values(rules, entry, row[1])
                conn.execute(
                    "INSERT INTO outbox (instance_id, kind, dedupe_key, recipients, payload, "
                    "status, attempts, created_at) VALUES (?, 'transition', ?, ?, ?, "
                    "'pending', 0, ?)",
                    (iid, f"transition:{iid}:{entry['seq']}", dumps(recipients),
                     dumps(payload), at))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    run.close = conn.close  # type: ignore[attr-defined]
    return run


def floor_postgresql(url: str, rules: FloorRules) -> Callable[[list], None]:
    import psycopg
    from psycopg.types.json import Jsonb

    u = make_url(url)
    conn = psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                           dbname=u.database)
    timer_sql = {s: _timer_insert(rows, "%s", lambda v: Jsonb(v)
                                  if isinstance(v, (list, dict)) else v)
                 for s, rows in rules.timers.items()}

    def run(batch):
        for iid, trigger, actor, comment, _ in batch:
            with conn.transaction():
                cur = conn.cursor()
                row = cur.execute(
                    "SELECT definition_version_id, subject_unit_id, state, version, data, "
                    "last_hash, parent_id FROM instances WHERE id = %s", (iid,)).fetchone()
                now = datetime.now(timezone.utc).replace(tzinfo=None)
                entry = _floor_entry(rules, iid, trigger, actor, comment, (row[2], row[3], row[5]), now)
                cur.execute(
                    "UPDATE instances SET state = %s, version = %s, last_hash = %s, "
                    "updated_at = %s WHERE id = %s AND version = %s",
                    (entry["to_state"], entry["seq"], entry["hash"], now, iid, row[3]))
                if cur.rowcount != 1:
                    raise RuntimeError("floor: concurrent change")
                if row[2] in rules.deadline_states:
                    cur.execute("UPDATE timers SET status = 'cancelled' "
                                f"WHERE instance_id = %s AND status IN {CANCELLABLE}", (iid,))
                cur.execute(
                    "INSERT INTO history (instance_id, seq, from_state, to_state, trigger, "
                    "actor_id, actor, role, at, comment, data_patch, data_hash, "
                    "definition_version_id, definition_hash, prev_hash, hash) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'null', %s, %s, %s, %s, %s)",
                    (iid, entry["seq"], entry["from_state"], entry["to_state"], trigger,
                     entry["actor_id"], entry["actor"], entry["role"], now, comment,
                     entry["data_hash"], rules.version_id, entry["definition_hash"],
                     entry["prev_hash"], entry["hash"]))
                timers = timer_sql.get(entry["to_state"])
                if timers:
                    per_fire = _per_fire(iid, entry["seq"], now)
                    cur.executemany(timers[0], [row + per_fire for row in timers[1]])
                recipients, payload = _outbox_values(rules, entry, row[1])
                cur.execute(
                    "INSERT INTO outbox (instance_id, kind, dedupe_key, recipients, payload, "
                    "status, attempts, created_at) VALUES (%s, 'transition', %s, %s, %s, "
                    "'pending', 0, %s)",
                    (iid, f"transition:{iid}:{entry['seq']}", Jsonb(recipients),
                     Jsonb(payload), now))
    run.close = conn.close  # type: ignore[attr-defined]
    return run


# --------------------------------------------------------------------------- driver


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """The process's peak resident set size (VmHWM) in MiB."""
    peak = _status_mb("VmHWM")
    if peak is None:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def rss_mb() -> float | None:
    """The current resident set size (VmRSS) in MiB (None off Linux)."""
    return _status_mb("VmRSS")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Scratch:
    """Two fresh, empty databases (ours, floor) of one kind; removed by close()."""

    def __init__(self, kind: str, pg_url: str) -> None:
        self.kind, self.cleanup = kind, []
        if kind == "sqlite":
            folder = tempfile.TemporaryDirectory(prefix="perfeval_bench_")
            self.cleanup.append(folder.cleanup)
            self.paths = {p: str(Path(folder.name) / f"{p}.db") for p in ("ours", "floor")}
            self.urls = {p: f"sqlite:///{path}" for p, path in self.paths.items()}
            return
        self.admin = create_engine(engine.resolve_url(pg_url), isolation_level="AUTOCOMMIT")
        self.urls = {}
        for p in ("ours", "floor"):
            name = f"perfeval_bench_{os.getpid()}_{p}"
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.cleanup.append(lambda name=name: self._drop(name))
            self.urls[p] = make_url(engine.resolve_url(pg_url)).set(database=name) \
                .render_as_string(hide_password=False)

    def _drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for step in reversed(self.cleanup):
            step()
        if self.kind != "sqlite":
            self.admin.dispose()


# Columns that legitimately differ between the two databases: ids, moments, and the
# hashes (which cover the moments). Everything else must be equal, row for row.
UNCOMPARED = frozenset({"id", "at", "created_at", "updated_at", "entered_at", "due_at",
                        "due_date", "claimed_at", "fired_at", "paused_at", "retry_at",
                        "next_attempt_at", "sent_at", "hash", "prev_hash", "last_hash"})


def same_rows(a: engine.Database, b: engine.Database) -> tuple[bool, str]:
    """Do ``a`` and ``b`` hold the same instances, history, timers and outbox rows
    (ids, moments and hashes aside)? Returns (equal, first difference)."""
    for model in (Instance, HistoryEntry, Timer, OutboxMessage):
        table = model.__table__
        columns = [c for c in table.columns if c.name not in UNCOMPARED]
        query = select(*columns).order_by(table.c.id)
        with a.read() as ca, b.read() as cb:
            for ra, rb in zip(ca.execute(query), cb.execute(query), strict=True):
                if tuple(ra) != tuple(rb):
                    return False, f"{table.name}: ours {tuple(ra)} vs floor {tuple(rb)}"
    return True, ""


def timed(run, batch) -> tuple[float, float]:
    """Wall-clock and this process's CPU seconds of ``run(batch)``."""
    gc.collect()
    cpu, started = time.process_time(), time.perf_counter()
    run(batch)
    return time.perf_counter() - started, time.process_time() - cpu


def bench(kind: str, args) -> dict:
    scratch = Scratch(kind, args.pg_url)
    try:
        db = engine.Database(scratch.urls["ours"])
        wl = seed(db, args.instances)
        floor_db = engine.Database(scratch.urls["floor"])
        floor_wl = seed(floor_db, args.instances)
        assert floor_wl.instance_ids == wl.instance_ids
        rules = FloorRules(floor_db, engine.registry.latest(floor_db, KEY).definition,
                           floor_wl)
        floor_db.dispose()
        paths = {"ours": (ours(db), wl),
                 "floor": (floor_sqlite(scratch.paths["floor"], rules,
                                        engine.db.SQLITE_BUSY_TIMEOUT_S)
                           if kind == "sqlite" else floor_postgresql(scratch.urls["floor"], rules),
                           floor_wl)}
        warmup = min(600, max(args.fires // 10, 30))
        for run, w in paths.values():
            run(w.plan(warmup))
        seconds = {"ours": 0.0, "floor": 0.0}
        cpu = {"ours": 0.0, "floor": 0.0}
        rounds = max(1, args.rounds)
        for r in range(rounds):
            n = args.fires // rounds + (1 if r < args.fires % rounds else 0)
            order = ("floor", "ours") if r % 2 == 0 else ("ours", "floor")
            for name in order:
                run, w = paths[name]
                wall, used = timed(run, w.plan(n))
                seconds[name] += wall
                cpu[name] += used
        paths["floor"][0].close()
        check = engine.Database(scratch.urls["floor"])
        try:
            same = same_rows(db, check)
        except ValueError as exc:  # zip(strict=True): different row counts
            same = (False, str(exc))
        finally:
            check.dispose()
        result = {"benchmark": "fire", "db": kind,
                  "ours_per_s": round(args.fires / seconds["ours"], 1),
                  "floor_per_s": round(args.fires / seconds["floor"], 1)}
        result["ratio"] = round(result["ours_per_s"] / result["floor_per_s"], 3)

        rss = None
        if args.rss_check:
            # Peak RSS of the firing alone: reset the high-water mark (left by setup),
            # fire 10k, read it; fire on to 100k, read it again.
            gc.collect()
            rss = {"reset": reset_peak_rss(), "start": rss_mb()}
            done = 0
            for target in (10_000, 100_000):
                while done < target:
                    step = min(5_000, target - done)
                    paths["ours"][0](wl.plan(step))
                    done += step
                rss[target] = (peak_rss_mb(), rss_mb())
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)

        verified = {}
        for name, url in scratch.urls.items():
            check = db if name == "ours" else engine.Database(url)
            report = engine.verify_history(check)
            verified[name] = (report.ok, report.entries)
            check.dispose()
        return {"json": result, "rss": rss, "verified": verified, "same": same,
                "cpu_us": {k: v / args.fires * 1e6 for k, v in cpu.items()}}
    finally:
        scratch.close()


def print_table(out: dict, args) -> None:
    r = out["json"]
    print(f"\n{r['db']}: {args.fires} fires over {args.instances} instances "
          f"({args.rounds} alternating rounds)")
    cpu = out["cpu_us"]
    print(f"  {'path':<34}{'tx/s':>10}{'ratio':>9}{'client CPU/fire':>18}")
    print(f"  {'floor (raw driver, same rows)':<34}{r['floor_per_s']:>10,.0f}{1:>9.2f}"
          f"{cpu['floor']:>15,.0f} us")
    print(f"  {'ours (engine.fire)':<34}{r['ours_per_s']:>10,.0f}{r['ratio']:>9.2f}"
          f"{cpu['ours']:>15,.0f} us")
    for name, (ok, entries) in out["verified"].items():
        print(f"  verify_history({name}): {'ok' if ok else 'FAILED'}, {entries} entries")
    same, difference = out["same"]
    print("  same rows in both databases (ids, moments, hashes aside): "
          + ("yes" if same else f"NO — {difference}"))
    if out["rss"]:
        rss = out["rss"]
        (p10, c10), (p100, c100) = rss[10_000], rss[100_000]
        scope = "since the reset before the check" if rss["reset"] else "of the process"
        print(f"  RSS check (ours, {scope}): peak after 10k fires {p10:.1f} MiB, after 100k "
              f"{p100:.1f} MiB, growth {p100 - p10:+.1f} MiB")
        if c10 is not None:
            print(f"  current RSS: {rss['start']:.1f} MiB before, {c10:.1f} after 10k, "
                  f"{c100:.1f} after 100k ({c100 - c10:+.1f} MiB)")
    print(f"  process peak RSS {r['peak_rss_mb']:.1f} MiB")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fires", type=int, default=20_000, help="timed fires per path")
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=10,
                        help="alternate ours/floor in this many timed rounds")
    parser.add_argument("--rss-check", action="store_true",
                        help="then fire 10k and 100k more through ours; report peak RSS")
    parser.add_argument("--pg-url", default=os.environ.get("PERFEVAL_BENCH_PG_URL",
                                                           DEFAULT_PG_URL))
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    outs = []
    for kind in kinds:
        out = bench(kind, args)
        print_table(out, args)
        outs.append(out)
    print()
    for out in outs:
        print(json.dumps(out["json"]))
    good = all(ok for out in outs for ok, _ in out["verified"].values())
    return 0 if good and all(out["same"][0] for out in outs) else 1


if __name__ == "__main__":
    sys.exit(main())
