"""The scheduler: each tick sweeps, dispatches and beats; a real ``perfeval scheduler``
process sweeps overdue timers and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from engine import start
from engine.models import Timer
from engine.scheduler import Ticker, heartbeats, is_alive
from time_support import events, local


@pytest.fixture
def overdue_plan(db, actors):
    with freeze_time(local("2020-03-02 10:00")):  # long past: every timer is due
        return start(db, "performance_plan", actors["staff101"], unit_code="101").instance_id


def test_a_tick_sweeps_dispatches_and_beats(db, overdue_plan):
    dispatched = []
    ticker = Ticker(db, interval=30, dispatch=dispatched.append, worker="test:1")
    with freeze_time(local("2020-04-01 10:00")):
        report = ticker()
    assert report.count("notified") == 2  # due + escalation; the reminders collapsed
    assert dispatched == [db]
    (beat,) = heartbeats(db)
    assert (beat["worker"], beat["sweeps"], beat["last_report"]["notified"]) == ("test:1", 1, 2)
    assert beat["last_error"] is None and beat["stopped_at"] is None
    assert is_alive(beat, beat["beat_at"] + timedelta(seconds=60))
    assert not is_alive(beat, beat["beat_at"] + timedelta(seconds=200))


def test_a_failing_dispatch_is_recorded_and_the_ticks_go_on(db, overdue_plan):
    def dispatch(_db):
        raise ConnectionError("smtp down")

    ticker = Ticker(db, interval=30, dispatch=dispatch, worker="test:2")
    ticker()
    ticker()
    (beat,) = heartbeats(db)
    assert beat["sweeps"] == 2 and "ConnectionError: smtp down" in beat["last_error"]


def test_a_stopped_ticker_does_nothing(db, overdue_plan):
    ticker = Ticker(db, worker="test:3")
    ticker.stop.set()
    assert ticker() is None
    assert heartbeats(db) == []


@pytest.mark.slow
def test_the_scheduler_process_sweeps_and_stops_on_sigterm(db, db_url, overdue_plan):
    env = {**os.environ, "PERFEVAL_DATABASE_URL": db_url}
    proc = subprocess.Popen([sys.executable, "-m", "web", "scheduler", "--interval", "1",
                             "--no-dispatch"], stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in proc.stderr:  # wait for the first sweep to report what it did
        lines.append(line)
        if "sweep {" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(lines) + rest
    assert "stopped after" in rest
    (beat,) = heartbeats(db)
    assert beat["stopped_at"] is not None and beat["sweeps"] >= 1
    with db.read() as conn:
        statuses = set(conn.execute(select(Timer.status).where(
            Timer.instance_id == overdue_plan)).scalars())
    assert statuses <= {"done", "collapsed"}
    assert [e.kind for e in events(db, overdue_plan)] == ["due", "escalate"]
