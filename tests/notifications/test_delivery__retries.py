"""Retries with exponential backoff, dead letters, manual retry, every attempt recorded,
and the lease that brings back a delivery whose dispatcher died."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine import fire
from notifications import DispatchConfig, attempts_of, dispatch, list_deliveries, retry
from notifications.models import Delivery, DeliveryAttempt
from notify_support import FakeChannel, flaky
from notify_support import people, plan, staff  # noqa: F401 - fixtures

T0 = datetime(2026, 12, 1, 1, 0)
CONFIG = DispatchConfig(max_attempts=4, backoff_base=timedelta(minutes=1),
                        backoff_max=timedelta(minutes=3), lease=timedelta(minutes=5),
                        worker="test")


def _only_delivery(db):
    with db.read() as conn:
        return conn.execute(select(Delivery.__table__)).one()


def test_failures_back_off_exponentially_up_to_the_cap_then_dead_letter(db, plan):
    channel = FakeChannel(fail=flaky(99))
    now, waits = T0, []
    for _ in range(CONFIG.max_attempts):
        report = dispatch(db, now=now, channels={"email": channel}, config=CONFIG)
        row = _only_delivery(db)
        waits.append(row.next_attempt_at - now)
        assert dispatch(db, now=row.next_attempt_at - timedelta(seconds=1),
                        channels={"email": channel}, config=CONFIG).failed == 0  # not yet due
        now = row.next_attempt_at
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=3)]
    assert (report.dead, row.status, row.attempts) == (1, "dead", 4)
    assert waits[3] == timedelta(0) and "451" in row.last_error
    attempts = attempts_of(db, row.id)
    assert [a["outcome"] for a in attempts] == ["failed", "failed", "failed", "dead"]
    assert all(a["channel"] == "email" and "451" in a["error"] and a["worker"] == "test"
               for a in attempts)
    assert [a["started_at"] for a in attempts] == [
        T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3), T0 + timedelta(minutes=6)]


def test_a_dead_letter_retried_by_hand_gets_a_fresh_budget(db, plan):
    channel = FakeChannel(fail=flaky(4))
    now = T0
    for _ in range(4):
        dispatch(db, now=now, channels={"email": channel}, config=CONFIG)
        now = _only_delivery(db).next_attempt_at + timedelta(minutes=5)
    dead = list_deliveries(db, dead=True)
    assert [d.id for d in dead] == [_only_delivery(db).id]
    assert dispatch(db, now=now, channels={"email": channel}, config=CONFIG).sent == 0
    assert retry(db, [dead[0].id], now=now) == 1
    report = dispatch(db, now=now, channels={"email": channel}, config=CONFIG)
    row = _only_delivery(db)
    assert (report.sent, row.status, row.attempts) == (1, "sent", 5)
    assert [a["number"] for a in attempts_of(db, row.id)] == [1, 2, 3, 4, 5]
    assert list_deliveries(db, dead=True) == []


def test_a_permanent_refusal_is_dead_at_once(db, plan):
    channel = FakeChannel(fail=flaky(1, permanent=True))
    report = dispatch(db, now=T0, channels={"email": channel}, config=CONFIG)
    row = _only_delivery(db)
    assert (report.dead, row.status, row.attempts) == (1, "dead", 1)


def test_success_after_failures_sends_once_and_records_each_attempt(db, plan, staff):
    fire(db, plan, "submit", staff["chen"])
    channel = FakeChannel(fail=flaky(2))
    for minutes in (0, 1, 3):
        dispatch(db, now=T0 + timedelta(minutes=minutes), channels={"email": channel},
                 config=CONFIG)
    assert sorted(m.template for m in channel.sent) == ["started", "submitted"]
    with db.read() as conn:
        outcomes = conn.execute(select(DeliveryAttempt.outcome).order_by(
            DeliveryAttempt.delivery_id, DeliveryAttempt.number)).scalars().all()
    assert outcomes == ["failed", "failed", "sent"] * 2


def test_a_claim_whose_dispatcher_died_is_sent_again_after_the_lease(db, plan):
    channel = FakeChannel()
    dispatch(db, now=T0, channels={}, config=CONFIG)  # expand only: no channel configured
    with db.write() as conn:  # what a dispatcher killed after claiming leaves behind
        conn.execute(update(Delivery).values(status="sending", attempts=1, claim_token="gone",
                                             next_attempt_at=T0 + CONFIG.lease))
        conn.execute(DeliveryAttempt.__table__.insert().values(
            delivery_id=_only_delivery(db).id, number=1, channel="email", worker="killed",
            started_at=T0, outcome="started"))
    early = dispatch(db, now=T0 + timedelta(minutes=4), channels={"email": channel},
                     config=CONFIG)
    late = dispatch(db, now=T0 + CONFIG.lease, channels={"email": channel}, config=CONFIG)
    assert (early.sent, late.sent, len(channel.sent)) == (0, 1, 1)
    attempts = attempts_of(db, _only_delivery(db).id)
    assert [(a["number"], a["outcome"]) for a in attempts] == [(1, "interrupted"), (2, "sent")]
    assert channel.sent[0].attempt == 2


def test_an_interrupted_last_attempt_becomes_a_dead_letter_not_a_loop(db, plan):
    dispatch(db, now=T0, channels={}, config=CONFIG)
    with db.write() as conn:
        conn.execute(update(Delivery).values(status="sending", attempts=CONFIG.max_attempts,
                                             claim_token="gone", next_attempt_at=T0))
    report = dispatch(db, now=T0, channels={"email": FakeChannel()}, config=CONFIG)
    row = _only_delivery(db)
    assert (report.dead, report.sent, row.status) == (1, 0, "dead")
    assert "interrupted" in row.last_error


def test_deliveries_of_an_unconfigured_channel_wait_untouched(db, plan):
    report = dispatch(db, now=T0, channels={}, config=CONFIG)
    row = _only_delivery(db)
    assert report.waiting == {"email": 1}
    assert (row.status, row.attempts) == ("pending", 0)
