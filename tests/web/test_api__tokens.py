"""Token expiry (401 token_expired), validity settings, and the rule that a token cannot
mint tokens (403 session_required) while it may revoke its own user's tokens."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from click.testing import CliRunner
from freezegun import freeze_time

from web.api.tokens import create_token, get_token
from web.app import create_app
from web.cli import main
from api_support import Api, api_for, error_of  # noqa: F401
from web_support import Client, app, client_for, web_db  # noqa: F401


def session_create(client, body: dict):
    return client.http.post("/api/v1/tokens", json=body,
                            headers={"X-CSRFToken": client.token})


def test_a_token_cannot_create_tokens_whatever_the_body(api_for, web_db):
    api = api_for("office")
    for body in ({"name": "copy"}, {"name": ""}, {"name": "x", "expires_days": 999}):
        error = error_of(api.post("/api/v1/tokens", json=body), 403, "session_required")
        assert error["details"] == {"auth": "token"}
    error_of(api.post("/api/v1/tokens", data="not json"), 403, "session_required")
    assert len(api.get("/api/v1/tokens").get_json()["items"]) == 1  # only the caller's own


def test_the_session_creates_with_a_default_or_chosen_validity(client_for, web_db):
    session = client_for("head101")
    default = session_create(session, {"name": "OA"})
    chosen = session_create(session, {"name": "报表", "expires_days": 7})
    assert default.status_code == chosen.status_code == 201
    for made, days in ((default.get_json(), 90), (chosen.get_json(), 7)):
        info = get_token(web_db, made["id"])
        assert info.expires_at - info.created_at == timedelta(days=days)
        assert made["expires_at"].endswith("+08:00") and made["status"] == "active"
    error_of(session_create(session, {"name": "x", "expires_days": 366}), 422, "invalid_input")
    no_csrf = session.http.post("/api/v1/tokens", json={"name": "x"})
    error_of(no_csrf, 400, "csrf_failed")


def test_the_app_settings_set_the_default_and_the_maximum(web_db):
    app = create_app({"TESTING": True, "DB": web_db, "SECRET_KEY": "s",
                      "SESSION_COOKIE_SECURE": False, "API_TOKEN_DEFAULT_DAYS": 7,
                      "API_TOKEN_MAX_DAYS": 30})
    session = Client(app, "office")
    made = session_create(session, {"name": "short"}).get_json()
    info = get_token(web_db, made["id"])
    assert info.expires_at - info.created_at == timedelta(days=7)
    error = error_of(session_create(session, {"name": "long", "expires_days": 31}), 422,
                     "invalid_input")
    assert "30" in error["message"]
    assert session_create(session, {"name": "ok", "expires_days": 30}).status_code == 201


def test_an_expired_token_is_a_401_token_expired_and_listed_as_expired(app, web_db):
    with freeze_time("2026-01-01T00:00:00"):
        info, secret = create_token(web_db, "head101", "short", created_by="test", days=1)
    api = Api(app, secret)
    with freeze_time("2026-01-01T23:59:59"):
        assert api.get("/api/v1/me").status_code == 200
    with freeze_time("2026-01-02T00:00:00"):
        error = error_of(api.get("/api/v1/me"), 401, "token_expired")
        assert error["details"] == {"token_id": info.id,
                                    "expired_at": "2026-01-02T08:00:00+08:00"}
        assert api.get("/api/v1/me").headers["WWW-Authenticate"].startswith("Bearer")
        still = Api(app, create_token(web_db, "head101", "new", created_by="test")[1])
        listed = {t["id"]: t for t in still.get("/api/v1/tokens").get_json()["items"]}
    assert listed[info.id]["status"] == "expired"
    assert get_token(web_db, info.id).last_used_at == datetime(2026, 1, 1, 23, 59, 59)


def test_a_token_revokes_its_own_users_tokens_itself_included_never_others(api_for, app,
                                                                           web_db):
    mine = api_for("head101")
    other, _secret = create_token(web_db, "head102", "theirs", created_by="test")
    error_of(mine.delete(f"/api/v1/tokens/{other.id}"), 404, "not_found")
    assert get_token(web_db, other.id).revoked_at is None
    second, second_secret = create_token(web_db, "head101", "second", created_by="test")
    assert mine.delete(f"/api/v1/tokens/{second.id}").get_json()["status"] == "revoked"
    error_of(Api(app, second_secret).get("/api/v1/me"), 401, "unauthorized")
    own_id = mine.get("/api/v1/tokens").get_json()["items"][0]["id"]
    assert mine.delete(f"/api/v1/tokens/{own_id}").status_code == 200
    error_of(mine.get("/api/v1/me"), 401, "unauthorized")


def test_cli_create_takes_expires_days(web_db):
    runner, db_url = CliRunner(), str(web_db.engine.url)
    with freeze_time("2026-03-01T00:00:00"):
        result = runner.invoke(main, ["tokens", "create", "office", "--expires-days", "30",
                                      "--db", db_url, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["expires_at"] == "2026-03-31T08:00:00+08:00"
    listed = runner.invoke(main, ["tokens", "list", "--db", db_url])
    assert "expires 2026-03-31T08:00:00+08:00  expired" in listed.output  # it is past that
    for days in ("0", "366"):
        refused = runner.invoke(main, ["tokens", "create", "office", "--expires-days", days,
                                       "--db", db_url])
        assert refused.exit_code != 0 and "1" in refused.output


def test_settings_cannot_raise_the_cap_above_365_days(web_db):
    from web.api.tokens import check_days

    assert check_days(None, max_days=1000, default_days=500) == 365
    assert check_days(365, max_days=1000) == 365
    app = create_app({"TESTING": True, "DB": web_db, "SECRET_KEY": "s",
                      "SESSION_COOKIE_SECURE": False, "API_TOKEN_MAX_DAYS": 1000})
    session = Client(app, "office")
    error_of(session_create(session, {"name": "long", "expires_days": 400}), 422,
             "invalid_input")
    page = Client(app, "office").post("/account/tokens", {"name": "x", "expires_days": "400"})
    assert page.status_code == 422


def test_migration_0006_gives_existing_tokens_90_days_and_downgrades(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, inspect, text

    from engine.schema import alembic_config

    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        conn.execute(text("INSERT INTO api_tokens (user_id, name, token_hash, prefix, "
                          "created_by, created_at) VALUES (1, 'old', 'h', 'pe_x', 'cli', "
                          "'2026-01-01 00:00:00')"))
    with freeze_time("2026-06-01T00:00:00"), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        expires = conn.execute(text("SELECT expires_at FROM api_tokens")).scalar()
    assert str(expires).startswith("2026-08-30 00:00:00")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
        columns = {c["name"] for c in inspect(conn).get_columns("api_tokens")}
    assert "expires_at" not in columns and "revoked_at" in columns
    engine.dispose()
