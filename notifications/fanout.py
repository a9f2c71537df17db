"""Expand outbox events into inbox entries and deliveries, exactly once per event.

One write transaction per batch: claim pending events (PostgreSQL ``FOR UPDATE SKIP
LOCKED``; on SQLite the write transaction itself is exclusive — ``BEGIN IMMEDIATE``),
compute each event's recipients and messages, insert the in-app entries (unique per
event and user) and the deliveries (unique key per event, channel and recipient),
and mark the events ``dispatched`` with a conditional UPDATE. It all commits together
or not at all, so an event is either still pending or fully expanded; several
dispatchers never expand one event twice, and a re-expansion (after ``perfeval outbox
retry``) inserts nothing that already exists.

An event that cannot be expanded (say, its instance is gone) is logged, retried with
backoff and after ``max_attempts`` becomes a dead letter; it never blocks the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, case, or_, select, update

from engine.clock import to_local
from engine.db import Database
from engine.models import OutboxMessage

from .config import DispatchConfig
from .context import ContextBuilder
from .events import DIGEST_EVENTS, audience, classify
from .models import Delivery, InboxEntry
from .recipients import Directory, Recipient
from .render import render_inapp
from .sql import insert_ignoring_duplicates, lock_skipping

log = logging.getLogger(__name__)
#: Rows one fan-out transaction writes at most (plus one event's worth): on SQLite the
#: transaction holds the database's write lock, which ``fire()`` waits for.
ROW_BUDGET = 2000
_o, _d, _n = OutboxMessage.__table__, Delivery.__table__, InboxEntry.__table__


@dataclass
class Expansion:
    """The rows one batch of events expands into."""

    inbox: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    done: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


def digest_day(at: datetime, config: DispatchConfig) -> date:
    """The digest a reminder raised at ``at`` goes into: that local day's, or the next
    day's once the day's digest hour has passed."""
    local = to_local(at)
    return local.date() + timedelta(days=1 if local.hour >= config.digest_hour else 0)


def _deliveries(row, event: str, params: dict, recipients: list[Recipient],
                directory: Directory, roles, unit_id, now: datetime,
                config: DispatchConfig) -> list[dict[str, Any]]:
    base = {"event_id": row.id, "template": event, "params": params, "attempts": 0,
            "retry_base": 0, "next_attempt_at": now, "created_at": now, "status": "pending",
            "digest_day": None, "endpoint_id": None}
    out = []
    for r in recipients:
        if r.email_on and r.email:
            held = r.digest and event in DIGEST_EVENTS
            out.append({**base, "key": f"{row.dedupe_key}:email:u{r.user_id}",
                        "user_id": r.user_id, "channel": "email", "address": r.email, "locale": r.locale,
                        "status": "held" if held else "pending",
                        "digest_day": digest_day(row.created_at, config) if held else None})
        for e in directory.personal_endpoints(r.user_id) if r.webhook_on else ():
            out.append({**base, "key": f"{row.dedupe_key}:webhook:e{e['id']}",
                        "user_id": r.user_id, "endpoint_id": e["id"], "channel": "webhook",
                        "address": e["url"], "locale": r.locale})
    for e in directory.group_endpoints(roles, unit_id):
        out.append({**base, "key": f"{row.dedupe_key}:webhook:e{e['id']}", "user_id": None,
                    "endpoint_id": e["id"], "channel": "webhook", "address": e["url"],
                    "locale": e["locale"]})
    return out


def expand_event(row, builder: ContextBuilder, directory: Directory, now: datetime,
                 config: DispatchConfig, out: Expansion) -> None:
    """Add the inbox entries and deliveries of one outbox ``row`` to ``out`` — all of
    them, or (when this raises) none."""
    payload, recipients = dict(row.payload or {}), dict(row.recipients or {})
    params = builder.build(row.kind, payload, row.created_at)
    today = to_local(row.created_at).date().isoformat()
    event = classify(row.kind, payload, due_today=params.get("deadline") == today)
    params["event"] = event
    roles = audience(event, row.kind, recipients, payload) or tuple(params["next_roles"])
    unit_id = recipients.get("unit_id", params["unit_id"])
    users = directory.users(roles, unit_id, exclude=payload.get("actor"))
    inbox = []
    for r in users:
        title, body = render_inapp(event, r.locale, params)
        inbox.append({"event_id": row.id, "user_id": r.user_id, "created_at": now,
                          "instance_id": params["instance_id"], "template": event,
                          "locale": r.locale, "title": title[:500], "body": body,
                          "link": params["link"], "params": params, "read_at": None})
    deliveries = _deliveries(row, event, params, users, directory, roles, unit_id, now, config)
    note = None if users or directory.group_endpoints(roles, unit_id) else \
        f"无收件人 — no recipients hold {', '.join(roles) or '(no roles)'}"
    out.inbox += inbox
    out.deliveries += deliveries
    out.done.append({"e_id": row.id, "e_note": note})


def _claim(conn: Connection, now: datetime, batch: int) -> list:
    due = (_o.c.status == "pending") & or_(_o.c.next_attempt_at.is_(None),
                                           _o.c.next_attempt_at <= now)
    query = select(_o).where(due).order_by(_o.c.id).limit(batch)
    return list(conn.execute(lock_skipping(conn, query)))


def _finish(conn: Connection, out: Expansion, now: datetime, config: DispatchConfig) -> None:
    insert_ignoring_duplicates(conn, _n, out.inbox, ("event_id", "user_id"))
    insert_ignoring_duplicates(conn, _d, out.deliveries, ("key",))
    if out.done:
        conn.execute(update(_o).where(_o.c.id == bindparam("e_id"), _o.c.status == "pending")
                     .values(status="dispatched", sent_at=now, attempts=_o.c.attempts + 1,
                             last_error=bindparam("e_note")), out.done)
    if out.failed:
        conn.execute(update(_o).where(_o.c.id == bindparam("e_id")).values(
            attempts=_o.c.attempts + 1, last_error=bindparam("e_error"),
            next_attempt_at=bindparam("e_next"),
            status=case((_o.c.attempts + 1 >= config.max_attempts, "dead"), else_="pending")),
            out.failed)


def expand_batch(db: Database, directory: Directory | None, now: datetime,
                 config: DispatchConfig) -> tuple[Expansion, Directory | None]:
    """Claim and expand one batch of due events (see the module docstring)."""
    out = Expansion()
    with db.write() as conn:
        rows = _claim(conn, now, config.batch)
        if not rows:
            return out, directory
        directory = directory or Directory.load(conn)
        builder = ContextBuilder(db, conn, config.base_url)
        for row in rows:
            if len(out.inbox) + len(out.deliveries) >= ROW_BUDGET:
                break  # the rest stay pending for the next batch: keep the lock short
            try:
                expand_event(row, builder, directory, now, config, out)
            except Exception as exc:  # noqa: BLE001 - one broken event must not block the rest
                log.exception("outbox event %s (%s) could not be expanded", row.id,
                              row.dedupe_key)
                out.failed.append({"e_id": row.id, "e_error": f"{exc.__class__.__name__}: {exc}",
                                   "e_next": now + config.backoff(row.attempts + 1)})
        _finish(conn, out, now, config)
    return out, directory
