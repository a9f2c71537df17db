"""The optional daily digest: a user's held reminders folded into one email a day.

At fan-out, a reminder-type email (see :data:`~notifications.events.DIGEST_EVENTS`)
for a user who chose the digest is stored ``held`` with its ``digest_day``. Once that
day's digest hour (local time, ``DispatchConfig.digest_hour``) has passed, one write
transaction creates the digest delivery — unique key ``digest:<day>:email:u<user>:
<first held id>`` — and marks the held rows ``folded`` into it. The digest is then
sent like any other email (retries, dead letter). The in-app inbox still gets every
reminder on its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import Connection, select, update

from engine.clock import to_local
from engine.db import Database

from .config import DispatchConfig
from .models import Delivery
from .sql import insert_ignoring_duplicates, lock_skipping

_d = Delivery.__table__


def last_due_day(now: datetime, config: DispatchConfig):
    """The newest local day whose digest may go out at ``now``."""
    local = to_local(now)
    return local.date() - timedelta(days=0 if local.hour >= config.digest_hour else 1)


def _fold(conn: Connection, rows: list, now: datetime, config: DispatchConfig) -> None:
    first = rows[0]
    key = f"digest:{first.digest_day.isoformat()}:email:u{first.user_id}:{first.id}"
    items = [{"template": r.template, "params": r.params} for r in rows]
    insert_ignoring_duplicates(conn, _d, [{
        "key": key, "event_id": None, "user_id": first.user_id, "endpoint_id": None,
        "channel": "email", "address": rows[-1].address, "template": "digest",
        "locale": rows[-1].locale, "status": "pending", "attempts": 0, "retry_base": 0,
        "next_attempt_at": now, "created_at": now, "digest_day": first.digest_day,
        "params": {"day": first.digest_day.isoformat(), "items": items,
                   "link": f"{config.base_url}/inbox"}}], ("key",))
    digest_id = conn.execute(select(_d.c.id).where(_d.c.key == key)).scalar_one()
    conn.execute(update(_d).where(_d.c.id.in_([r.id for r in rows]), _d.c.status == "held")
                 .values(status="folded", digest_id=digest_id, sent_at=now))


def fold_digests(db: Database, now: datetime, config: DispatchConfig) -> int:
    """Create the digests that are due at ``now``; returns how many."""
    with db.write() as conn:
        query = (select(_d.c.id, _d.c.user_id, _d.c.digest_day, _d.c.template, _d.c.params,
                        _d.c.address, _d.c.locale)
                 .where(_d.c.status == "held", _d.c.digest_day <= last_due_day(now, config))
                 .order_by(_d.c.user_id, _d.c.digest_day, _d.c.id))
        rows = list(conn.execute(lock_skipping(conn, query)))
        groups = [list(g) for _, g in groupby(rows, key=lambda r: (r.user_id, r.digest_day))]
        for group in groups:
            _fold(conn, group, now, config)
    return len(groups)
