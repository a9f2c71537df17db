"""End to end with the real timer sweep: the outbox rows it writes are delivered as
reminder, overdue and escalation notifications."""

from __future__ import annotations

from datetime import datetime

import pytest
from freezegun import freeze_time

from engine import start
from engine.timers import sweep
from notifications import dispatch, list_inbox
from notify_support import FakeChannel
from notify_support import people, staff  # noqa: F401 - fixtures


@pytest.fixture
def draft(db, staff):
    with freeze_time("2026-03-02 02:00:00"):  # Monday 10:00 in Shanghai; due 31 March
        pid = start(db, "performance_plan", staff["zhang"], unit_code="101",
                    data={"goals": "目标", "measures": "措施"}).instance_id
    dispatch(db, channels={"email": FakeChannel()})  # the "started" notice, out of the way
    return pid


def test_a_swept_reminder_reaches_the_unit_by_mail_and_inbox(db, draft, people):
    now = datetime(2026, 3, 24, 1, 30)  # 09:30: the "5 working days before" reminder
    sweep(db, now)
    channel = FakeChannel()
    report = dispatch(db, now=now, channels={"email": channel})
    assert report.events == 1
    (mail,) = channel.sent
    assert (mail.template, mail.address) == ("reminder", "chen@perfeval.test")
    assert (mail.params["deadline"], mail.params["days_left"]) == ("2026-03-31", 5)
    assert list_inbox(db, people["chen"])[0].title == (
        "提醒:县发展和改革局《年度绩效计划》还有 5 个工作日到期")


def test_after_the_deadline_the_unit_hears_overdue_and_the_office_an_escalation(db, draft,
                                                                               people):
    now = datetime(2026, 4, 1, 1, 30)  # 09:30 on 1 April: due passed, escalation due
    sweep(db, now)
    channel = FakeChannel()
    dispatch(db, now=now, channels={"email": channel})
    sent = sorted((m.template, m.address) for m in channel.sent)
    assert ("overdue", "chen@perfeval.test") in sent
    assert ("escalation_office", "wang@perfeval.test") in sent
    assert not [s for s in sent if s[0] == "reminder"]  # missed reminders fold away
    assert list_inbox(db, people["wang"])[0].event == "escalation_office"
