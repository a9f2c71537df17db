"""The scheduler writes one signed anchor a day at the configured local time (only with
a key configured) and the dispatcher delivers it to the auditors: in-app, and by email
with the anchor file in the body, which then verifies."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from sqlalchemy import func, select, update

from engine import start
from engine.anchor import list_anchors, verify_anchor
from engine.anchor_daily import DailyAnchor, anchor_time
from engine.anchor_keys import KEY_ENV, keygen
from engine.exceptions import InvalidInput
from engine.models import OutboxMessage, User
from engine.scheduler import Ticker
from notifications import dispatch, render
from notifications.models import InboxEntry
from notify_support import FakeChannel

_o, _n, _u = OutboxMessage.__table__, InboxEntry.__table__, User.__table__
# 02:00 in Asia/Shanghai is 18:00 UTC the day before
BEFORE, AT, LATER, NEXT_DAY = (datetime(2026, 12, 3, 17, 59), datetime(2026, 12, 3, 18, 0),
                               datetime(2026, 12, 3, 23, 0), datetime(2026, 12, 4, 18, 5))


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    path, public, _id = keygen(tmp_path / "anchor.pem")
    monkeypatch.setenv(KEY_ENV, str(path))
    monkeypatch.delenv("PERFEVAL_ANCHOR_TIME", raising=False)
    return path


@pytest.fixture
def ticker(db, actors, key_file):
    start(db, "performance_plan", actors["office"], unit_code="101")
    return Ticker(db, daily=DailyAnchor.from_env(db))


def _anchor_rows(db):
    with db.read() as conn:
        return conn.execute(select(_o.c.dedupe_key, _o.c.recipients, _o.c.payload).where(
            _o.c.kind == "audit_anchor").order_by(_o.c.id)).all()


def test_one_anchor_a_day_at_two_in_the_morning_local_time(db, ticker):
    ticker(BEFORE)
    assert list_anchors(db) == [] and _anchor_rows(db) == []

    ticker(AT)
    ticker(LATER)
    DailyAnchor.from_env(db)(LATER)  # a second scheduler process: the day is written
    [row] = _anchor_rows(db)
    assert row.dedupe_key == "audit_anchor:2026-12-04"
    assert row.recipients == {"roles": ["auditor"], "unit_id": None}
    assert row.payload["ok"] and row.payload["instances"] == 1
    [written] = list_anchors(db)
    assert (written["origin"], written["moment"]) == ("daily", AT)

    ticker(NEXT_DAY)
    assert [r.dedupe_key for r in _anchor_rows(db)] == ["audit_anchor:2026-12-04",
                                                         "audit_anchor:2026-12-05"]


def test_no_key_no_daily_anchor_and_the_time_is_configurable(db, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert DailyAnchor.from_env(db) is None
    monkeypatch.setenv("PERFEVAL_ANCHOR_TIME", "03:30")
    assert anchor_time() == time(3, 30)
    monkeypatch.setenv("PERFEVAL_ANCHOR_TIME", "half past three")
    with pytest.raises(InvalidInput):
        anchor_time()


def test_auditors_get_it_in_the_inbox_and_by_email_with_the_file(db, ticker):
    with db.write() as conn:
        conn.execute(update(_u).where(_u.c.username == "auditor").values(
            email="audit@perfeval.test"))
    ticker(AT)
    mail = FakeChannel()

    dispatch(db, now=AT, channels={"email": mail})

    with db.read() as conn:
        inbox = conn.execute(select(_n.c.title, _n.c.body, _n.c.link, _u.c.username).join(
            _u, _u.c.id == _n.c.user_id).where(_n.c.template == "audit_anchor")).all()
        others = conn.execute(select(func.count()).select_from(_n).where(
            _n.c.template == "audit_anchor", _u.c.id == _n.c.user_id,
            _u.c.username != "auditor")).scalar()
    assert [r.username for r in inbox] == ["auditor"] and others == 0
    assert "审计锚点" in inbox[0].title and inbox[0].link.endswith("/audit/anchors")
    assert '"merkle_root"' not in inbox[0].body  # the file goes by mail, not in-app
    [sent] = mail.sent
    assert sent.address == "audit@perfeval.test"
    text = render(sent.template, sent.locale, sent.params).text
    document = next(line for line in text.splitlines() if line.startswith('{"body":'))
    report = verify_anchor(db, document)
    assert report.ok and report.anchored["instances"] == 1


def test_a_history_that_does_not_verify_is_reported_instead(db, ticker):
    from tamper_support import tamper

    tamper(db, "UPDATE history SET comment = 'x' WHERE seq = 1")
    ticker(AT)
    assert list_anchors(db) == []
    [row] = _anchor_rows(db)
    assert not row.payload["ok"] and "does not verify" in row.payload["problem"]
    title = render("audit_anchor", "en", {"day": "2026-12-04", "anchor": {
        "ok": False, "problem": row.payload["problem"]}}).subject
    assert "the history does not verify" in title
