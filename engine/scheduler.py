"""The scheduler process: APScheduler 3.x running one sweep job, plus a heartbeat.

Timers are rows; APScheduler only decides *when* to sweep. One ``BlockingScheduler``
with an in-memory job store runs a single interval job (``coalesce=True``,
``max_instances=1``, ``misfire_grace_time=None``: a late tick still runs, missed ticks
run once). Each tick sweeps due timers (:func:`engine.timers.sweep`), then calls the
optional ``dispatch`` callable (the notifications dispatcher, passed in by the CLI —
the engine never imports ``notifications``), then upserts this process's row in
``scheduler_heartbeats``. When an anchor signing key is configured, each tick also
runs the daily anchor (:class:`engine.anchor_daily.DailyAnchor`: once a day at
``PERFEVAL_ANCHOR_TIME``, default 02:00 local), before the dispatch that delivers it. Several scheduler processes may run: the sweep's row claims
keep every timer to one effect.

SIGTERM and SIGINT stop it cleanly: the running sweep ends after its current batch
(which commits or rolls back as a whole), the scheduler shuts down, and the heartbeat
row records ``stopped_at``.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from .anchor_daily import DailyAnchor
from .clock import utcnow
from .db import Database
from .models import SchedulerHeartbeat
from .timers import SweepReport, sweep, worker_name

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 30.0
_hb = SchedulerHeartbeat.__table__


@dataclass
class Ticker:
    """The job a scheduler runs: sweep, dispatch, heartbeat. Callable directly in tests."""

    db: Database
    interval: float = DEFAULT_INTERVAL
    dispatch: Callable[[Database], Any] | None = None
    worker: str = field(default_factory=worker_name)
    started_at: datetime = field(default_factory=utcnow)
    stop: threading.Event = field(default_factory=threading.Event)
    sweeps: int = 0
    busy: threading.Lock = field(default_factory=threading.Lock)
    daily: Callable[[datetime | None], Any] | None = None

    def __call__(self, now: datetime | None = None) -> SweepReport | None:
        """One tick; errors are logged and recorded in the heartbeat, never raised."""
        if self.stop.is_set():
            return None
        with self.busy:
            report, error = None, None
            try:
                report = sweep(self.db, now, worker=self.worker, stop=self.stop)
                self._daily(now)
                if self.dispatch is not None and not self.stop.is_set():
                    self.dispatch(self.db)
            except Exception as exc:  # noqa: BLE001 - the scheduler must keep ticking
                log.exception("scheduler tick failed")
                error = f"{type(exc).__name__}: {exc}"
            self.sweeps += 1
            self.beat(report, error)
            return report

    def _daily(self, now: datetime | None) -> None:
        """The daily anchor, when configured; its failure does not stop the tick."""
        if self.daily is None or self.stop.is_set():
            return
        try:
            self.daily(now)
        except Exception:  # noqa: BLE001 - a missed anchor is logged, the sweep goes on
            log.exception("daily audit anchor failed")

    def beat(self, report: SweepReport | None = None, error: str | None = None,
             stopped: bool = False) -> None:
        """Upsert this process's heartbeat row."""
        now = utcnow()
        values = {"worker": self.worker, "started_at": self.started_at, "beat_at": now,
                  "interval_s": int(self.interval), "sweeps": self.sweeps,
                  "last_report": report.summary() if report else None,
                  "last_error": error, "stopped_at": now if stopped else None}
        changed = {k: v for k, v in values.items() if k not in ("worker", "started_at")}
        if report is None and not error:
            changed.pop("last_report")
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        try:
            with self.db.write() as conn:
                conn.execute(dialect.insert(_hb).values(**values).on_conflict_do_update(
                    index_elements=["worker"], set_=changed))
        except Exception:  # noqa: BLE001 - a missed beat is not worth dying for
            log.exception("heartbeat failed")


def _configure(scheduler: BaseScheduler, ticker: Ticker) -> BaseScheduler:
    scheduler.add_job(ticker, "interval", seconds=ticker.interval, id="sweep",
                      next_run_time=datetime.now().astimezone(), coalesce=True,
                      max_instances=1, misfire_grace_time=None)
    return scheduler


def run(db: Database, *, interval: float = DEFAULT_INTERVAL,
        dispatch: Callable[[Database], Any] | None = None,
        on_start: Callable[[Ticker], None] | None = None) -> Ticker:
    """Run the scheduler in this process until SIGTERM/SIGINT; return its ticker."""
    ticker = Ticker(db, interval, dispatch, daily=DailyAnchor.from_env(db))
    scheduler = _configure(BlockingScheduler(timezone="UTC"), ticker)

    def _stop(signum, _frame):
        log.info("scheduler %s: signal %s, stopping", ticker.worker, signum)
        ticker.stop.set()
        raise SystemExit(0)

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    ticker.beat()
    log.info("scheduler %s started, sweeping every %ss", ticker.worker, interval)
    if on_start is not None:
        on_start(ticker)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        ticker.stop.set()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if scheduler.running:
            scheduler.shutdown(wait=True)
        with ticker.busy:  # a tick still finishing its batch
            ticker.beat(stopped=True)
        log.info("scheduler %s stopped after %d sweeps", ticker.worker, ticker.sweeps)
    return ticker


def start_background(db: Database, *, interval: float = DEFAULT_INTERVAL,
                     dispatch: Callable[[Database], Any] | None = None
                     ) -> tuple[BackgroundScheduler, Ticker]:
    """The same job in a background thread of this process (``serve --with-scheduler``
    for small installations); call ``scheduler.shutdown()`` and set ``ticker.stop``."""
    ticker = Ticker(db, interval, dispatch, daily=DailyAnchor.from_env(db))
    scheduler = _configure(BackgroundScheduler(timezone="UTC"), ticker)
    ticker.beat()
    scheduler.start()
    return scheduler, ticker


def heartbeats(db: Database) -> list[dict[str, Any]]:
    """Every scheduler that ever beat, newest beat first."""
    with db.read() as conn:
        rows = conn.execute(select(_hb).order_by(_hb.c.beat_at.desc())).mappings().all()
    return [dict(r) for r in rows]


def is_alive(beat: dict[str, Any], now: datetime | None = None) -> bool:
    """A heartbeat row is live when not stopped and newer than three intervals."""
    now = now or utcnow()
    return beat["stopped_at"] is None and (
        now - beat["beat_at"]).total_seconds() <= 3 * max(beat["interval_s"], 1) + 5
