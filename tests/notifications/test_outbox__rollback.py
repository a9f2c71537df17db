"""A rolled-back transition leaves no outbox row, so nobody is told of what did not
happen; the dispatcher only ever sees committed events."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from engine import GuardFailed, fire, get_instance
from engine.models import HistoryEntry, OutboxMessage
from notifications import dispatch, list_inbox
from notify_support import FakeChannel
from notify_support import people, plan, staff  # noqa: F401 - fixtures


def _outbox_keys(db):
    with db.read() as conn:
        return conn.execute(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id)
                            ).scalars().all()


def test_a_refused_transition_writes_no_outbox_row(db, plan, staff):
    before = _outbox_keys(db)
    with pytest.raises(GuardFailed):
        fire(db, plan, "submit", staff["chen"], data={"goals": ""})
    assert _outbox_keys(db) == before == [f"started:{plan}:1"]


def test_a_transition_failing_at_its_last_write_rolls_its_outbox_row_back(db, plan, staff):
    # occupy the key the next transition's outbox row would take: its INSERT fails,
    # after the instance UPDATE and the history INSERT of the same transaction
    with db.write() as conn:
        conn.execute(insert(OutboxMessage).values(
            kind="transition", dedupe_key=f"transition:{plan}:2", recipients={}, payload={},
            status="dispatched", attempts=0))
    with pytest.raises(IntegrityError):
        fire(db, plan, "submit", staff["chen"])
    assert get_instance(db, plan).state == "draft"
    with db.read() as conn:
        assert conn.execute(select(HistoryEntry.seq).where(
            HistoryEntry.instance_id == plan)).scalars().all() == [1]
    channel = FakeChannel()
    report = dispatch(db, channels={"email": channel})
    assert report.events == 1  # only the committed "started" event
    assert [m.template for m in channel.sent] == ["started"]
    wang = staff["wang"].user_id
    assert list_inbox(db, wang) == []  # the office never hears of a submission
