"""Fixtures of the notification tests: people with mail addresses, a plan, a fake
channel, a real SMTP server. The ``db`` fixture (tests/conftest.py) runs each test on
SQLite and PostgreSQL; helpers live in ``notify_support.py``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import actor_for, start
from engine.models import Unit, User
from notify_support import FakeChannel, SmtpServer

PEOPLE = (  # username, roles, unit, display name
    ("zhang", ("unit_staff",), "101", "张明"),
    ("chen", ("unit_head",), "101", "陈刚"),
    ("liu", ("unit_head",), "102", "刘洋"),
    ("wang", ("office",), None, "王主任"),
    ("li", ("leader",), None, "李书记"),
)


@pytest.fixture
def people(db):
    """Users with e-mail addresses (on top of the seeded, address-less ones): ids.
    Inserted directly: these users never sign in, so no slow password hashing."""
    with db.write_session() as session:
        units = dict(session.execute(select(Unit.code, Unit.id)).all())
        users = [User(username=name, password_hash="!", roles=list(roles),
                      unit_id=units.get(unit), display_name=display,
                      email=f"{name}@perfeval.test") for name, roles, unit, display in PEOPLE]
        session.add_all(users)
        session.flush()
        return {u.username: u.id for u in users}


@pytest.fixture
def staff(db, people):
    """Actors of the mail users, by username."""
    return {name: actor_for(db, name) for name in people}


@pytest.fixture
def plan(db, staff):
    """A performance plan of unit 101 in ``draft`` with its fields filled in."""
    return start(db, "performance_plan", staff["zhang"], unit_code="101",
                 data={"goals": "全年固定资产投资增长8%", "measures": "项目清单化"}).instance_id


@pytest.fixture
def fake():
    """A fake email channel that accepts everything."""
    return FakeChannel()


@pytest.fixture
def smtp():
    """A running SMTP server (stopped at the end of the test)."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
