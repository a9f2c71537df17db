"""Reminder, due-today, overdue and escalation rows (as the timer sweep writes them)
are delivered with the deadline, the working days left and to the right people."""

from __future__ import annotations

from datetime import datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import insert, select

from engine import fire, start
from engine.models import OutboxMessage, User
from notifications import dispatch, list_inbox, set_preferences
from notifications.models import Delivery, InboxEntry
from notify_support import timer_event
from notify_support import fake, people, staff  # noqa: F401 - fixtures

ENTERED = "2026-03-02 02:00:00"  # Monday 10:00 in Shanghai; the plan is due 03-31


@pytest.fixture
def draft(db, staff):
    with freeze_time(ENTERED):
        return start(db, "performance_plan", staff["zhang"], unit_code="101",
                     data={"goals": "目标", "measures": "措施"}).instance_id


def _sent_for(db, event_id, fake):
    dispatch(db, channels={"email": fake})
    with db.read() as conn:
        rows = conn.execute(select(User.username, InboxEntry.template, InboxEntry.title,
                                   InboxEntry.body).join(User, User.id == InboxEntry.user_id)
                            .where(InboxEntry.event_id == event_id)
                            .order_by(User.username)).all()
    return rows


def test_reminder_names_the_working_days_left_and_the_date(db, draft, fake):
    rows = _sent_for(db, timer_event(db, draft, "remind", nth=0), fake)
    assert [r.username for r in rows] == ["both101", "chen", "head101"]
    assert {r.template for r in rows} == {"reminder"}
    assert rows[0].title == "提醒:县发展和改革局《年度绩效计划》还有 5 个工作日到期"
    assert "截止日期为 2026年3月31日(星期二)" in rows[0].body and "草拟" in rows[0].body
    mail = [m for m in fake.sent if m.template == "reminder"][0]
    assert (mail.params["deadline"], mail.params["days_left"]) == ("2026-03-31", 5)


def test_overdue_counts_the_days_since_the_deadline(db, draft, fake):
    rows = _sent_for(db, timer_event(db, draft, "due"), fake)
    assert {r.template for r in rows} == {"overdue"}
    assert "截止日期 2026年3月31日(星期二) 已过,已逾期 1 天" in rows[0].body


def test_escalation_goes_to_the_office_only(db, draft, fake):
    rows = _sent_for(db, timer_event(db, draft, "escalate"), fake)
    assert [(r.username, r.template) for r in rows] == [
        ("office", "escalation_office"), ("wang", "escalation_office")]
    assert rows[0].title == "督办:县发展和改革局《年度绩效计划》逾期未办"


def test_escalation_to_leadership(db, draft, fake):
    rows = _sent_for(db, timer_event(db, draft, "escalate", notify=["leader"]), fake)
    assert [(r.username, r.template) for r in rows] == [("li", "escalation_leadership")]
    assert "呈报领导" in rows[0].title
    assert [m.address for m in fake.sent if m.template.startswith("escalation")] == [
        "li@perfeval.test"]


def test_a_reminder_on_the_due_day_says_due_today(db, staff, fake):
    with freeze_time(ENTERED):
        pid = start(db, "performance_plan", staff["zhang"], unit_code="101",
                    data={"goals": "目标", "measures": "措施"}).instance_id
        fire(db, pid, "submit", staff["chen"])
        fire(db, pid, "start_review", staff["wang"])
    # under_review: due 10 working days later (Mon 16 March), reminded on the day
    rows = _sent_for(db, timer_event(db, pid, "remind", nth=1), fake)
    assert [(r.username, r.template) for r in rows] == [
        ("office", "due_today"), ("wang", "due_today")]
    assert "今天即为截止日期:2026年3月16日(星期一)" in rows[0].body


def test_english_users_get_english_reminders(db, draft, fake, people):
    set_preferences(db, people["chen"], locale="en")
    timer_event(db, draft, "remind", nth=1)
    dispatch(db, channels={"email": fake})
    entry = list_inbox(db, people["chen"])[0]  # newest first; the other is "started"
    assert entry.title == ("Reminder: Annual performance plan of 县发展和改革局 is due in "
                           "1 working day")
    assert "Tue 31 Mar 2026" in entry.body
    with db.read() as conn:
        assert conn.execute(select(Delivery.locale).where(
            Delivery.user_id == people["chen"], Delivery.template == "reminder")
        ).scalar_one() == "en"


def test_the_sweeps_own_deadline_figures_are_used_when_given(db, draft, fake):
    with db.write() as conn:
        event = conn.execute(insert(OutboxMessage).values(
            instance_id=draft, kind="remind", dedupe_key="timer:990",
            recipients={"roles": ["unit_head"], "unit_id": 1},
            payload={"definition": "performance_plan", "instance_id": draft, "state": "draft",
                     "kind": "remind", "timer_id": 990, "due_date": "2026-04-30",
                     "due_at": "2026-04-30T16:00:00Z", "working_days_left": 4,
                     "days_overdue": 0, "notify": []},
            status="pending", attempts=0, created_at=datetime(2026, 4, 24, 1, 0))
            .returning(OutboxMessage.id)).scalar_one()
    rows = _sent_for(db, event, fake)
    assert rows[0].title == "提醒:县发展和改革局《年度绩效计划》还有 4 个工作日到期"
    assert "2026年4月30日(星期四)" in rows[0].body
