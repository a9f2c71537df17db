"""Fixtures and a small client helper for the web UI tests (SQLite, CSRF on)."""

from __future__ import annotations

import re
import shutil

import pytest

from engine import Database, actor_for, add_user, fire, start, update_data
from web.app import create_app

PASSWORD = "correct-horse-1"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def web_db(sqlite_template, tmp_path):
    """A fresh copy of the seeded SQLite template (3 units, 6 users)."""
    path = tmp_path / "web.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    add_user(database, "admin", PASSWORD, ["admin"])
    yield database
    database.dispose()


@pytest.fixture
def app(web_db, tmp_path):
    """The application on ``web_db``, CSRF protection on."""
    return create_app({"TESTING": True, "DB": web_db, "SECRET_KEY": "test-secret",
                       "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})


class Client:
    """A test client that signs in and sends the CSRF token with every POST."""

    def __init__(self, app, username: str | None = None) -> None:
        self.http = app.test_client()
        self.token = None
        if username:
            self.login(username)

    def refresh_token(self, path: str = "/login") -> str:
        page = self.http.get(path)
        self.token = TOKEN.search(page.get_data(as_text=True)).group(1)
        return self.token

    def login(self, username: str, password: str = PASSWORD):
        self.refresh_token("/login")
        response = self.http.post("/login", data={"username": username, "password": password,
                                                  "csrf_token": self.token})
        if response.status_code == 302:
            self.refresh_token("/")
        return response

    def get(self, path: str, **kwargs):
        return self.http.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs):
        body = dict(data or {})
        body.setdefault("csrf_token", self.token)
        return self.http.post(path, data=body, **kwargs)


@pytest.fixture
def client_for(app):
    """``client_for("office")`` — a signed-in :class:`Client`."""
    return lambda username=None: Client(app, username)


@pytest.fixture
def plan(web_db):
    """Unit 101's performance plan, drafted with goals and measures (version 2)."""
    staff = actor_for(web_db, "staff101")
    result = start(web_db, "performance_plan", staff, unit_code="101")
    update_data(web_db, result.instance_id, staff, {"goals": "投资增长8%", "measures": "项目清单化"})
    return result.instance_id


@pytest.fixture
def plan_102(web_db):
    """Unit 102's performance plan, in draft."""
    office = actor_for(web_db, "office")
    return start(web_db, "performance_plan", office, unit_code="102").instance_id


def advance(db, instance_id: int, *steps: tuple[str, str, str | None]) -> None:
    """Fire ``(trigger, username, comment)`` steps through the engine."""
    for trigger, username, comment in steps:
        fire(db, instance_id, trigger, actor_for(db, username), comment=comment)


def count_queries(db: Database, client, path: str, *, warm: bool = True) -> int:
    """The SQL statements one GET of ``path`` runs (asserting it answers 200); by default
    after a first GET that warms the per-process caches (compiled definitions, calendar)."""
    from sqlalchemy import event

    if warm:
        client.get(path)
    statements = []

    def _record(conn, cursor, statement, *args):  # noqa: ARG001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", _record)
    return len(statements)
