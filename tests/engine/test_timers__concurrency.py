"""Exactly once across processes: three sweepers at once, and a sweeper SIGKILLed in
the middle of a batch and restarted. Real processes, real databases."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy import func, insert, select, update

from engine import start, verify_history
from engine.calendar import calendar_for
from engine.models import HistoryEntry, OutboxMessage, Timer
from engine.timers import sweep
from time_support import load_time_definitions, local

WORKER = Path(__file__).with_name("sweep_worker.py")
NOW = local("2026-08-05 09:00")
BULK = 1000


def _setup(db, actors) -> tuple[list[int], list[int]]:
    """20 half-year reports past every timer (their last escalation fires mark_overdue)
    plus 1,000 due notices on ten plans: returns (due timer ids, escalating instances)."""
    load_time_definitions(db)
    with freeze_time(local("2026-07-13 10:00")):
        reports = [start(db, "half_year_report", actors["office"], unit_code="101",
                         data={"year": 2026}).instance_id for _ in range(20)]
        plans = [start(db, "performance_plan", actors["office"], unit_code="102").instance_id
                 for _ in range(10)]
    t = Timer.__table__
    version = calendar_for(db).version
    with db.write() as conn:
        conn.execute(update(t).where(t.c.instance_id.in_(plans)).values(status="cancelled"))
        conn.execute(insert(t), [
            {"instance_id": plans[n % 10], "instance_version": 1, "state": "draft",
             "kind": "due", "slot": "due", "due_at": NOW - timedelta(minutes=n % 600),
             "notify": [], "status": "pending", "attempts": 0, "created_at": NOW,
             "entered_at": NOW - timedelta(days=30), "due_date": NOW.date(),
             "adjustments": [], "calendar_version": version} for n in range(BULK)])
        due = conn.execute(select(t.c.id).where(
            t.c.status == "pending", t.c.due_at <= NOW)).scalars().all()
    return due, reports


def _workers(url: str, count: int, **options) -> list[subprocess.Popen]:
    extra = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    procs = [subprocess.Popen([sys.executable, str(WORKER), url, NOW.isoformat(), *extra],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(count)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:  # all three are connected; let them go together
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return procs


def _assert_exactly_once(db, due: list[int], reports: list[int]) -> None:
    t, o, h = Timer.__table__, OutboxMessage.__table__, HistoryEntry.__table__
    with db.read() as conn:
        statuses = Counter(conn.execute(select(t.c.status).where(t.c.id.in_(due))).scalars())
        keys = conn.execute(select(o.c.dedupe_key).where(o.c.dedupe_key.like("timer:%"))
                            ).scalars().all()
        done = conn.execute(select(t.c.id).where(t.c.status == "done")).scalars().all()
        fired = Counter(conn.execute(select(h.c.instance_id).where(
            h.c.trigger == "mark_overdue")).scalars())
    assert sum(statuses.values()) == len(due)
    assert set(statuses) <= {"done", "collapsed", "cancelled"}, statuses
    assert len(keys) == len(set(keys)) == len(done)  # one event per timer that took effect
    assert sorted(keys) == sorted(f"timer:{i}" for i in done)
    assert fired == Counter(reports)  # each escalation fired its trigger once
    assert verify_history(db).ok


@pytest.mark.slow
def test_three_sweepers_at_once_give_each_timer_one_effect(db, db_url, actors):
    due, reports = _setup(db, actors)
    procs = _workers(db_url, 3)
    claimed = []
    for proc in procs:
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0
        claimed += json.loads(out.strip().splitlines()[-1])
    ids = [timer_id for timer_id, outcome in claimed if outcome not in ("retry",)]
    assert len(ids) == len(set(ids))  # no timer handled by two sweepers
    sweep(db, NOW + timedelta(hours=1))  # retries (a PostgreSQL deadlock victim, if any)
    _assert_exactly_once(db, due, reports)
    assert len(due) == BULK + 20 * 6  # the bulk due notices and the reports' timers


@pytest.mark.slow
def test_a_sweeper_killed_mid_batch_loses_nothing_and_repeats_nothing(db, db_url, actors):
    due, reports = _setup(db, actors)
    (proc,) = _workers(db_url, 1, kill_after=260, batch=100)  # dies in its third batch
    proc.communicate(timeout=240)
    assert proc.returncode == -9
    with db.read() as conn:
        done = conn.execute(select(func.count()).select_from(Timer.__table__).where(
            Timer.status.in_(("done", "collapsed", "cancelled")), Timer.id.in_(due),
            )).scalar()
    assert done == 200  # two committed batches; the third rolled back whole
    (again,) = _workers(db_url, 1)
    again.communicate(timeout=240)
    assert again.returncode == 0
    _assert_exactly_once(db, due, reports)
