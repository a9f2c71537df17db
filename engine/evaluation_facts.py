"""Writing evaluation facts: the common part of scores, vetoes, results and corrections.

Every change to the evaluation projections (``score_entries``, ``vetoes``, ``results``,
``result_changes``) is made on the same connection as a fact entry in the chain of the
year's ``evaluation_cycle`` instance (:func:`engine.instances.record_fact`), so both
commit together or not at all. Every fact payload has the same replayable shape (any
part may be missing), which :mod:`engine.facts_audit` replays:

``at``
    the moment (ISO 8601, UTC) the projection rows carry (``entered_at``,
    ``computed_at``, ``published_at``);
``scores``
    ``[{unit_id, unit, item, before, after}]`` — the entered value before and after
    (``before`` null for a new entry);
``vetoes_added`` / ``vetoes_removed``
    ``[{veto_id, unit_id, unit, item, reason}]``;
``results``
    ``[{unit_id, unit, revision, before, after}]`` — the stored result values
    (:meth:`engine.scoring.Result.values`) before (null: first computation) and after;
``published``
    ``{unit ids as text: moment}`` — the results published (or re-published) then.

The rest (``year``, ``reason``, ``source``, ``appeal_id``, ``decision``, ``item``) says
why. Decimal values are text, as in the tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import Connection, func, select

from .authz import Actor, denial, usable_role
from .db import Database
from .exceptions import NotFound, StageClosed
from .gates import require_stage
from .instances import record_fact
from .models import Instance
from .scoring_models import Cycle, ResultRow

_c, _r, _i = Cycle.__table__, ResultRow.__table__, Instance.__table__
FROZEN = ("{year} 年度考评结果已公布,只能通过申诉复核或更正 — the {year} results are published; "
          "a change goes only through an appeal decision or a correction")


def moment(value: datetime) -> str:
    """A stored moment as the text facts carry (naive UTC, microseconds)."""
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


def require_role(actor: Actor, roles: tuple[str, ...], action: str) -> str:
    """The role ``actor`` acts in among ``roles`` (organisation-wide), else NotPermitted."""
    role = usable_role(actor, roles, None)
    if role is None:
        raise denial(actor, roles, None, action)
    return role


def cycle_on(conn: Connection, year: int) -> dict[str, Any]:
    """The ``cycles`` row of ``year``, read on ``conn`` (NotFound when never opened)."""
    row = conn.execute(select(_c).where(_c.c.year == year)).first()
    if row is None:
        raise NotFound(f"{year} 年度考评尚未开启 — no cycle for {year}", year=year)
    return dict(row._mapping)


def cycle_of_instance(conn: Connection, instance_id: int) -> dict[str, Any] | None:
    """The ``cycles`` row whose cycle instance is ``instance_id``."""
    row = conn.execute(select(_c).where(_c.c.instance_id == instance_id)).first()
    return dict(row._mapping) if row is not None else None


def is_published(conn: Connection, cycle_id: int) -> bool:
    """Whether any result of the cycle has been published."""
    return bool(conn.execute(select(func.count()).select_from(_r).where(
        _r.c.cycle_id == cycle_id, _r.c.published_at.is_not(None))).scalar())


def lock_cycle(conn: Connection, cycle: dict[str, Any]) -> None:
    """Lock the cycle instance's row (``FOR UPDATE`` on PostgreSQL; SQLite serialises
    writers) so that the evaluation writes of one year, and the cycle's transitions,
    take turns: each reads the values before it and the stage it is gated by as they
    are when it commits."""
    conn.execute(select(_i.c.id).where(_i.c.id == cycle["instance_id"]).with_for_update())


def require_unpublished(conn: Connection, db: Database, cycle: dict[str, Any],
                        gate: str) -> None:
    """Lock the cycle, then refuse a step that would change a year whose results are
    published (frozen), or one the cycle's stage does not allow (both
    :class:`StageClosed`)."""
    lock_cycle(conn, cycle)
    if is_published(conn, cycle["id"]):
        state = require_stage_state(conn, cycle["instance_id"])
        raise StageClosed(FROZEN.format(year=cycle["year"]), gate=gate, stage=state,
                          needed_stages=[], year=cycle["year"], published=True)
    require_stage(conn, db, cycle["instance_id"], gate)


def require_stage_state(conn: Connection, instance_id: int) -> str:
    """The cycle instance's current state."""
    return conn.execute(select(_i.c.state).where(_i.c.id == instance_id)).scalar()


def record(conn: Connection, db: Database, cycle: dict[str, Any], kind: str, actor: Actor,
           role: str, payload: Mapping[str, Any], comment: str | None = None) -> None:
    """Append fact ``kind`` to the cycle's chain (with the year in the payload)."""
    record_fact(conn, db, cycle["instance_id"], kind, actor, role,
                {"year": cycle["year"], **payload}, comment=comment)
