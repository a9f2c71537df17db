"""Email against a real SMTP server (aiosmtpd on a local port): every message arrives,
none twice (by Message-ID), in correctly encoded Chinese — also across an outage."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine import fire, start
from notifications import (DispatchConfig, EmailChannel, SmtpSettings, dispatch,
                           message_key)
from notifications.models import Delivery
from notify_support import SmtpServer
from notify_support import people, plan, smtp, staff  # noqa: F401 - fixtures

T0 = datetime(2026, 12, 1, 1, 0)
CONFIG = DispatchConfig(batch=50, worker="test")


def _channels(server: SmtpServer) -> dict:
    return {"email": EmailChannel(SmtpSettings.from_url(server.url))}


def _two_hundred_events(db, staff) -> None:
    """100 plans started (→ 陈刚) and submitted (→ 王主任): 200 emails."""
    for _ in range(100):
        pid = start(db, "performance_plan", staff["zhang"], unit_code="101",
                    data={"goals": "目标", "measures": "措施"}).instance_id
        fire(db, pid, "submit", staff["chen"])


def _expected_ids(db) -> set[str]:
    with db.read() as conn:
        keys = conn.execute(select(Delivery.key).where(Delivery.channel == "email")).scalars()
        return {f"<{message_key(k)}@perfeval.test>" for k in keys}


def test_two_hundred_notifications_arrive_once_each(db, staff, smtp):
    _two_hundred_events(db, staff)
    report = dispatch(db, now=T0, channels=_channels(smtp), config=CONFIG)
    ids = smtp.box.message_ids()
    assert (report.sent, report.failed, len(ids)) == (200, 0, 200)
    assert set(ids) == _expected_ids(db)
    recipients = sorted(r for rcpt, _ in smtp.box.messages for r in rcpt)
    assert recipients == ["chen@perfeval.test"] * 100 + ["wang@perfeval.test"] * 100


def test_an_outage_delays_but_loses_and_duplicates_nothing(db, staff, smtp):
    _two_hundred_events(db, staff)
    sent_before_outage = 70

    class GoesDown(EmailChannel):
        def send(self, message):
            super().send(message)
            if len(smtp.box.messages) == sent_before_outage:
                smtp.stop()

    down = dispatch(db, now=T0, channels={"email": GoesDown(SmtpSettings.from_url(smtp.url))},
                    config=CONFIG)
    assert (down.sent, down.failed) == (sent_before_outage, 200 - sent_before_outage)
    still_down = dispatch(db, now=T0 + timedelta(minutes=1), channels=_channels(smtp),
                          config=CONFIG)
    assert (still_down.sent, still_down.failed) == (0, 200 - sent_before_outage)
    smtp.start()
    back = dispatch(db, now=T0 + timedelta(minutes=3), channels=_channels(smtp), config=CONFIG)
    ids = smtp.box.message_ids()
    assert back.sent == 200 - sent_before_outage and back.dead == 0
    assert len(ids) == len(set(ids)) == 200
    assert set(ids) == _expected_ids(db)


def test_subject_body_and_addresses_decode_in_chinese(db, staff, smtp, plan):
    fire(db, plan, "submit", staff["chen"])
    fire(db, plan, "start_review", staff["wang"])
    fire(db, plan, "request_revision", staff["wang"], comment="请把“增长8%”分解到季度")
    dispatch(db, now=T0, channels=_channels(smtp), config=CONFIG)
    returned = [m for rcpt, m in smtp.box.messages
                if "退回" in m["Subject"] and rcpt == ["chen@perfeval.test"]]
    assert len(returned) == 1
    mail = returned[0]
    assert mail["Subject"] == "【绩效评估】县发展和改革局《年度绩效计划》被退回修改"
    assert mail["From"].addresses[0].display_name == "绩效办"
    assert mail["To"].addresses[0].display_name == "陈刚"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for part in (text, html):
        assert "县发展和改革局" in part and "年度绩效计划" in part and "退回修改" in part
        assert f"/instances/{plan}" in part
    assert "请把“增长8%”分解到季度" in text and "请把“增长8%”分解到季度" in html
    assert all(ord(c) < 128 for c in mail.as_string().split("\n\n", 1)[0]), \
        "headers must be RFC 2047 encoded ASCII"


def test_a_mailbox_that_does_not_exist_is_a_dead_letter(db, staff, smtp, plan):
    class Refuses:
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
            return "550 5.1.1 mailbox unavailable"

    refusing = SmtpServer()
    refusing.box = Refuses()
    refusing.start()
    try:
        report = dispatch(db, now=T0, channels=_channels(refusing), config=CONFIG)
    finally:
        refusing.stop()
    assert (report.sent, report.dead) == (0, 1)
    with db.read() as conn:
        assert "550" in conn.execute(select(Delivery.last_error)).scalar_one()
