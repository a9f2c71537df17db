"""``dispatch()``: one pass of the notification dispatcher.

1. expand pending outbox events into inbox entries and deliveries (:mod:`.fanout`);
2. fold held reminders into daily digests that are due (:mod:`.digest`);
3. send every due delivery over the configured channels (:mod:`.delivery`).

Every step claims its rows atomically, so any number of dispatchers (processes,
threads, hosts on PostgreSQL) may run at once. ``now`` pins the clock for the whole
pass (tests, ``perfeval outbox dispatch --now``); otherwise each step reads
:func:`engine.clock.utcnow`. Deliveries of a channel that is not configured (no
``PERFEVAL_SMTP_URL``) are not touched: they wait, and count as ``waiting``.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

from sqlalchemy import func, select

from engine.clock import utcnow
from engine.db import Database

from .channels import Channel
from .channels.email import EmailChannel, SmtpSettings
from .channels.webhook import WebhookChannel
from .config import DispatchConfig
from .delivery import deliver_due
from .digest import fold_digests
from .fanout import expand_batch
from .models import Delivery

log = logging.getLogger(__name__)
_d = Delivery.__table__


@dataclass
class DispatchReport:
    """What one :func:`dispatch` pass did."""

    events: int = 0
    events_failed: int = 0
    inbox: int = 0
    deliveries: int = 0
    digests: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    waiting: dict[str, int] = field(default_factory=dict)


def default_channels() -> dict[str, Channel]:
    """Webhooks always; email when ``PERFEVAL_SMTP_URL`` is set."""
    channels: dict[str, Channel] = {"webhook": WebhookChannel()}
    url = os.environ.get("PERFEVAL_SMTP_URL")
    if url:
        channels["email"] = EmailChannel(SmtpSettings.from_url(url))
    return channels


def _expand_all(db: Database, clock, config: DispatchConfig, report: DispatchReport) -> None:
    directory = None
    while True:
        out, directory = expand_batch(db, directory, clock(), config)
        if not (out.done or out.failed):
            return
        report.events += len(out.done)
        report.events_failed += len(out.failed)
        report.inbox += len(out.inbox)
        report.deliveries += len(out.deliveries)


def _waiting(db: Database, configured: Mapping[str, Channel]) -> dict[str, int]:
    with db.read() as conn:
        rows = conn.execute(select(_d.c.channel, func.count()).where(
            _d.c.status == "pending", _d.c.channel.not_in(list(configured) or [""]))
            .group_by(_d.c.channel)).all()
    return {channel: count for channel, count in rows}


def dispatch(db: Database, *, now: datetime | None = None,
             channels: Mapping[str, Channel] | None = None,
             config: DispatchConfig | None = None) -> DispatchReport:
    """Run one pass (see the module docstring) and report what it did."""
    config = config or DispatchConfig.from_env()
    channels = default_channels() if channels is None else channels
    clock = (lambda: now) if now is not None else utcnow
    report = DispatchReport()
    _expand_all(db, clock, config, report)
    report.digests = fold_digests(db, clock(), config)
    for channel in channels.values():
        channel.open()
    try:
        counts = deliver_due(db, channels, clock, config)
    finally:
        for channel in channels.values():
            channel.close()
    report.sent, report.failed, report.dead = counts["sent"], counts["failed"], counts["dead"]
    report.waiting = _waiting(db, channels)
    return report


def run_forever(db: Database, *, interval: float = 10.0,
                channels: Mapping[str, Channel] | None = None,
                config: DispatchConfig | None = None,
                stop: threading.Event | None = None) -> None:
    """Dispatch every ``interval`` seconds until ``stop`` is set; a failing pass is
    logged and the loop goes on (the rows it touched are retried next pass)."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            report = dispatch(db, channels=channels, config=config)
            if report.events or report.sent or report.failed or report.dead:
                log.info("dispatch: %s", report)
        except Exception:  # noqa: BLE001 - keep the dispatcher alive
            log.exception("dispatch pass failed")
        stop.wait(interval)
