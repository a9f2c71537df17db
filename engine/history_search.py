"""History search for auditors: one query over every instance's history entries."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from .clock import local_to_utc
from .db import Database
from .models import HistoryEntry, Instance, Unit

_h, _i, _u = HistoryEntry.__table__, Instance.__table__, Unit.__table__


def search_history(db: Database, *, unit_code: str | None = None, actor: str | None = None,
                   key: str | None = None, trigger: str | None = None,
                   since: date | None = None, until: date | None = None,
                   limit: int = 200) -> list[dict]:
    """History entries matching every given filter, newest first (dates are local)."""
    query = (select(_h.c.id, _h.c.instance_id, _h.c.seq, _h.c.from_state, _h.c.to_state,
                    _h.c.trigger, _h.c.actor, _h.c.role, _h.c.at, _h.c.comment, _h.c.hash,
                    _i.c.definition_key, _u.c.code.label("unit_code"),
                    _u.c.name.label("unit_name"))
             .select_from(_h.join(_i, _i.c.id == _h.c.instance_id)
                          .outerjoin(_u, _u.c.id == _i.c.subject_unit_id))
             .order_by(_h.c.id.desc()).limit(limit))
    if unit_code:
        query = query.where(_u.c.code == unit_code)
    if actor:
        query = query.where(_h.c.actor == actor)
    if key:
        query = query.where(_i.c.definition_key == key)
    if trigger:
        query = query.where(_h.c.trigger == trigger)
    if since:
        query = query.where(_h.c.at >= local_to_utc(since))
    if until:
        query = query.where(_h.c.at < local_to_utc(until + timedelta(days=1)))
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
