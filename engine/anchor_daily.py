"""The daily anchor the scheduler writes and delivers to the auditors.

Once a day, at ``PERFEVAL_ANCHOR_TIME`` (local ``HH:MM``, default 02:00 in
``PERFEVAL_TIMEZONE``, Asia/Shanghai) and only when a signing key is configured
(``PERFEVAL_ANCHOR_KEY``), :class:`DailyAnchor` writes a signed anchor
(:func:`engine.anchor.build`) and, in one transaction with its ``audit_anchors`` row, an
outbox row of kind ``audit_anchor`` (dedupe key ``audit_anchor:<local day>``, recipients:
the ``auditor`` role) whose payload carries the anchor file; the notifications dispatcher
puts it in the auditors' inbox and mails it (the anchor JSON in the body). A scheduler
that was down at that time writes the day's anchor at its first tick after; several
schedulers write it once (the dedupe key). When the history does not verify, no anchor
is written and the auditors get the same kind of message saying so.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from .anchor import ChainsBroken, build, document_text, store
from .anchor_keys import configured_key_path, signing_key
from .clock import pinned, to_local, utcnow
from .db import Database
from .exceptions import InvalidInput
from .models import OutboxMessage

log = logging.getLogger(__name__)
TIME_ENV = "PERFEVAL_ANCHOR_TIME"
DEFAULT_TIME = "02:00"
OUTBOX_KIND = "audit_anchor"
RECIPIENTS = {"roles": ["auditor"], "unit_id": None}
_o = OutboxMessage.__table__


def anchor_time(value: str | None = None) -> time:
    """The local time of day the daily anchor is written (``HH:MM``)."""
    text = value or os.environ.get(TIME_ENV) or DEFAULT_TIME
    try:
        hour, minute = (int(part) for part in text.split(":"))
        return time(hour, minute)
    except ValueError:
        raise InvalidInput(f"{TIME_ENV} 须为 HH:MM — {TIME_ENV} must be HH:MM, not {text!r}",
                           setting=TIME_ENV) from None


def dedupe_key(day: date) -> str:
    """The outbox dedupe key of ``day``'s anchor."""
    return f"{OUTBOX_KIND}:{day.isoformat()}"


def _payload(day: date, anchor_id: int | None, doc: dict | None, problem: str | None) -> dict:
    if doc is None:
        return {"day": day.isoformat(), "ok": False, "problem": problem}
    body = doc["body"]
    return {"day": day.isoformat(), "ok": True, "anchor_id": anchor_id,
            "moment": body["moment"], "instances": body["instances"],
            "entries": body["entries"], "merkle_root": body["merkle_root"],
            "key_id": doc["signature"]["key_id"], "document": document_text(doc)}


def write_daily(db: Database, key, now: datetime | None = None) -> int | None:
    """Write ``now``'s local day's anchor and its outbox row, unless that day's exists;
    the anchor's id, or None (already written, or the history does not verify)."""
    now = now or utcnow()
    day = to_local(now).date()
    key_name = dedupe_key(day)
    with db.read() as conn:
        if conn.execute(select(_o.c.id).where(_o.c.dedupe_key == key_name)).first():
            return None
    doc, problem = None, None
    with pinned(now):
        try:
            doc = build(db, key)
        except ChainsBroken as exc:
            problem = exc.message
    try:
        with db.write() as conn:
            anchor_id = store(conn, doc, origin="daily", created_by="system") if doc else None
            conn.execute(insert(_o), {
                "instance_id": None, "kind": OUTBOX_KIND, "dedupe_key": key_name,
                "recipients": RECIPIENTS, "payload": _payload(day, anchor_id, doc, problem),
                "status": "pending", "attempts": 0, "created_at": now})
    except IntegrityError:  # another scheduler wrote the day's anchor first
        return None
    if problem:
        log.error("daily anchor not written: %s", problem)
    return anchor_id


@dataclass
class DailyAnchor:
    """The scheduler's daily job; call it on every tick (cheap until it is due)."""

    db: Database
    key_path: str
    at: time
    last_day: date | None = None

    @classmethod
    def from_env(cls, db: Database) -> "DailyAnchor | None":
        """The job, when a signing key is configured; None otherwise."""
        path = configured_key_path()
        return cls(db, path, anchor_time()) if path else None

    def due(self, now: datetime) -> bool:
        """True once the local anchor time has passed on a day not yet done here."""
        local = to_local(now)
        return local.time() >= self.at and local.date() != self.last_day

    def __call__(self, now: datetime | None = None) -> int | None:
        """Write the day's anchor when due; its id, or None."""
        now = now or utcnow()
        if not self.due(now):
            return None
        self.last_day = to_local(now).date()  # one attempt a day, even when it fails
        return write_daily(self.db, signing_key(self.key_path), now)
