"""Who an event reaches: next actors of the subject unit, organisation-wide roles, the
unit for outcomes; never the actor, inactive users or other units."""

from __future__ import annotations

from sqlalchemy import select, update

from engine import fire
from engine.models import OutboxMessage, User
from notifications import dispatch, fanout, list_inbox, unread_count
from notifications.models import Delivery, InboxEntry
from notify_support import FakeChannel
from notify_support import fake, people, plan, staff  # noqa: F401 - fixtures


def _inbox_users(db, event_id):
    with db.read() as conn:
        rows = conn.execute(select(User.username).join(
            InboxEntry, InboxEntry.user_id == User.id).where(InboxEntry.event_id == event_id))
        return sorted(rows.scalars())


def _event_id(db, key):
    with db.read() as conn:
        return conn.execute(select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key == key)).scalar_one()


def test_started_plan_reaches_the_units_submitters_but_not_the_starter(db, plan, fake):
    dispatch(db, channels={"email": fake})
    users = _inbox_users(db, _event_id(db, f"started:{plan}:1"))
    # unit_head of 101 acts next (submit); zhang started it; 102 and the office do not act
    assert users == ["both101", "chen", "head101"]
    assert {m.address for m in fake.sent} == {"chen@perfeval.test"}


def test_submission_reaches_every_office_user_org_wide(db, plan, staff, fake):
    fire(db, plan, "submit", staff["chen"])
    dispatch(db, channels={"email": fake})
    assert _inbox_users(db, _event_id(db, f"transition:{plan}:2")) == ["office", "wang"]
    submitted = [m for m in fake.sent if m.template == "submitted"]
    assert [m.address for m in submitted] == ["wang@perfeval.test"]


def test_returned_for_revision_reaches_the_whole_unit_with_the_comment(db, plan, staff, fake):
    fire(db, plan, "submit", staff["chen"])
    fire(db, plan, "start_review", staff["wang"])
    fire(db, plan, "request_revision", staff["wang"], comment="目标要量化")
    dispatch(db, channels={"email": fake})
    assert _inbox_users(db, _event_id(db, f"transition:{plan}:4")) == [
        "both101", "chen", "head101", "staff101", "zhang"]
    entry = list_inbox(db, _user(db, "zhang"))[0]
    assert entry.event == "returned" and "目标要量化" in entry.body
    assert entry.link.endswith(f"/instances/{plan}") and entry.instance_id == plan


def test_approval_is_told_to_the_unit_although_the_office_acts_next(db, plan, staff, fake):
    for trigger, who in (("submit", "chen"), ("start_review", "wang"), ("approve", "wang")):
        fire(db, plan, trigger, staff[who])
    dispatch(db, channels={"email": fake})
    users = _inbox_users(db, _event_id(db, f"transition:{plan}:4"))
    assert {"zhang", "chen", "office"} <= set(users) and "liu" not in users


def test_inactive_users_receive_nothing(db, plan, staff, fake):
    with db.write() as conn:
        conn.execute(update(User).where(User.username == "chen").values(active=False))
    dispatch(db, channels={"email": fake})
    assert "chen" not in _inbox_users(db, _event_id(db, f"started:{plan}:1"))
    assert fake.sent == []


def test_an_event_nobody_can_receive_is_dispatched_with_a_note(db, plan, staff, fake):
    with db.write() as conn:
        conn.execute(update(User).where(User.unit_id.is_not(None)).values(active=False))
    report = dispatch(db, channels={"email": fake})
    assert report.events == 1 and report.inbox == 0
    with db.read() as conn:
        row = conn.execute(select(OutboxMessage.status, OutboxMessage.last_error)).one()
    assert row.status == "dispatched" and "no recipients" in row.last_error


def test_dispatching_again_adds_nothing(db, plan, staff, fake):
    fire(db, plan, "submit", staff["chen"])
    first = dispatch(db, channels={"email": fake})
    second = dispatch(db, channels={"email": fake})
    assert (first.events, second.events, second.sent) == (2, 0, 0)
    assert unread_count(db, _user(db, "wang")) == 1
    with db.read() as conn:
        assert conn.execute(select(Delivery.id)).all().__len__() == len(fake.sent) == 2


def _user(db, username):
    with db.read() as conn:
        return conn.execute(select(User.id).where(User.username == username)).scalar_one()


def test_a_big_fan_out_is_split_over_transactions_without_losing_events(db, plan, staff,
                                                                         monkeypatch):
    monkeypatch.setattr(fanout, "ROW_BUDGET", 4)
    fire(db, plan, "submit", staff["chen"])  # started: 3 inbox + 1 email; submitted: 2 + 1
    channel = FakeChannel()
    report = dispatch(db, channels={"email": channel})
    assert (report.events, report.inbox, report.sent) == (2, 5, 2)
