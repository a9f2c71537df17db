"""Send due deliveries: claim with a lease, send, record the attempt and the outcome.

Order for each delivery, and what a crash at each point means:

1. **claim** (one short write transaction per batch): a conditional UPDATE moves due
   rows — ``pending`` with ``next_attempt_at <= now``, or ``sending`` whose lease ran
   out — to ``sending``, sets a claim token, counts the attempt and sets
   ``next_attempt_at`` to the end of the lease; the same transaction marks any
   attempt left ``started`` by a dead dispatcher ``interrupted`` and inserts this
   attempt as ``started``. PostgreSQL skips rows other dispatchers hold (``SKIP
   LOCKED``); SQLite's ``BEGIN IMMEDIATE`` serialises claimers.
2. **send** (no transaction open, so ``fire()`` is never blocked by a slow server).
3. **record** (one short write transaction per delivery): ``sent``, or back to
   ``pending`` at ``now + backoff``, or ``dead`` after ``max_attempts`` or on a
   permanent error; the attempt gets its outcome and error.

A crash between 2 and 3 leaves the row ``sending``; when the lease expires another
dispatch claims it again and sends again, with the same Message-ID / idempotency key.
That is the only way a message is sent twice. An interrupted last attempt makes the
delivery a dead letter instead of a resend loop.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy import Connection, bindparam, select, text, update

from engine.db import Database
from engine.models import User

from .channels import Channel, DeliveryError, Outgoing
from .config import DispatchConfig
from .models import Delivery, DeliveryAttempt, WebhookEndpoint
from .sql import lock_skipping

log = logging.getLogger(__name__)
_d, _a = Delivery.__table__, DeliveryAttempt.__table__
_u, _w = User.__table__, WebhookEndpoint.__table__

INTERRUPTED = "发送过程中断,结果未知 — attempt interrupted (the dispatcher stopped); outcome unknown"


def _claim_rows(conn: Connection, channels: list[str], now: datetime, token: str,
                config: DispatchConfig) -> list:
    due = (_d.c.status.in_(("pending", "sending")) & (_d.c.next_attempt_at <= now)
           & _d.c.channel.in_(channels))
    ids = lock_skipping(conn, select(_d.c.id).where(due)
                        .order_by(_d.c.next_attempt_at, _d.c.id).limit(config.batch))
    claim = (update(_d).where(_d.c.id.in_(ids.scalar_subquery()), due)
             .values(status="sending", claim_token=token, attempts=_d.c.attempts + 1,
                     next_attempt_at=now + config.lease)
             .returning(_d.c.id, _d.c.key, _d.c.channel, _d.c.address, _d.c.template,
                        _d.c.locale, _d.c.params, _d.c.attempts, _d.c.retry_base,
                        _d.c.user_id, _d.c.endpoint_id))
    return sorted(conn.execute(claim), key=lambda r: r.id)


def _lookups(conn: Connection, rows: list) -> tuple[dict[int, str], dict[int, dict]]:
    user_ids = {r.user_id for r in rows if r.user_id is not None}
    endpoint_ids = {r.endpoint_id for r in rows if r.endpoint_id is not None}
    names = dict(conn.execute(select(_u.c.id, _u.c.display_name)
                              .where(_u.c.id.in_(user_ids))).all()) if user_ids else {}
    endpoints = {e.id: dict(e._mapping) for e in conn.execute(
        select(_w).where(_w.c.id.in_(endpoint_ids)))} if endpoint_ids else {}
    return names, endpoints


def claim(db: Database, channels: list[str], now: datetime, config: DispatchConfig,
          token: str) -> tuple[list[Outgoing], int]:
    """Claim up to ``config.batch`` due deliveries of ``channels``; returns what to
    send and how many interrupted last attempts were dead-lettered instead."""
    with db.write() as conn:
        rows = _claim_rows(conn, channels, now, token, config)
        if not rows:
            return [], 0
        ids = [r.id for r in rows]
        conn.execute(update(_a).where(_a.c.delivery_id.in_(ids), _a.c.outcome == "started")
                     .values(outcome="interrupted", finished_at=now, error=INTERRUPTED))
        exhausted = [r for r in rows if r.attempts - r.retry_base > config.max_attempts]
        if exhausted:
            conn.execute(update(_d).where(_d.c.id.in_([r.id for r in exhausted])).values(
                status="dead", claim_token=None, next_attempt_at=now, last_error=INTERRUPTED))
        rows = [r for r in rows if r.attempts - r.retry_base <= config.max_attempts]
        if rows:
            conn.execute(_a.insert(), [
                {"delivery_id": r.id, "number": r.attempts, "channel": r.channel,
                 "worker": config.worker, "started_at": now, "outcome": "started"}
                for r in rows])
        names, endpoints = _lookups(conn, rows)
    return [Outgoing(r.id, r.key, r.channel, r.address, r.template, r.locale, r.params,
                     r.attempts, now, names.get(r.user_id, ""), endpoints.get(r.endpoint_id, {}),
                     r.attempts - r.retry_base) for r in rows], len(exhausted)


# Recording an outcome need not wait for the WAL flush on PostgreSQL: if the server
# itself crashed before flushing, the delivery would still be "sending" and be sent
# again after its lease (same Message-ID) — the at-least-once case that exists anyway.
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")
_RECORD_DELIVERY = (update(_d).where(_d.c.id == bindparam("r_id"),
                                     _d.c.claim_token == bindparam("r_token"))
                    .values(claim_token=None, status=bindparam("r_status"),
                            sent_at=bindparam("r_sent_at"), last_error=bindparam("r_error"),
                            next_attempt_at=bindparam("r_next")))
_RECORD_ATTEMPT = (update(_a).where(_a.c.delivery_id == bindparam("r_id"),
                                    _a.c.number == bindparam("r_number"))
                   .values(outcome=bindparam("r_outcome"), finished_at=bindparam("r_at"),
                           error=bindparam("r_attempt_error")))


def record(conn: Connection, message: Outgoing, token: str, now: datetime,
           error: DeliveryError | None, config: DispatchConfig) -> str:
    """Store the outcome of one attempt; returns ``sent``, ``failed`` or ``dead``."""
    params = {"r_id": message.delivery_id, "r_token": token, "r_number": message.attempt,
              "r_at": now, "r_sent_at": None, "r_next": now, "r_error": None,
              "r_attempt_error": None}
    if error is None:
        outcome = params["r_status"] = "sent"
        params["r_sent_at"] = now
    else:
        dead = error.permanent or message.tries >= config.max_attempts
        outcome = "dead" if dead else "failed"
        params.update(r_status="dead" if dead else "pending", r_error=str(error),
                      r_attempt_error=str(error)[:2000])
        if not dead:
            params["r_next"] = now + config.backoff(message.tries)
    params["r_outcome"] = outcome
    conn.execute(_RECORD_DELIVERY, params)
    conn.execute(_RECORD_ATTEMPT, params)
    return outcome


def send_one(channel: Channel, message: Outgoing) -> DeliveryError | None:
    """Send through ``channel``; an unexpected exception counts as a retryable failure."""
    try:
        channel.send(message)
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a channel bug must not stop the dispatcher
        log.exception("channel %s failed on delivery %s", channel.name, message.delivery_id)
        return DeliveryError(f"{exc.__class__.__name__}: {exc}")
    return None


def deliver_due(db: Database, channels: Mapping[str, Channel],
                clock: Callable[[], datetime], config: DispatchConfig) -> dict[str, int]:
    """Send every delivery that is due, batch after batch, until none is left."""
    counts: dict[str, Any] = {"sent": 0, "failed": 0, "dead": 0}
    names = sorted(channels)
    if not names:
        return counts
    while True:
        token = secrets.token_hex(8)
        batch, exhausted = claim(db, names, clock(), config, token)
        counts["dead"] += exhausted
        if not batch:
            return counts
        for message in batch:
            error = send_one(channels[message.channel], message)
            with db.write() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(_ASYNC_COMMIT)
                counts[record(conn, message, token, clock(), error, config)] += 1
