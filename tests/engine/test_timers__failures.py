"""A broken timer is logged, retried later and never stops the sweep; a second sweep at
the same moment does nothing; the dedupe key keeps one event per timer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import insert

import engine.timers as timers_module
from engine import start
from engine.models import OutboxMessage
from engine.timers import MAX_ATTEMPTS, sweep
from time_support import events, load_time_definitions, local, timers

DUE = local("2026-08-01 00:00")


@pytest.fixture
def three(db, actors):
    load_time_definitions(db)
    with freeze_time(local("2026-07-13 10:00")):
        return [start(db, "half_year_report", actors["office"], unit_code=code,
                      data={"year": 2026}).instance_id for code in ("101", "102", "201")]


def _break(monkeypatch, instance_id):
    real = timers_module._notify

    def broken(conn, comp, timer, *args):
        if timer.instance_id == instance_id:
            raise RuntimeError("template exploded")
        return real(conn, comp, timer, *args)

    monkeypatch.setattr(timers_module, "_notify", broken)


def test_a_broken_timer_is_retried_later_and_the_others_take_effect(db, three, monkeypatch,
                                                                    caplog):
    _break(monkeypatch, three[1])
    report = sweep(db, DUE)
    assert sorted((o.instance_id, o.outcome) for o in report.outcomes if o.kind == "due") == [
        (three[0], "notified"), (three[1], "retry"), (three[2], "notified")]
    assert "template exploded" in caplog.text
    (broken,) = [t for t in timers(db, three[1]) if t.kind == "due"]
    assert (broken.status, broken.attempts) == ("pending", 1)
    assert "RuntimeError: template exploded" in broken.last_error
    assert broken.retry_at == DUE + timedelta(minutes=1)
    assert sweep(db, DUE + timedelta(seconds=30)).outcomes == []  # not before retry_at
    monkeypatch.undo()
    again = sweep(db, DUE + timedelta(minutes=1))
    assert [(o.instance_id, o.kind, o.outcome) for o in again.outcomes] == [
        (three[1], "due", "notified")]
    assert [e.kind for e in events(db, three[1])] == ["due"]


def test_a_timer_that_always_fails_is_given_up(db, three, monkeypatch):
    _break(monkeypatch, three[0])
    moment, outcomes = DUE, []
    for _ in range(MAX_ATTEMPTS):
        outcomes += [o.outcome for o in sweep(db, moment).outcomes
                     if o.instance_id == three[0] and o.kind == "due"]
        moment += timedelta(hours=7)
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    (row,) = [t for t in timers(db, three[0]) if t.kind == "due"]
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)


def test_sweeping_twice_at_the_same_moment_does_nothing_twice(db, three):
    first = sweep(db, DUE)
    assert first.count("notified") == 3 and first.count("collapsed") == 9
    assert sweep(db, DUE).outcomes == []
    assert len(events(db)) == 3


def test_an_existing_dedupe_key_is_not_written_twice(db, three):
    (due,) = [t for t in timers(db, three[0]) if t.kind == "due"]
    with db.write() as conn:  # as if an earlier, committed attempt had written it
        conn.execute(insert(OutboxMessage).values(
            instance_id=three[0], kind="due", dedupe_key=f"timer:{due.id}", recipients={},
            payload={}, status="pending", attempts=0, created_at=DUE))
    assert sweep(db, DUE).count("notified") == 3
    assert len([e for e in events(db) if e.dedupe_key == f"timer:{due.id}"]) == 1
