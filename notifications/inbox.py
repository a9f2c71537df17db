"""The in-app inbox (站内通知): per user, newest first, unread count, mark read.

Entries are written by the dispatcher's fan-out (exactly one per event and user);
this module only reads them and marks them read. Every function takes the user id of
the signed-in user and touches only that user's entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select, update

from engine.clock import utcnow
from engine.db import Database

from .models import InboxEntry

_n = InboxEntry.__table__


@dataclass(frozen=True)
class InboxItem:
    """One notification as the inbox page shows it."""

    id: int
    event: str
    title: str
    body: str
    link: str
    instance_id: int | None
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        """True until the user has read it."""
        return self.read_at is None


def list_inbox(db: Database, user_id: int, *, unread_only: bool = False, limit: int = 50,
               before_id: int | None = None) -> list[InboxItem]:
    """The user's notifications, newest first; page with ``before_id``."""
    query = select(_n.c.id, _n.c.template, _n.c.title, _n.c.body, _n.c.link,
                   _n.c.instance_id, _n.c.created_at, _n.c.read_at).where(
        _n.c.user_id == user_id)
    if unread_only:
        query = query.where(_n.c.read_at.is_(None))
    if before_id is not None:
        query = query.where(_n.c.id < before_id)
    with db.read() as conn:
        rows = conn.execute(query.order_by(_n.c.id.desc()).limit(limit)).all()
    return [InboxItem(*row) for row in rows]


def unread_count(db: Database, user_id: int) -> int:
    """How many of the user's notifications are unread."""
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(_n).where(
            _n.c.user_id == user_id, _n.c.read_at.is_(None))).scalar_one()


def mark_read(db: Database, user_id: int, ids: Iterable[int]) -> int:
    """Mark the user's entries ``ids`` read (others' ids are ignored); returns how
    many changed."""
    ids = list(ids)
    if not ids:
        return 0
    with db.write() as conn:
        return conn.execute(update(_n).where(_n.c.user_id == user_id, _n.c.id.in_(ids),
                                             _n.c.read_at.is_(None))
                            .values(read_at=utcnow())).rowcount


def mark_all_read(db: Database, user_id: int) -> int:
    """Mark every unread entry of the user read; returns how many changed."""
    with db.write() as conn:
        return conn.execute(update(_n).where(_n.c.user_id == user_id, _n.c.read_at.is_(None))
                            .values(read_at=utcnow())).rowcount
