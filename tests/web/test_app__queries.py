"""Queries per page do not grow with the number of units (dashboard, My tasks)."""

from __future__ import annotations

import pytest

from engine import actor_for, start
from engine.models import Unit
from web_support import app, client_for, count_queries, web_db  # noqa: F401

PAGES = ("/", "/office/", "/instances/", "/audit/")


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
    small = count_queries(web_db, client, path)
    _add_units(web_db, 3, 40)
    large = count_queries(web_db, client, path)
    assert large == small


def _cycle_units(db, parent: int, first: int, n: int) -> None:
    """``n`` more units with cycle plans, every other one submitted (office tasks)."""
    from engine import Actor, fire

    codes = [f"7{i:03d}" for i in range(first, first + n)]
    with db.write_session() as session:
        units = [Unit(code=c, name=f"单位{c}", category="乡镇场") for c in codes]
        session.add_all(units)
        session.flush()
        ids = [u.id for u in units]
    office = actor_for(db, "office")
    for k, (code, unit_id) in enumerate(zip(codes, ids)):
        iid = start(db, "performance_plan", office, unit_code=code, parent_id=parent,
                    data={"goals": "目标", "measures": "措施"}).instance_id
        if k % 2:
            fire(db, iid, "submit", Actor(None, f"head{code}", unit_id,
                                          frozenset({"unit_head"})))


@pytest.mark.parametrize(("user", "path"), [("office", "/office/"), ("office", "/"),
                                            ("head101", "/"), ("office", "/office/?page=1")])
def test_cycle_dashboard_and_tasks_queries_do_not_grow(web_db, client_for, user, path):
    from datetime import datetime

    from engine.cycles import open_cycle
    from engine.timers import sweep

    cycle = open_cycle(web_db, 2026, actor_for(web_db, "office"))
    client = client_for(user)
    _cycle_units(web_db, cycle.instance_id, 0, 3)
    sweep(web_db, datetime(2026, 4, 2, 2, 0))
    small = count_queries(web_db, client, path)
    _cycle_units(web_db, cycle.instance_id, 3, 30)
    sweep(web_db, datetime(2026, 4, 2, 2, 0))
    large = count_queries(web_db, client, path)
    assert large == small
