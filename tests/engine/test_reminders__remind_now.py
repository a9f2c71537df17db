"""The office's "remind now": one history entry and one reminder event per selected
instance in one transaction, delivered by the real dispatcher to the unit's inbox."""

from __future__ import annotations

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from engine import (InvalidInput, NotFound, NotPermitted, fire, get_instance, read_history,
                    start, verify_history)
from engine.models import OutboxMessage, Timer, User
from engine.reminders import remind_now
from notifications import dispatch
from notifications.models import InboxEntry

ENTERED = "2026-03-02 02:00:00"  # Monday 10:00 in Shanghai; plans are due 03-31


@pytest.fixture
def plans(db, actors):
    """Plans of units 101 and 102 in draft; their ``started`` notices dispatched."""
    with freeze_time(ENTERED):
        ids = {code: start(db, "performance_plan", actors["office"], unit_code=code,
                           data={"goals": "目标", "measures": "措施"}).instance_id
               for code in ("101", "102")}
        dispatch(db, channels={})
    return ids


def _inbox(db, since_id: int = 0):
    """(username, instance id, template) of inbox entries newer than ``since_id``."""
    with db.read() as conn:
        return sorted(conn.execute(
            select(User.username, InboxEntry.instance_id, InboxEntry.template)
            .join(User, User.id == InboxEntry.user_id).where(InboxEntry.id > since_id)).all())


def _last_inbox_id(db) -> int:
    with db.read() as conn:
        return conn.execute(select(func.coalesce(func.max(InboxEntry.id), 0))).scalar()


def _outbox_count(db) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(OutboxMessage)).scalar()


def test_each_unit_gets_exactly_one_reminder_per_instance(db, actors, plans):
    mark = _last_inbox_id(db)
    with freeze_time("2026-03-20 02:00:00"):
        sent = remind_now(db, list(plans.values()), actors["office"], message="请抓紧报送")
        report = dispatch(db, channels={})
    assert [(r.instance_id, r.kind, str(r.due_date)) for r in sent] == [
        (plans["101"], "remind", "2026-03-31"), (plans["102"], "remind", "2026-03-31")]
    assert report.events == 2
    assert _inbox(db, mark) == [("both101", plans["101"], "reminder"),
                                ("head101", plans["101"], "reminder"),
                                ("head102", plans["102"], "reminder")]
    with db.read() as conn:
        title = conn.execute(select(InboxEntry.title).join(User, User.id == InboxEntry.user_id)
                             .where(User.username == "head101", InboxEntry.id > mark)).scalar()
    assert title == "提醒:县发展和改革局《年度绩效计划》还有 7 个工作日到期"
    entry = read_history(db, plans["101"])[-1]
    assert (entry["trigger"], entry["from_state"], entry["to_state"], entry["actor"],
            entry["comment"]) == ("remind_now", "draft", "draft", "office", "请抓紧报送")
    assert get_instance(db, plans["101"]).state == "draft"
    with db.read() as conn:  # the deadline's own timers are untouched
        statuses = set(conn.execute(select(Timer.status).where(
            Timer.instance_id == plans["101"])).scalars())
    assert statuses == {"pending"}
    assert verify_history(db).ok


def test_an_overdue_instance_gets_the_overdue_notice(db, actors, plans):
    mark = _last_inbox_id(db)
    with freeze_time("2026-04-03 02:00:00"):
        (sent,) = remind_now(db, [plans["102"]], actors["office"])
        dispatch(db, channels={})
    assert sent.kind == "due"
    assert _inbox(db, mark) == [("head102", plans["102"], "overdue")]
    assert read_history(db, plans["102"])[-1]["comment"] is None


def test_a_refusal_sends_nothing_and_names_the_instance(db, actors, plans):
    with freeze_time("2026-03-05 02:00:00"):
        fire(db, plans["102"], "submit", actors["head102"])
        fire(db, plans["102"], "start_review", actors["office"])
        fire(db, plans["102"], "approve", actors["office"])
        fire(db, plans["102"], "publish", actors["office"])
    before = (_outbox_count(db), get_instance(db, plans["101"]).version)
    with pytest.raises(InvalidInput) as caught:
        remind_now(db, [plans["101"], plans["102"]], actors["office"])
    assert f"#{plans['102']}" in caught.value.message and "县财政局" in caught.value.message
    with pytest.raises(NotFound):
        remind_now(db, [plans["101"], 999_999], actors["office"])
    with pytest.raises(NotPermitted):
        remind_now(db, [plans["101"]], actors["head101"])
    with pytest.raises(InvalidInput):
        remind_now(db, [], actors["office"])
    assert (_outbox_count(db), get_instance(db, plans["101"]).version) == before
