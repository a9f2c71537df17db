"""The optional daily digest folds a user's reminder emails of one day into one."""

from __future__ import annotations

from datetime import datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from engine import start
from notifications import DispatchConfig, dispatch, list_inbox, render, set_preferences
from notifications.fanout import digest_day
from notifications.models import Delivery
from notify_support import FakeChannel, timer_event
from notify_support import people, staff  # noqa: F401 - fixtures

CONFIG = DispatchConfig(digest_hour=17, worker="test")
MORNING = datetime(2026, 3, 24, 2, 0)   # 10:00 in Shanghai, after the 09:00 reminders
EVENING = datetime(2026, 3, 24, 9, 0)   # 17:00 in Shanghai: the digest hour


@pytest.fixture
def two_plans(db, staff, people):
    set_preferences(db, people["chen"], digest=True)
    with freeze_time("2026-03-02 02:00:00"):
        plans = [start(db, "performance_plan", staff["zhang"], unit_code="101",
                       data={"goals": "目标", "measures": "措施"}).instance_id
                 for _ in range(2)]
    for pid in plans:  # both plans' "5 working days before" reminder: 24 March, 09:00
        timer_event(db, pid, "remind", nth=0)
    return plans


def _statuses(db):
    with db.read() as conn:
        return sorted(conn.execute(select(Delivery.template, Delivery.status)).all())


def test_reminders_are_held_until_the_digest_hour_then_sent_as_one(db, two_plans, people):
    channel = FakeChannel()
    dispatch(db, now=MORNING, channels={"email": channel}, config=CONFIG)
    assert sorted(m.template for m in channel.sent) == ["started", "started"]
    assert _statuses(db) == [("reminder", "held")] * 2 + [("started", "sent")] * 2
    assert len(list_inbox(db, people["chen"])) == 4  # the inbox still gets each one

    report = dispatch(db, now=EVENING, channels={"email": channel}, config=CONFIG)
    assert (report.digests, report.sent) == (1, 1)
    digest = channel.sent[-1]
    assert (digest.template, digest.address) == ("digest", "chen@perfeval.test")
    assert len(digest.params["items"]) == 2 and digest.params["day"] == "2026-03-24"
    assert _statuses(db) == [("digest", "sent")] + [("reminder", "folded")] * 2 + [
        ("started", "sent")] * 2
    again = dispatch(db, now=EVENING, channels={"email": channel}, config=CONFIG)
    assert (again.digests, again.sent) == (0, 0)


def test_the_digest_renders_every_reminder(db, two_plans):
    channel = FakeChannel()
    dispatch(db, now=EVENING, channels={"email": channel}, config=CONFIG)
    digest = [m for m in channel.sent if m.template == "digest"][0]
    rendered = render("digest", digest.locale, digest.params)
    assert rendered.subject == "【绩效评估】2026年3月24日(星期二)办理提醒汇总(共 2 项)"
    assert rendered.text.count("还有 5 个工作日到期") == 2
    for pid in two_plans:
        assert f"/instances/{pid}" in rendered.html


def test_a_reminder_after_the_digest_hour_goes_into_the_next_days_digest():
    assert str(digest_day(datetime(2026, 3, 24, 8, 59), CONFIG)) == "2026-03-24"
    assert str(digest_day(datetime(2026, 3, 24, 9, 0), CONFIG)) == "2026-03-25"
