"""The token pages: /account/tokens (each user's own) and /admin/tokens (admins): the
secret shown exactly once, expiry, revoking with a confirmation POST, CSRF, and the role
matrix (non-admins 403 on the admin page; another user's token is a 404)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from web.api.tokens import create_token, digest, get_token, list_tokens
from web_support import app, client_for, web_db  # noqa: F401

SECRET = re.compile(r'id="secret"[^>]*value="(pe_[^"]+)"')


def created_secret(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert "只显示这一次" in page
    return SECRET.search(page).group(1)


def test_a_user_creates_a_token_and_sees_the_secret_once(client_for, app, web_db):
    client = client_for("head101")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert 'id="create-token"' in page and "还没有令牌" in page and 'name="csrf_token"' in page
    secret = created_secret(client.post("/account/tokens", {"name": "OA 系统",
                                                              "expires_days": "30"}))
    [info] = list_tokens(web_db)
    assert info.username == "head101" and info.name == "OA 系统" and info.created_by == "head101"
    assert digest(secret) != secret and info.prefix == secret[:10]
    assert info.expires_at - info.created_at == timedelta(days=30)
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in listing and f"{info.prefix}…" in listing and "有效" in listing
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.get_json()["username"] == "head101"
    assert "最近使用" in client.get("/account/tokens").get_data(as_text=True)


def test_the_default_validity_comes_from_the_settings(client_for, web_db):
    secret = created_secret(client_for("office").post("/account/tokens", {"name": "x"}))
    info = next(t for t in list_tokens(web_db) if t.prefix == secret[:10])
    assert info.expires_at - info.created_at == timedelta(days=90)


@pytest.mark.parametrize("form", [{"name": ""}, {"name": "x", "expires_days": "0"},
                                  {"name": "x", "expires_days": "366"},
                                  {"name": "x", "expires_days": "abc"}])
def test_invalid_forms_show_the_error_and_create_nothing(client_for, web_db, form):
    response = client_for("head101").post("/account/tokens", form)
    assert response.status_code == 422 and 'class="flash error"' in \
        response.get_data(as_text=True)
    assert list_tokens(web_db) == []


def test_every_form_needs_the_csrf_token(client_for, web_db):
    client = client_for("head101")
    assert client.http.post("/account/tokens", data={"name": "x"}).status_code == 400
    info, _secret = create_token(web_db, "head101", "t", created_by="test")
    assert client.http.post(f"/account/tokens/{info.id}/revoke").status_code == 400
    admin = client_for("admin")
    assert admin.http.post("/admin/tokens", data={"username": "office",
                                                  "name": "x"}).status_code == 400
    assert admin.http.post(f"/admin/tokens/{info.id}/revoke").status_code == 400
    assert [t.revoked_at for t in list_tokens(web_db)] == [None]


def test_revoking_asks_then_revokes_and_the_token_stops_working(client_for, app, web_db):
    info, secret = create_token(web_db, "head101", "OA", created_by="test")
    client = client_for("head101")
    confirm = client.get(f"/account/tokens/{info.id}/revoke").get_data(as_text=True)
    assert 'id="revoke-token"' in confirm and info.prefix in confirm
    assert get_token(web_db, info.id).revoked_at is None  # the GET only asks
    done = client.post(f"/account/tokens/{info.id}/revoke")
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/tokens")
    assert get_token(web_db, info.id).revoked_at is not None
    headers = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    assert "已撤销" in client.get("/account/tokens").get_data(as_text=True)


def test_a_user_neither_sees_nor_revokes_another_users_token(client_for, web_db):
    theirs, _secret = create_token(web_db, "head102", "theirs", created_by="test")
    client = client_for("head101")
    assert "theirs" not in client.get("/account/tokens").get_data(as_text=True)
    assert client.get(f"/account/tokens/{theirs.id}/revoke").status_code == 404
    assert client.post(f"/account/tokens/{theirs.id}/revoke").status_code == 404
    assert client.post("/account/tokens/999999/revoke").status_code == 404
    assert get_token(web_db, theirs.id).revoked_at is None


def test_expired_tokens_are_listed_as_expired(client_for, web_db):
    from freezegun import freeze_time

    with freeze_time("2025-01-01T00:00:00"):
        create_token(web_db, "head101", "old", created_by="test", days=1)
    assert 'class="token-expired"' in client_for("head101").get("/account/tokens") \
        .get_data(as_text=True)


@pytest.mark.parametrize("user", ["staff101", "head101", "office", "auditor"])
def test_non_admins_get_403_on_the_admin_page(client_for, web_db, user):
    info, _secret = create_token(web_db, "head102", "t", created_by="test")
    client = client_for(user)
    assert client.get("/admin/tokens").status_code == 403
    assert client.post("/admin/tokens", {"username": user, "name": "x"}).status_code == 403
    assert client.post(f"/admin/tokens/{info.id}/revoke").status_code == 403
    assert 'id="admin-tokens"' not in client.get("/account/tokens").get_data(as_text=True)
    assert get_token(web_db, info.id).revoked_at is None


def test_signed_out_visitors_are_sent_to_the_login(client_for):
    client = client_for()
    for path in ("/account/tokens", "/admin/tokens"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_lists_everyones_tokens_creates_for_a_user_and_revokes_any(client_for, app,
                                                                         web_db):
    theirs, _secret = create_token(web_db, "head102", "财政接口", created_by="cli")
    admin = client_for("admin")
    page = admin.get("/admin/tokens").get_data(as_text=True)
    assert "财政接口" in page and "head102" in page and '<option value="office">' in page
    assert 'id="admin-tokens"' in page
    secret = created_secret(admin.post("/admin/tokens", {"username": "office",
                                                         "name": "数据平台",
                                                         "expires_days": "7"}))
    made = next(t for t in list_tokens(web_db) if t.prefix == secret[:10])
    assert made.username == "office" and made.created_by == "admin"
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.get_json()["username"] == "office"
    assert "数据平台" not in admin.get("/account/tokens").get_data(as_text=True)
    assert admin.post(f"/admin/tokens/{theirs.id}/revoke").status_code == 302
    assert get_token(web_db, theirs.id).revoked_at is not None
    missing = admin.post("/admin/tokens", {"username": "nobody", "name": "x"})
    assert missing.status_code == 404 and "nobody" in missing.get_data(as_text=True)
    assert admin.get("/admin/tokens/999999/revoke").status_code == 404


def test_the_pages_are_translated_into_english(client_for, web_db):
    info, _secret = create_token(web_db, "admin", "t", created_by="test")
    admin = client_for("admin")
    admin.post("/lang", {"lang": "en"})
    listing = admin.get("/account/tokens").get_data(as_text=True)
    assert "My API tokens" in listing and "Valid for 1–365 days; default 90 days." in listing
    assert "API tokens (all users)" in admin.get("/admin/tokens").get_data(as_text=True)
    confirm = admin.get(f"/account/tokens/{info.id}/revoke").get_data(as_text=True)
    assert f"Revoke token {info.prefix}… (t, user admin)?" in confirm
    created = admin.post("/account/tokens", {"name": "x"}).get_data(as_text=True)
    assert "it is shown only this once" in created


def test_the_form_offers_the_configured_validity(web_db):
    from web.app import create_app
    from web_support import Client

    app = create_app({"TESTING": True, "DB": web_db, "SECRET_KEY": "s",
                      "SESSION_COOKIE_SECURE": False, "API_TOKEN_DEFAULT_DAYS": 14,
                      "API_TOKEN_MAX_DAYS": 1000})
    page = Client(app, "office").get("/account/tokens").get_data(as_text=True)
    assert 'max="365" value="14"' in page
