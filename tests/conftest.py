"""Shared fixtures: a fresh, initialised database per test on SQLite and PostgreSQL.

Engine tests take the ``db`` fixture, which is parametrised over both databases. A
template (schema + bundled definitions + a small organisation) is built once per
session; each test gets a copy (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE``
on PostgreSQL). Without a PostgreSQL server the PostgreSQL half skips with the reason,
unless ``PERFEVAL_REQUIRE_PG=1`` (set by .ci/run), which turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine import Database, actor_for, add_user, init
from engine.models import Unit

PG_ADMIN_URL = os.environ.get("PERFEVAL_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("PERFEVAL_REQUIRE_PG") == "1"
PASSWORD = "correct-horse-1"

ORG_UNITS = (("101", "县发展和改革局", "县直单位"), ("102", "县财政局", "县直单位"),
             ("201", "城关镇", "乡镇场"))
ORG_USERS = (("staff101", ("unit_staff",), "101"), ("head101", ("unit_head",), "101"),
             ("head102", ("unit_head",), "102"), ("office", ("office",), None),
             ("auditor", ("auditor",), None),
             ("both101", ("unit_staff", "unit_head"), "101"))


def seed_org(db: Database) -> None:
    """The small organisation every engine test starts with."""
    with db.write_session() as session:
        session.add_all(Unit(code=c, name=n, category=k) for c, n, k in ORG_UNITS)
    for username, roles, unit in ORG_USERS:
        add_user(db, username, PASSWORD, roles, unit_code=unit)


def _prepare(url: str) -> None:
    db = Database(url)
    try:
        init(db)
        seed_org(db)
    finally:
        db.dispose()


def _pg_admin():
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    _prepare(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template():
    try:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"
        if REQUIRE_PG:
            pytest.fail(message + " (PERFEVAL_REQUIRE_PG=1)")
        pytest.skip(message)
    name = f"perfeval_tpl_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name)
    _prepare(url.render_as_string(hide_password=False))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh initialised database URL, once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "perfeval.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"perfeval_t_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db(db_url):
    """A :class:`engine.Database` on a fresh copy of the template."""
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def actors(db):
    """The seeded users as actors, by username."""
    return {u[0]: actor_for(db, u[0]) for u in ORG_USERS}
