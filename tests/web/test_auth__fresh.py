"""Fresh authentication: approvals need a password entered within FRESH_AUTH_SECONDS;
a stale session is sent to /auth/confirm and back to the instance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from freezegun import freeze_time
from sqlalchemy import select

from engine import get_instance
from engine.signins import login_events
from web.auth import FRESH_AUTH_TRIGGERS
from web_support import PASSWORD, Client, advance, app, plan, web_db  # noqa: F401

START = "2026-11-27 02:00:00"
REVIEW = (("submit", "head101", None), ("start_review", "office", None))


def _confirm_outcomes(db):
    with db.read() as conn:
        return conn.execute(select(login_events.c.outcome).where(
            login_events.c.kind == "confirm").order_by(login_events.c.id)).scalars().all()


def test_a_recent_login_approves_at_once(app, web_db, plan):
    advance(web_db, plan, *REVIEW)
    with freeze_time(START) as frozen:
        client = Client(app, "office")
        frozen.tick(timedelta(minutes=14))
        response = client.post(f"/instances/{plan}/fire", {"trigger": "approve"})
    assert response.status_code == 302 and response.headers["Location"] == f"/instances/{plan}"
    assert get_instance(web_db, plan).state == "approved"


def test_a_stale_login_is_sent_to_confirm_and_back(app, web_db, plan):
    advance(web_db, plan, *REVIEW)
    with freeze_time(START) as frozen:
        client = Client(app, "office")
        frozen.tick(timedelta(minutes=16))
        refused = client.post(f"/instances/{plan}/fire", {"trigger": "approve"})
        assert refused.status_code == 302
        assert refused.headers["Location"] == f"/auth/confirm?next=/instances/{plan}"
        assert get_instance(web_db, plan).state == "under_review"
        page = client.get(refused.headers["Location"]).get_data(as_text=True)
        assert "确认身份" in page and f'value="/instances/{plan}"' in page
        back = client.post("/auth/confirm", {"password": PASSWORD, "next": f"/instances/{plan}"})
        assert back.headers["Location"] == f"/instances/{plan}"
        approved = client.post(f"/instances/{plan}/fire", {"trigger": "approve"})
    assert approved.status_code == 302
    assert get_instance(web_db, plan).state == "approved"
    assert _confirm_outcomes(web_db) == ["success"]


def test_a_wrong_password_on_confirm_is_refused_and_recorded(app, web_db, plan):
    advance(web_db, plan, *REVIEW)
    with freeze_time(START) as frozen:
        client = Client(app, "office")
        frozen.tick(timedelta(hours=1))
        wrong = client.post("/auth/confirm", {"password": "nope", "next": "/"})
        still = client.post(f"/instances/{plan}/fire", {"trigger": "approve"})
    assert wrong.status_code == 401 and "密码错误" in wrong.get_data(as_text=True)
    assert still.headers["Location"].startswith("/auth/confirm")
    assert get_instance(web_db, plan).state == "under_review"
    assert _confirm_outcomes(web_db) == ["bad_password"]


def test_confirm_failures_count_towards_the_lock(app, web_db):
    client = Client(app, "office")
    for _ in range(5):
        client.post("/auth/confirm", {"password": "nope"})
    locked = client.post("/auth/confirm", {"password": PASSWORD})
    assert locked.status_code == 429
    assert _confirm_outcomes(web_db)[-1] == "locked"


def test_an_ordinary_trigger_does_not_need_a_fresh_password(app, web_db, plan):
    with freeze_time(START) as frozen:
        client = Client(app, "head101")
        frozen.tick(timedelta(hours=2))
        response = client.post(f"/instances/{plan}/fire", {"trigger": "submit"})
    assert response.headers["Location"] == f"/instances/{plan}"
    assert get_instance(web_db, plan).state == "submitted"


def test_the_window_is_a_setting(app, web_db, plan):
    app.config["FRESH_AUTH_SECONDS"] = 60
    advance(web_db, plan, *REVIEW)
    with freeze_time(START) as frozen:
        client = Client(app, "office")
        frozen.tick(timedelta(seconds=61))
        response = client.post(f"/instances/{plan}/fire", {"trigger": "approve"})
    assert response.headers["Location"].startswith("/auth/confirm")


def test_confirm_never_redirects_off_site(app):
    client = Client(app, "office")
    response = client.post("/auth/confirm", {"password": PASSWORD,
                                             "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_confirm_needs_a_signed_in_user(app):
    assert "/login" in app.test_client().get("/auth/confirm").headers["Location"]


@pytest.mark.parametrize("trigger,needs", [
    ("approve", True), ("approve_results", True), ("publish", True), ("finalise", True),
    ("finalise_report", True), ("force_close", True), ("confirm_scores", True),
    ("submit", False), ("start_review", False), ("request_revision", False)])
def test_which_triggers_need_a_fresh_password(trigger, needs):
    from web.auth import needs_fresh_auth

    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", FRESH_AUTH_TRIGGERS=FRESH_AUTH_TRIGGERS,
                      FRESH_AUTH_SECONDS=900)
    with app.test_request_context():
        assert needs_fresh_auth(trigger) is needs
