"""An upgrade step: bind indicator systems to the cycles opened before bindings existed.

A database from before year-bound systems has cycles with no ``systems.bind`` fact and
systems without a ``year``; those years were scored with whatever system was in force
when their results were computed. :func:`backfill_bindings` records, for every cycle
and category that has no binding yet, the system that was in force then — a system of
that year in force now if there is one; else the system without a year that was in
force at the cycle's first computation (or now, for a cycle not computed yet), with its
data as it was at that moment, replayed from its history. Each is a ``systems.bind``
fact written as ``system`` with the reason, so the upgrade is in the chain like any
binding; a second run finds every category bound and writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from .authz import Actor
from .clock import to_local, utcnow
from .db import Database
from .indicator_systems import (LIVE_STATES, SYSTEM_KEY, _bind, _systems, bound_systems,
                                year_of)
from .instances import is_fact
from .models import HistoryEntry
from .scoring_models import Cycle, ResultRow

_h, _c, _r = HistoryEntry.__table__, Cycle.__table__, ResultRow.__table__


def _as_of(conn: Connection, system_id: int, moment: datetime) -> tuple[str, dict, str] | None:
    """The system's state, data and chain hash at ``moment`` (None: not yet created)."""
    state, data, hash_ = None, {}, None
    for trigger, to_state, patch, entry_hash in conn.execute(
            select(_h.c.trigger, _h.c.to_state, _h.c.data_patch, _h.c.hash)
            .where(_h.c.instance_id == system_id, _h.c.at <= moment).order_by(_h.c.seq)):
        if patch and not is_fact(trigger):
            data.update(patch)
        state, hash_ = to_state, entry_hash
    return None if state is None else (state, data, hash_)


def _candidates(conn: Connection, rows: list[Any], year: int,
                moment: datetime) -> dict[str, tuple[int, dict, str, str]]:
    """Per category: (system id, data, hash, reason) of the system to bind."""
    found: dict[str, tuple[int, dict, str, str]] = {}
    for r in rows:  # systems of the year, in force now
        data = r.data or {}
        if year_of(data) == year and r.state in LIVE_STATES and data.get("category"):
            found.setdefault(data["category"], (r.id, data, r.last_hash,
                                                  f"升级时补记:{year} 年度执行中的指标体系 — "
                                                  f"backfilled at upgrade: the {year} system "
                                                  f"in force"))
    when = to_local(moment).strftime("%Y-%m-%d %H:%M")
    for r in rows:  # systems without a year, in force at the moment of scoring
        if year_of(r.data or {}) is not None:
            continue
        then = _as_of(conn, r.id, moment)
        if then is None or then[0] != "in_force" or not then[1].get("category"):
            continue
        found.setdefault(then[1]["category"], (r.id, then[1], then[2],
                                               f"升级时补记:{when} 计算结果时执行中的指标体系 — "
                                               f"backfilled at upgrade: the system in force "
                                               f"at {when}"))
    return found


def backfill_bindings(db: Database) -> int:
    """Bind, for every cycle, each category it has no binding for (see the module
    docstring); returns how many bindings were recorded."""
    actor, written = Actor.system(), 0
    with db.write() as conn:
        rows = _systems(conn)
        if not rows:
            return 0
        for cycle_id, year, instance_id in conn.execute(
                select(_c.c.id, _c.c.year, _c.c.instance_id).order_by(_c.c.year)).all():
            moment = conn.execute(select(func.min(_r.c.computed_at)).where(
                _r.c.cycle_id == cycle_id)).scalar() or utcnow()
            bound = bound_systems(conn, instance_id)
            for category, (system_id, data, hash_, reason) in sorted(
                    _candidates(conn, rows, year, moment).items()):
                if category in bound:
                    continue
                _bind(conn, db, instance_id, system_id,
                      {**data, "year": year_of(data) or year}, hash_, actor, "system", reason)
                written += 1
    return written


__all__ = ["SYSTEM_KEY", "backfill_bindings"]
