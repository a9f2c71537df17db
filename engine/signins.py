"""Sign-in records (``login_events``) and the administrators' change log (``admin_events``).

Every sign-in attempt, password confirmation and sign-out is one ``login_events``
row: when, the user name as typed, the user id when known, the client address, the
(truncated) user agent and the outcome. Login throttling is derived from these rows
(:func:`failures_since`), not from process memory, so it holds across several web
workers and restarts.

``admin_events`` records what an administrator changed (roles, unit, active flag,
password resets, calendar overrides): who, when, on whom, and the before/after values.
It is written in the same transaction as the change itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Column, Connection, DateTime, Integer, MetaData,
                        String, Table, and_, func, insert, select)

from .clock import utcnow
from .db import Database
from .paging import page_count

log = logging.getLogger(__name__)

KINDS = ("login", "confirm", "logout")
OUTCOMES = ("success", "bad_password", "unknown_user", "inactive", "locked", "logout")
FAILURES = ("bad_password", "unknown_user", "inactive")
AGENT_MAX = 200

_Id = BigInteger().with_variant(Integer(), "sqlite")
_meta = MetaData()
login_events = Table(
    "login_events", _meta,
    Column("id", _Id, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("username", String(64), nullable=False),
    Column("user_id", _Id),
    Column("address", String(64), nullable=False),
    Column("user_agent", String(AGENT_MAX), nullable=False),
)
admin_events = Table(
    "admin_events", _meta,
    Column("id", _Id, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("actor_id", _Id),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target_user_id", _Id),
    Column("target", String(200), nullable=False),
    Column("details", JSON, nullable=False),
)
_le, _ae = login_events, admin_events


@dataclass(frozen=True)
class Page:
    """One page of a newest-first listing."""

    rows: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least 1)."""
        return page_count(self.total, self.per_page)


def record_login(db: Database, *, kind: str, outcome: str, username: str,
                 user_id: int | None, address: str, user_agent: str = "") -> bool:
    """Store one attempt in its own transaction; True when stored. A failure to store
    is logged, never raised: signing in must not depend on the record."""
    values = {"at": utcnow(), "kind": kind, "outcome": outcome, "username": username[:64],
              "user_id": user_id, "address": (address or "-")[:64],
              "user_agent": (user_agent or "")[:AGENT_MAX]}
    try:
        with db.write() as conn:
            conn.execute(insert(_le).values(**values))
    except Exception:  # noqa: BLE001 - the attempt goes on; the log keeps the trace
        log.exception("could not record %s %s for %r", kind, outcome, username)
        return False
    return True


def failures_since(db: Database, since: datetime, *, address: str,
                   username: str | None = None) -> int:
    """Failed sign-ins and confirmations from ``address`` (for ``username`` when given)
    after ``since`` and after that pair's last success."""
    where = [_le.c.address == address, _le.c.at > since]
    if username is not None:
        where.append(_le.c.username == username)
    with db.read() as conn:
        if username is not None:
            last_ok = conn.execute(select(func.max(_le.c.at)).where(
                *where, _le.c.outcome == "success")).scalar()
            if last_ok is not None:
                where.append(_le.c.at > last_ok)
        return int(conn.execute(select(func.count()).select_from(_le).where(
            and_(*where), _le.c.outcome.in_(FAILURES))).scalar() or 0)


def list_login_events(db: Database, *, username: str = "", outcome: str = "",
                      page: int = 1, per_page: int = 50) -> Page:
    """Sign-in records, newest first, optionally for one user name and/or outcome."""
    where = []
    if username:
        where.append(_le.c.username == username)
    if outcome:
        where.append(_le.c.outcome == outcome)
    page = max(1, page)
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(_le).where(*where)).scalar()
        rows = conn.execute(select(_le).where(*where).order_by(_le.c.at.desc(), _le.c.id.desc())
                            .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(rows, page, per_page, int(total or 0))


def record_admin_event(conn: Connection, *, actor_id: int | None, actor: str, action: str,
                       target: str, details: dict[str, Any],
                       target_user_id: int | None = None) -> None:
    """Append one administrator change, inside the caller's transaction."""
    conn.execute(insert(_ae).values(at=utcnow(), actor_id=actor_id, actor=actor[:64],
                                    action=action, target_user_id=target_user_id,
                                    target=target[:200], details=details))


def list_admin_events(db: Database, *, target_user_id: int | None = None, action: str = "",
                      page: int = 1, per_page: int = 50) -> Page:
    """Administrator changes, newest first (for one user, or of one action)."""
    where = []
    if target_user_id is not None:
        where.append(_ae.c.target_user_id == target_user_id)
    if action:
        where.append(_ae.c.action == action)
    page = max(1, page)
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(_ae).where(*where)).scalar()
        rows = conn.execute(select(_ae).where(*where).order_by(_ae.c.at.desc(), _ae.c.id.desc())
                            .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(rows, page, per_page, int(total or 0))


def log_admin_event(db: Database, *, actor_id: int | None, actor: str, action: str,
                    target: str, details: dict[str, Any]) -> None:
    """Append one administrator action in its own transaction (for changes made by
    functions that own their transaction, such as the organisation imports)."""
    with db.write() as conn:
        record_admin_event(conn, actor_id=actor_id, actor=actor, action=action,
                           target=target, details=details)
