"""engine.cycle_views.items_by_unit: the items of many units' results (what their
appeals may name) in a fixed number of queries, the same lists unit_items gives one
unit at a time."""

from __future__ import annotations

from sqlalchemy import event, select

from engine import Actor, fire, start
from engine.cycle_views import items_by_unit, unit_items
from engine.cycles import open_cycle
from engine.models import Unit

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
SYSTEMS = {"县直单位": [("K1", "重点工作", 60, "no"), ("K2", "自身建设", 40, "no"),
                        ("V1", "一票否决", 0, "yes")],
           "乡镇场": [("T1", "经济发展", 100, "no")]}


def _unit(db, code: str) -> int:
    with db.read() as conn:
        return conn.execute(select(Unit.id).where(Unit.code == code)).scalar_one()


def _in_force(db) -> None:
    """The 2026 cycle with a system of each category in force (bound to the year)."""
    open_cycle(db, 2026, OFFICE)
    for category, rows in SYSTEMS.items():
        indicators = [{"code": c, "name": n, "weight": w, "method": "direct", "veto": v,
                       "verifier": "县财政局"} for c, n, w, v in rows]
        iid = start(db, "indicator_system", OFFICE,
                    data={"year": 2026, "category": category,
                          "indicators": indicators}).instance_id
        for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                             ("approve", COMMITTEE), ("put_in_force", OFFICE)):
            fire(db, iid, trigger, who)


def test_each_units_items_as_unit_items_gives_them(db, actors):
    _in_force(db)
    u101, u201 = _unit(db, "101"), _unit(db, "201")
    found = items_by_unit(db, [u101, u201, u101], overall=True, year=2026)
    assert found == {u101: ["overall", "K1", "K2", "public", "leadership"],
                     u201: ["overall", "T1", "public", "leadership"]}
    assert found[u201] == unit_items(db, u201, overall=True)  # the newest cycle's
    assert items_by_unit(db, [u101], year=2025) == {u101: ["public", "leadership"]}  # none
    assert items_by_unit(db, [u101])[u101] == unit_items(db, u101) == [
        "K1", "K2", "public", "leadership"]  # veto items are not scored, so not listed
    assert items_by_unit(db, []) == {}


def test_the_same_queries_whatever_the_number_of_units(db, actors):
    _in_force(db)
    units = [_unit(db, code) for code in ("101", "102", "201")]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        items_by_unit(db, [actors["head101"].unit_id])
        one = len(statements)
        statements.clear()
        items_by_unit(db, units)
        two = len(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert one == two == 3  # the units' categories, the cycle, its bound systems
