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


def test_a_stale_login_is_asked_for_the_password_and_the_held_action_goes_through(
        app, web_db, plan):
    advance(web_db, plan, *REVIEW)
    comment = "同意备案。\n请按期公开 <计划>"
    with freeze_time(START) as frozen:
        client = Client(app, "office")
        frozen.tick(timedelta(minutes=16))
        held = client.post(f"/instances/{plan}/fire", {"trigger": "approve", "comment": comment})
        page = held.get_data(as_text=True)
        assert held.status_code == 200 and "确认身份" in page
        assert get_instance(web_db, plan).state == "under_review"
        # the typed comment rides along (escaped) in the confirmation form
        assert 'name="resume" value="/instances/%d/fire"' % plan in page
        assert "&lt;计划&gt;" in page and 'name="trigger" value="approve"' in page
        body = {"password": PASSWORD, "next": f"/instances/{plan}",
                "resume": f"/instances/{plan}/fire", "trigger": "approve", "comment": comment}
        back = client.post("/auth/confirm", body)
        assert back.status_code == 307 and back.headers["Location"] == f"/instances/{plan}/fire"
        approved = client.post(back.headers["Location"], body)  # what a browser does on 307
    assert approved.status_code == 302 and approved.headers["Location"] == f"/instances/{plan}"
    assert get_instance(web_db, plan).state == "approved"
    assert _confirm_outcomes(web_db) == ["success"]
    from engine import read_history

    assert read_history(web_db, plan)[-1]["comment"] == comment


def test_a_wrong_password_keeps_the_held_action(app, web_db, plan):
    advance(web_db, plan, *REVIEW)
    with freeze_time(START) as frozen:
        client = Client(app, "office")
        frozen.tick(timedelta(hours=1))
        wrong = client.post("/auth/confirm", {"password": "nope", "next": f"/instances/{plan}",
                                              "resume": f"/instances/{plan}/fire",
                                              "trigger": "approve", "comment": "同意"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 401 and 'name="comment" value="同意"' in page
    assert get_instance(web_db, plan).state == "under_review"


def test_a_held_action_never_resumes_off_site(app):
    client = Client(app, "office")
    response = client.post("/auth/confirm", {"password": PASSWORD, "next": "/",
                                             "resume": "https://evil.example/x"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_wrong_password_on_confirm_is_refused_and_recorded(app, web_db, plan):
    advance(web_db, plan, *REVIEW)
    with freeze_time(START) as frozen:
        client = Client(app, "office")
        frozen.tick(timedelta(hours=1))
        wrong = client.post("/auth/confirm", {"password": "nope", "next": "/"})
        still = client.post(f"/instances/{plan}/fire", {"trigger": "approve"})
    assert wrong.status_code == 401 and "密码错误" in wrong.get_data(as_text=True)
    assert still.status_code == 200 and "确认身份" in still.get_data(as_text=True)
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
    assert response.status_code == 200 and "确认身份" in response.get_data(as_text=True)
    assert get_instance(web_db, plan).state == "under_review"


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


def test_a_confirmed_action_goes_through_once_even_with_a_zero_window(app, web_db, plan):
    app.config["FRESH_AUTH_SECONDS"] = 0
    advance(web_db, plan, *REVIEW)
    client = Client(app, "office")
    fire_url = f"/instances/{plan}/fire"
    body = {"password": PASSWORD, "next": f"/instances/{plan}", "resume": fire_url,
            "trigger": "approve"}
    assert client.post("/auth/confirm", body).status_code == 307
    assert client.post(fire_url, body).headers["Location"] == f"/instances/{plan}"
    assert get_instance(web_db, plan).state == "approved"
    again = client.post(fire_url, {"trigger": "publish"})  # the pass was used up
    assert again.status_code == 200 and "确认身份" in again.get_data(as_text=True)
    assert get_instance(web_db, plan).state == "approved"
