"""Webhooks against a real local receiver that fails intermittently: every event is
delivered, signatures verify, retries back off, the idempotency key is stable."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine import fire, start
from notifications import (DispatchConfig, WebhookChannel, add_webhook, attempts_of, dispatch,
                           message_key)
from notifications.models import Delivery
from notify_support import WebhookReceiver
from notify_support import people, plan, staff  # noqa: F401 - fixtures

T0 = datetime(2026, 12, 1, 1, 0)
SECRET = "s3cret-签名"
CONFIG = DispatchConfig(worker="test", backoff_base=timedelta(minutes=1))


@pytest.fixture
def receiver():
    # every third request 503, every seventh 429, the rest 200
    server = WebhookReceiver(SECRET, answer=lambda n: 503 if n % 3 == 1 else
                             429 if n % 7 == 0 else 200)
    yield server
    server.close()


def _run_until_done(db, channels, limit: int = 20) -> int:
    """Dispatch at each next due time until nothing is pending; returns the passes."""
    now = T0
    for passes in range(1, limit + 1):
        dispatch(db, now=now, channels=channels, config=CONFIG)
        with db.read() as conn:
            due = conn.execute(select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status == "pending", Delivery.channel == "webhook")).scalar()
        if due is None:
            return passes
        now = due
    raise AssertionError("deliveries still pending")


def test_every_event_arrives_signed_despite_intermittent_failures(db, staff, receiver):
    add_webhook(db, "绩效办工作群", receiver.url("/office"), secret=SECRET, roles=["office"])
    add_webhook(db, "发改局群", receiver.url("/unit"), secret=SECRET, roles=["unit_head"],
                unit_code="101")
    for _ in range(10):
        pid = start(db, "performance_plan", staff["zhang"], unit_code="101",
                    data={"goals": "目标", "measures": "措施"}).instance_id
        fire(db, pid, "submit", staff["chen"])
    passes = _run_until_done(db, {"webhook": WebhookChannel(timeout=5)})
    with db.read() as conn:
        rows = conn.execute(select(Delivery.id, Delivery.key, Delivery.status)
                            .where(Delivery.channel == "webhook")).all()
    assert len(rows) == 20 and {r.status for r in rows} == {"sent"} and passes > 1
    assert all(r["verified"] for r in receiver.requests)
    accepted = {r["headers"]["Idempotency-Key"] for r in receiver.accepted()}
    assert accepted == {message_key(r.key) for r in rows}
    bodies = [json.loads(r["body"]) for r in receiver.accepted()]
    by_path = {p: sorted(b["event"] for b, r in zip(bodies, receiver.accepted())
                         if r["path"] == p) for p in ("/office", "/unit")}
    assert by_path == {"/office": ["submitted"] * 10, "/unit": ["started"] * 10}
    assert {r["status"] for r in receiver.requests} == {200, 429, 503}


def test_retries_back_off_and_keep_their_idempotency_key(db, plan):
    failing = WebhookReceiver(SECRET, answer=lambda n: 503 if n <= 3 else 200)
    try:
        add_webhook(db, "发改局群", failing.url(), secret=SECRET, roles=["unit_head"])
        _run_until_done(db, {"webhook": WebhookChannel(timeout=5)})
    finally:
        failing.close()
    (delivery_id,) = [r.id for r in list_ids(db)]
    starts = [a["started_at"] for a in attempts_of(db, delivery_id)]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    keys = {r["headers"]["Idempotency-Key"] for r in failing.requests}
    assert len(failing.requests) == 4 and len(keys) == 1


def test_a_gone_endpoint_is_a_dead_letter_at_once(db, plan):
    gone = WebhookReceiver(SECRET, answer=lambda n: 404)
    try:
        add_webhook(db, "旧群", gone.url(), secret=SECRET, roles=["unit_head"])
        report = dispatch(db, now=T0, channels={"webhook": WebhookChannel(timeout=5)},
                          config=CONFIG)
    finally:
        gone.close()
    assert (report.sent, report.dead) == (0, 1)


def test_dingtalk_robot_gets_a_text_message_and_its_own_url_signature(db, plan):
    robot = WebhookReceiver(SECRET, reply=b'{"errcode":0,"errmsg":"ok"}')
    try:
        add_webhook(db, "钉钉群", robot.url("/robot/send?access_token=abc"), secret=SECRET,
                    style="dingtalk", roles=["unit_head"])
        report = dispatch(db, now=T0, channels={"webhook": WebhookChannel(timeout=5)},
                          config=CONFIG)
    finally:
        robot.close()
    assert report.sent == 1
    request = robot.requests[0]
    body = json.loads(request["body"])
    assert body["msgtype"] == "text"
    assert "县发展和改革局《年度绩效计划》待您办理" in body["text"]["content"]
    assert f"/instances/{plan}" in body["text"]["content"]
    query = request["query"]
    mac = hmac.new(SECRET.encode(), f"{query['timestamp']}\n{SECRET}".encode(), hashlib.sha256)
    assert query["access_token"] == "abc" and query["sign"] == base64.b64encode(
        mac.digest()).decode()
    assert request["headers"]["X-Perfeval-Timestamp"] == str(int(query["timestamp"]) // 1000)


def test_a_robot_answering_an_error_code_is_retried(db, plan):
    robot = WebhookReceiver(SECRET, reply=b'{"errcode":130101,"errmsg":"send too fast"}')
    try:
        add_webhook(db, "企业微信群", robot.url(), style="wecom", roles=["unit_head"])
        report = dispatch(db, now=T0, channels={"webhook": WebhookChannel(timeout=5)},
                          config=CONFIG)
    finally:
        robot.close()
    assert (report.sent, report.failed) == (0, 1)
    assert "X-Perfeval-Signature" not in robot.requests[0]["headers"]  # no secret, no signature


def list_ids(db):
    with db.read() as conn:
        return conn.execute(select(Delivery.id).where(Delivery.channel == "webhook")).all()
