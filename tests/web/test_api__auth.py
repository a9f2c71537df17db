"""API authentication: personal tokens (API and CLI), the session with CSRF, and roles."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select, update

from engine.models import User
from web.api.tokens import api_tokens, digest
from web.cli import main
from api_support import api_for, error_of  # noqa: F401
from web_support import app, client_for, plan, web_db  # noqa: F401


def test_token_created_by_api_is_shown_once_stored_hashed_and_acts_as_its_user(
        client_for, api_for, app, web_db):
    session = client_for("head101")
    created = session.http.post("/api/v1/tokens", json={"name": "OA 系统"},
                                headers={"X-CSRFToken": session.token})
    assert created.status_code == 201
    body = created.get_json()
    secret = body["token"]
    with web_db.read() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == body["id"])).one()
    assert row.token_hash == digest(secret) and secret not in row._mapping.values()
    http = app.test_client()
    me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert me["username"] == "head101" and me["roles"] == ["unit_head"] and me["auth"] == "token"
    listed = api_for("head101").get("/api/v1/tokens").get_json()["items"]
    assert all("token" not in t for t in listed)
    used = next(t for t in listed if t["id"] == body["id"])
    assert used["last_used_at"] is not None and used["last_used_at"].endswith("+08:00")


def test_revoked_token_stops_working_and_others_cannot_revoke(api_for, app):
    owner, other = api_for("head101"), api_for("head102")
    token_id = owner.get("/api/v1/tokens").get_json()["items"][0]["id"]
    error_of(other.delete(f"/api/v1/tokens/{token_id}"), 404, "not_found")
    revoked = owner.delete(f"/api/v1/tokens/{token_id}")
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    error_of(owner.get("/api/v1/me"), 401, "unauthorized")
    admin = api_for("admin")
    other_id = other.get("/api/v1/tokens").get_json()["items"][0]["id"]
    assert admin.delete(f"/api/v1/tokens/{other_id}").status_code == 200
    error_of(admin.delete("/api/v1/tokens/999999"), 404, "not_found")


def test_token_follows_the_users_current_roles_and_active_flag(api_for, web_db, plan):
    api = api_for("head101")
    users = User.__table__
    with web_db.write() as conn:
        conn.execute(update(users).where(users.c.username == "head101")
                     .values(roles=["unit_staff"]))
    error_of(api.post(f"/api/v1/instances/{plan}/fire",
                      json={"trigger": "submit", "expected_version": 2}), 403, "not_permitted")
    with web_db.write() as conn:
        conn.execute(update(users).where(users.c.username == "head101").values(active=False))
    error_of(api.get("/api/v1/me"), 401, "unauthorized")


def test_token_name_and_validity_are_validated(client_for):
    session = client_for("office")

    def create(body):
        return session.http.post("/api/v1/tokens", json=body,
                                 headers={"X-CSRFToken": session.token})

    error_of(create({"name": ""}), 422, "invalid_input")
    error_of(create({"name": "x" * 101}), 422)
    for days in (0, 366, "30"):
        error_of(create({"name": "ok", "expires_days": days}), 422, "invalid_input")


def test_cli_creates_lists_and_revokes_tokens(app, web_db):
    runner, db_url = CliRunner(), str(web_db.engine.url)

    def run(*args):
        result = runner.invoke(main, [*args, "--db", db_url, "--json"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    created = run("tokens", "create", "office", "--name", "数据平台")
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert app.test_client().get("/api/v1/me", headers=headers).get_json()["username"] == "office"
    assert [t["id"] for t in run("tokens", "list")] == [created["id"]]
    assert run("tokens", "revoke", str(created["id"]))["revoked_at"]
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    missing = runner.invoke(main, ["tokens", "create", "nobody", "--db", db_url])
    assert missing.exit_code == 7


def test_session_reads_work_and_unsafe_methods_need_the_csrf_token(client_for, plan):
    client = client_for("head101")
    me = client.get("/api/v1/me").get_json()
    assert me["auth"] == "session"
    body = {"trigger": "submit", "expected_version": 2}
    error_of(client.http.post(f"/api/v1/instances/{plan}/fire", json=body), 400, "csrf_failed")
    ok = client.http.post(f"/api/v1/instances/{plan}/fire", json=body,
                          headers={"X-CSRFToken": client.token})
    assert ok.status_code == 200 and ok.get_json()["to_state"] == "submitted"


def test_bearer_requests_need_no_csrf_token_even_with_a_session_cookie(client_for, api_for,
                                                                       plan):
    client, token = client_for("staff101"), api_for("head101").secret
    fired = client.http.post(f"/api/v1/instances/{plan}/fire", json={
        "trigger": "submit", "expected_version": 2}, headers={"Authorization": f"Bearer {token}"})
    assert fired.status_code == 200


def test_role_checks_on_office_and_audit_endpoints(api_for):
    for user in ("staff101", "head101"):
        error_of(api_for(user).get("/api/v1/audit/verify"), 403, "forbidden")
        error_of(api_for(user).get("/api/v1/cycles/2026/progress"), 403, "forbidden")
    for user in ("auditor", "office", "admin"):
        assert api_for(user).get("/api/v1/audit/verify").get_json()["ok"] is True
