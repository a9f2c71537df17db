"""Changing one's own password: checks, the strength rule, and the session token
rotation (other sessions end, this one stays signed in)."""

from __future__ import annotations

import pytest

from web_support import PASSWORD, Client, app, web_db  # noqa: F401

NEW = "stronger-pass-42"


def _change(client, current=PASSWORD, new=NEW, repeat=None):
    return client.post("/account/password", {"current": current, "new": new,
                                              "repeat": new if repeat is None else repeat})


def test_the_page_has_the_form_with_csrf(app):
    body = Client(app, "office").get("/account/password").get_data(as_text=True)
    assert 'name="csrf_token"' in body and 'name="current"' in body and 'name="repeat"' in body


def test_the_page_needs_a_signed_in_user(app):
    assert "/login" in app.test_client().get("/account/password").headers["Location"]


def test_a_change_ends_other_sessions_and_keeps_this_one(app):
    mine, elsewhere = Client(app, "office"), Client(app, "office")
    response = _change(mine)
    assert response.status_code == 302
    assert mine.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert Client(app).login("office", PASSWORD).status_code == 401
    assert Client(app).login("office", NEW).status_code == 302


@pytest.mark.parametrize("current,new,repeat,message", [
    ("wrong-password-1", NEW, NEW, "当前密码不正确"),
    (PASSWORD, "short-1", "short-1", "密码至少 10 位"),
    (PASSWORD, "onlyletterspassword", "onlyletterspassword", "须同时包含字母"),
    (PASSWORD, "office-2024-pass", "office-2024-pass", "不能包含用户名"),
    (PASSWORD, NEW, "something-else-1", "两次输入的新密码不一致"),
    (PASSWORD, PASSWORD, PASSWORD, "不能与当前密码相同"),
])
def test_a_bad_change_is_refused_and_nothing_changes(app, current, new, repeat, message):
    client = Client(app, "office")
    response = _change(client, current, new, repeat)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert client.get("/").status_code == 200
    assert Client(app).login("office", PASSWORD).status_code == 302


def test_a_change_without_csrf_token_is_refused(app):
    client = Client(app, "office")
    response = client.http.post("/account/password", data={"current": PASSWORD, "new": NEW,
                                                            "repeat": NEW})
    assert response.status_code == 400
    assert Client(app).login("office", PASSWORD).status_code == 302


def test_the_page_is_in_english_too(app):
    client = Client(app, "office")
    client.post("/lang", {"lang": "en"})
    assert "Change password" in client.get("/account/password").get_data(as_text=True)


def test_an_empty_field_is_reported_in_chinese(app):
    response = _change(Client(app, "office"), current="")
    assert response.status_code == 422 and "请填写此项" in response.get_data(as_text=True)


def test_guessing_the_current_password_is_locked_like_a_sign_in(app, web_db):
    from sqlalchemy import select

    from engine.signins import login_events

    client = Client(app, "office")
    for _ in range(5):
        assert _change(client, "wrong-password-1").status_code == 422
    locked = _change(client)  # even the right one, once locked
    assert locked.status_code == 429
    with web_db.read() as conn:
        kinds = conn.execute(select(login_events.c.kind, login_events.c.outcome).where(
            login_events.c.kind == "password").order_by(login_events.c.id)).all()
    assert [tuple(k) for k in kinds] == [("password", "bad_password")] * 5 \
        + [("password", "locked")]
    assert Client(app).login("office", NEW).status_code != 302  # nothing was changed
