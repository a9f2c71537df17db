"""An appeal recorded as :func:`engine.appeals.file_appeal` records one, without a
published year, for tests about an appeal's field rights and decisions (not about
filing): the same low-level insert, a unit's head as the filer, ``item`` and
``filed_in_time`` given as the engine would compute them. A plain ``start`` of an
appeal is refused for every actor."""

from __future__ import annotations

from sqlalchemy import select

from engine import actor_for
from engine.clock import utcnow
from engine.instances import create_instances
from engine.models import Unit
from engine.registry import latest


def seed_appeal(db, unit_code: str, grounds: str, *, item: str = "K1",
                filed_in_time: str = "yes", filer: str = "head101") -> int:
    """The id of a new ``filed`` appeal of ``unit_code`` (no parent cycle)."""
    comp = latest(db, "appeal")
    with db.write() as conn:
        unit = conn.execute(select(Unit.id).where(Unit.code == unit_code)).scalar_one()
        [instance_id] = create_instances(conn, db, comp, actor_for(db, filer), "unit_head", [
            {"subject_unit_id": unit, "parent_id": None,
             "data": {"grounds": grounds, "item": item, "filed_in_time": filed_in_time}}],
            utcnow())
    return instance_id
