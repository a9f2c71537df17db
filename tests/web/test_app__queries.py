"""Queries per page do not grow with the number of units (dashboard, My tasks)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from engine import actor_for, start
from engine.models import Unit
from web_support import app, client_for, web_db  # noqa: F401

PAGES = ("/", "/office/", "/instances/", "/audit/")


def _count(db, client, path: str) -> int:
    client.get(path)  # warm the per-process caches (compiled definitions, calendar)
    statements = []

    def _record(conn, cursor, statement, *args):  # noqa: ARG001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", _record)
    return len(statements)


def _add_units(db, first: int, n: int) -> None:
    codes = [f"9{i:03d}" for i in range(first, first + n)]
    with db.write_session() as session:
        session.add_all(Unit(code=c, name=f"单位{c}", category="县直单位") for c in codes)
    office = actor_for(db, "office")
    for code in codes:
        start(db, "performance_plan", office, unit_code=code)


@pytest.mark.parametrize("path", PAGES)
def test_queries_per_page_do_not_grow_with_units(web_db, client_for, path):
    client = client_for("office")
    _add_units(web_db, 0, 3)
    small = _count(web_db, client, path)
    _add_units(web_db, 3, 40)
    large = _count(web_db, client, path)
    assert large == small
