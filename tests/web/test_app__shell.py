"""The application shell: sign-in, sessions, cookies, headers, CSRF, errors, language."""

from __future__ import annotations

import pytest

from engine import actor_for, get_instance
from web.auth import rotate_session_token
from web_support import PASSWORD, Client, app, client_for, plan, web_db  # noqa: F401


def test_pages_need_a_signed_in_user(app):
    response = app.test_client().get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_sets_a_hardened_session_cookie(app):
    app.config["SESSION_COOKIE_SECURE"] = True
    client = Client(app)
    response = client.login("office")
    cookie = response.headers["Set-Cookie"]
    assert response.status_code == 302
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert "remember_token" not in str(response.headers)


def test_security_headers_on_every_page(app):
    response = app.test_client().get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_wrong_password_is_refused_and_logged(app, caplog):
    response = Client(app).login("office", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert any("login failed user=office" in r.getMessage() for r in caplog.records)


def test_throttle_locks_the_account_and_address_after_five_failures(app):
    client = Client(app)
    for _ in range(5):
        client.login("office", "wrong-password")
    locked = client.login("office", PASSWORD)
    other = Client(app).login("auditor", PASSWORD)
    assert locked.status_code == 429
    assert other.status_code == 302


def test_rotating_the_session_token_ends_the_session(app, web_db):
    client = Client(app, "office")
    assert client.get("/").status_code == 200
    rotate_session_token(web_db, actor_for(web_db, "office").user_id)
    assert client.get("/").status_code == 302


def test_logout_is_a_post_and_ends_the_session(app):
    client = Client(app, "office")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_next_must_stay_on_this_site(app):
    client = Client(app)
    client.refresh_token("/login")
    response = client.post("/login", {"username": "office", "password": PASSWORD,
                                      "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/\\evil.example/", "/\\/evil.example/",
                                    "/\t/evil.example/", "//evil.example/"])
def test_next_that_a_browser_reads_as_another_site_is_refused(app, target):
    client = Client(app)
    client.refresh_token("/login")
    response = client.post("/login", {"username": "office", "password": PASSWORD,
                                      "next": target})
    assert response.headers["Location"] == "/"


def test_a_post_without_csrf_token_is_refused(app, web_db, plan):
    client = Client(app, "head101")
    response = client.http.post(f"/instances/{plan}/fire", data={"trigger": "submit"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    assert get_instance(web_db, plan).state == "draft"


def test_the_csrf_token_does_not_expire_after_an_hour(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_unknown_page_is_a_chinese_404_page(app):
    response = Client(app, "office").get("/no/such/page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_an_unexpected_error_is_a_plain_500_page(app):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = Client(app, "office").get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "服务器内部错误" in body and "secret internals" not in body and "Traceback" not in body


def test_language_switch_to_english_and_back(app, plan):
    client = Client(app, "office")
    client.post("/lang", {"lang": "en", "next": f"/instances/{plan}"})
    english = client.get(f"/instances/{plan}").get_data(as_text=True)
    client.post("/lang", {"lang": "zh_CN"})
    chinese = client.get(f"/instances/{plan}").get_data(as_text=True)
    assert "Annual performance plan" in english and "History" in english
    assert "年度绩效计划" in chinese and "历史记录" in chinese


def test_the_language_choice_is_remembered_for_the_user(app):
    client = Client(app, "office")
    client.post("/lang", {"lang": "en"})
    again = Client(app, "office")
    assert "My tasks" in again.get("/").get_data(as_text=True)


def test_the_english_catalog_is_compiled_from_the_po_file(tmp_path):
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    from web.i18n import TRANSLATIONS

    folder = TRANSLATIONS / "en" / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po, (folder / "messages.mo").open("rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    wanted = {m.id: m.string for m in source if m.id}
    assert {m.id: m.string for m in compiled if m.id} == wanted
    assert all(wanted.values())
