"""Sign-in records: every attempt is a login_events row, the throttle is counted from
those rows (so it holds across web workers), and a broken record never stops a login."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select, text, update

from engine import add_user
from engine.clock import utcnow
from engine.models import User
from engine.signins import failures_since, list_login_events, login_events, record_login
from web.app import create_app
from web_support import PASSWORD, Client, app, web_db  # noqa: F401


def _rows(db):
    with db.read() as conn:
        return conn.execute(select(login_events).order_by(login_events.c.id)).all()


def _second_worker(web_db):
    return create_app({"TESTING": True, "DB": web_db, "SECRET_KEY": "test-secret",
                       "SESSION_COOKIE_SECURE": False})


def test_every_outcome_is_recorded_with_address_and_agent(app, web_db):
    with web_db.write() as conn:
        conn.execute(update(User).where(User.username == "auditor").values(active=False))
    Client(app).login("office", "wrong-password")
    Client(app).login("nobody", PASSWORD)
    Client(app).login("auditor", PASSWORD)
    client = Client(app, "office")
    client.post("/logout")
    rows = _rows(web_db)
    assert [(r.kind, r.username, r.outcome) for r in rows] == [
        ("login", "office", "bad_password"), ("login", "nobody", "unknown_user"),
        ("login", "auditor", "inactive"), ("login", "office", "success"),
        ("logout", "office", "logout")]
    assert rows[0].user_id is None and rows[3].user_id is not None
    assert {r.address for r in rows} == {"127.0.0.1"}
    assert all(r.user_agent.startswith("Werkzeug") for r in rows)


def test_the_user_agent_is_truncated(app, web_db):
    client = Client(app)
    client.http.environ_base["HTTP_USER_AGENT"] = "A" * 1000
    client.login("office")
    assert len(_rows(web_db)[-1].user_agent) == 200


def test_an_inactive_user_sees_the_same_message_as_a_wrong_password(app, web_db):
    with web_db.write() as conn:
        conn.execute(update(User).where(User.username == "auditor").values(active=False))
    response = Client(app).login("auditor", PASSWORD)
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_the_throttle_holds_across_two_workers(app, web_db):
    for _ in range(5):
        Client(app).login("office", "wrong-password")
    other_worker = Client(_second_worker(web_db)).login("office", PASSWORD)
    assert other_worker.status_code == 429
    assert _rows(web_db)[-1].outcome == "locked"


def test_the_lock_ends_when_the_window_has_passed(app, web_db):
    with freeze_time("2026-11-27 02:00:00") as frozen:
        for _ in range(5):
            Client(app).login("office", "wrong-password")
        assert Client(app).login("office", PASSWORD).status_code == 429
        frozen.tick(timedelta(minutes=16))
        assert Client(app).login("office", PASSWORD).status_code == 302


def test_a_success_clears_the_pairs_failures(app):
    for _ in range(4):
        Client(app).login("office", "wrong-password")
    assert Client(app).login("office").status_code == 302
    for _ in range(4):
        Client(app).login("office", "wrong-password")
    assert Client(app).login("office").status_code == 302


def test_one_address_is_locked_after_too_many_failures_over_all_names(app, web_db):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 6
    for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
        Client(app).login(name, "wrong-password")
    assert Client(app).login("office").status_code == 429


def test_a_failure_to_record_does_not_stop_the_login(app, web_db, caplog):
    with web_db.write() as conn:
        conn.execute(text("DROP TABLE login_events"))
    response = Client(app).login("office")
    assert response.status_code == 302
    assert any("could not record login success" in r.getMessage() for r in caplog.records)


# --- the engine functions, on both databases ---------------------------------------------


def test_failures_are_counted_per_pair_and_per_address(db):
    for user, addr, outcome in [("u1", "10.0.0.1", "bad_password"),
                                ("u1", "10.0.0.1", "unknown_user"),
                                ("u1", "10.0.0.2", "bad_password"),
                                ("u2", "10.0.0.1", "inactive"),
                                ("u2", "10.0.0.1", "locked")]:
        assert record_login(db, kind="login", outcome=outcome, username=user, user_id=None,
                            address=addr, user_agent="t")
    since = utcnow() - timedelta(minutes=5)
    assert failures_since(db, since, address="10.0.0.1", username="u1") == 2
    assert failures_since(db, since, address="10.0.0.1") == 3
    assert failures_since(db, utcnow() + timedelta(seconds=1), address="10.0.0.1") == 0


def test_a_success_resets_the_pair_count(db):
    with freeze_time("2026-11-27 02:00:00") as frozen:
        record_login(db, kind="login", outcome="bad_password", username="u", user_id=None,
                     address="a")
        frozen.tick(1)
        record_login(db, kind="login", outcome="success", username="u", user_id=1, address="a")
        frozen.tick(1)
        record_login(db, kind="confirm", outcome="bad_password", username="u", user_id=1,
                     address="a")
        assert failures_since(db, utcnow() - timedelta(hours=1), address="a", username="u") == 1


@pytest.mark.parametrize("per_page", [2, 50])
def test_listing_is_newest_first_filtered_and_paged(db, per_page):
    add_user(db, "someone", PASSWORD, ["office"])
    with freeze_time("2026-11-27 02:00:00") as frozen:
        for i in range(5):
            record_login(db, kind="login", outcome="bad_password" if i % 2 else "success",
                         username=f"u{i % 2}", user_id=None, address="a")
            frozen.tick(1)
    everything = list_login_events(db, per_page=per_page)
    assert everything.total == 5 and everything.pages == -(-5 // per_page)
    assert [r.at for r in everything.rows] == sorted((r.at for r in everything.rows),
                                                      reverse=True)
    failed = list_login_events(db, outcome="bad_password", username="u1")
    assert failed.total == 2 and {r.username for r in failed.rows} == {"u1"}
    last = list_login_events(db, page=everything.pages, per_page=per_page)
    assert len(last.rows) == 5 - per_page * (everything.pages - 1)
