"""Inspect deliveries and dead letters, and put dead letters back in the queue.

A dead letter is a delivery that exhausted its attempts or met a permanent error, or
(rarely) an outbox event that could not be expanded. Retrying gives it a fresh budget
of attempts and makes it due now; the attempts already made stay in the attempts
table (numbering goes on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select, update

from engine.clock import utcnow
from engine.db import Database
from engine.models import OutboxMessage, User

from .models import Delivery, DeliveryAttempt

_d, _a, _o, _u = (Delivery.__table__, DeliveryAttempt.__table__, OutboxMessage.__table__,
                  User.__table__)


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as ``perfeval outbox list`` shows it."""

    id: int
    status: str
    channel: str
    recipient: str
    event: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    key: str


def list_deliveries(db: Database, *, dead: bool = False, status: str | None = None,
                    limit: int = 100) -> list[DeliveryRow]:
    """Deliveries, newest first; ``dead`` (or ``status``) filters."""
    query = (select(_d.c.id, _d.c.status, _d.c.channel,
                    func.coalesce(_u.c.username, _d.c.address), _d.c.template, _d.c.attempts,
                    _d.c.next_attempt_at, _d.c.last_error, _d.c.key)
             .select_from(_d.outerjoin(_u, _u.c.id == _d.c.user_id)))
    if dead or status:
        query = query.where(_d.c.status == ("dead" if dead else status))
    with db.read() as conn:
        return [DeliveryRow(*r) for r in conn.execute(query.order_by(_d.c.id.desc()).limit(limit))]


def list_dead_events(db: Database) -> list[dict]:
    """Outbox events that could not be expanded after every attempt."""
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(_o.c.id, _o.c.kind, _o.c.dedupe_key, _o.c.attempts, _o.c.last_error)
            .where(_o.c.status == "dead").order_by(_o.c.id))]


def counts(db: Database) -> dict[str, int]:
    """Deliveries per status, plus ``events_pending`` and ``events_dead``."""
    with db.read() as conn:
        out = dict(conn.execute(select(_d.c.status, func.count()).group_by(_d.c.status)).all())
        for status in ("pending", "dead"):
            out[f"events_{status}"] = conn.execute(
                select(func.count()).select_from(_o).where(_o.c.status == status)).scalar_one()
    return out


def attempts_of(db: Database, delivery_id: int) -> list[dict]:
    """Every attempt at one delivery, oldest first (time, channel, outcome, error)."""
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(_a).where(_a.c.delivery_id == delivery_id).order_by(_a.c.number))]


def retry(db: Database, ids: Iterable[int] | None = None, *, all_dead: bool = False,
          now: datetime | None = None) -> int:
    """Make dead deliveries ``ids`` (or every dead delivery and dead event, with
    ``all_dead``) due again; returns how many were requeued."""
    now = now or utcnow()
    ids = list(ids or ())
    if not ids and not all_dead:
        return 0
    with db.write() as conn:
        query = update(_d).where(_d.c.status == "dead")
        if not all_dead:
            query = query.where(_d.c.id.in_(ids))
        changed = conn.execute(query.values(status="pending", retry_base=_d.c.attempts,
                                            next_attempt_at=now, claim_token=None)).rowcount
        if all_dead:
            changed += conn.execute(update(_o).where(_o.c.status == "dead").values(
                status="pending", attempts=0, next_attempt_at=now)).rowcount
    return changed
