"""The timer sweep: every due timer row takes effect exactly once.

:func:`sweep` claims due timers in batches, each batch in one write transaction:

- PostgreSQL: ``SELECT … WHERE status='pending' AND due_at <= :now ORDER BY due_at
  LIMIT n FOR UPDATE SKIP LOCKED`` — concurrent sweepers take disjoint rows;
- SQLite: a conditional ``UPDATE timers SET status='claimed' WHERE id IN (SELECT …)
  AND status='pending' RETURNING …`` inside ``BEGIN IMMEDIATE``.

Both use the ``(status, due_at)`` index, so a sweep's cost follows the due timers, not
the pending ones. Each claimed timer is then handled in the same transaction:
re-checked (its instance must still be in the timer's state, its calendar version
current), its effect written — an outbox event (``remind``, ``due``, ``escalate``;
``dedupe_key = "timer:<id>"``) and, for an escalation with ``fire``,
:func:`engine.instances.fire_on` as :meth:`Actor.system` — and the timer marked
``done``. The ``due`` timer of a deadline with ``fire`` (a dated step: a window
opening, a report marked overdue) only fires its trigger, whose own outbox row is the
notice; a parent's ``then_children`` move its children in that same transaction.
The claim and the effect commit together, so a sweeper killed at any point leaves
either both or neither; the unique dedupe key backs that up.

The batch is first tried in one SAVEPOINT, re-checked with one query, its outbox rows
and timer updates written with one executemany each (few round trips: PostgreSQL's
cost is round trips). If any timer raises, that savepoint is rolled back and the batch
is handled again one SAVEPOINT per timer: the broken one is rolled back, logged, its
``attempts`` incremented and ``retry_at`` pushed back (exponential, capped); after
:data:`MAX_ATTEMPTS` it is ``failed``. It never stops the sweep.

Catch-up: a reminder is *collapsed* (no notice) when a later reminder or the due
notice of the same state entry is also due, so downtime yields one notice, not a burst.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .authz import Actor
from .calendar import WorkCalendar, calendar_for
from .clock import local_today, utcnow
from .db import Database
from .deadlines import TimePolicy, at_local, cycle_year, deadline_plan
from .hashing import format_time
from .instances import fire_on
from .models import Instance, OutboxMessage, Timer
from .registry import compiled

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=6)
BATCH = 100
TIMER_KINDS = ("remind", "due", "escalate")
#: The field a deadline's ``fire`` sets to "yes" when the definition has it (late flag).
LATE_FIELD = "late"

_t, _i, _o = Timer.__table__, Instance.__table__, OutboxMessage.__table__
_COLUMNS = (_t.c.id, _t.c.instance_id, _t.c.state, _t.c.kind, _t.c.slot, _t.c.due_at,
            _t.c.notify, _t.c.fire_trigger, _t.c.attempts, _t.c.entered_at, _t.c.due_date,
            _t.c.adjustments, _t.c.calendar_version, _t.c.uncovered_year)
_DUE = and_(_t.c.status == "pending", _t.c.due_at <= bindparam("now"),
            or_(_t.c.retry_at.is_(None), _t.c.retry_at <= bindparam("now")))
_CLAIM_PG = (select(*_COLUMNS).where(_DUE).order_by(_t.c.due_at).limit(bindparam("n"))
             .with_for_update(skip_locked=True))
_CLAIM_SQLITE = (update(_t).where(_t.c.id.in_(select(_t.c.id).where(_DUE).order_by(_t.c.due_at)
                                              .limit(bindparam("n")).scalar_subquery()),
                                  _t.c.status == "pending")
                 .values(status="claimed", claimed_by=bindparam("worker"),
                         claimed_at=bindparam("now")).returning(*_COLUMNS))
_FINISH = update(_t).where(_t.c.id == bindparam("tid")).values(
    status=bindparam("status"), outcome=bindparam("outcome"), fired_at=bindparam("now"),
    claimed_by=bindparam("worker"), claimed_at=bindparam("now"), retry_at=None)
_RETRY = update(_t).where(_t.c.id == bindparam("tid")).values(
    status=bindparam("status"), attempts=bindparam("attempts"), retry_at=bindparam("retry"),
    last_error=bindparam("error"), claimed_by=bindparam("worker"), claimed_at=bindparam("now"))
_REPENDING = update(_t).where(_t.c.id == bindparam("tid")).values(status="pending")
_LATER = or_(_t.c.due_at > bindparam("due"), and_(_t.c.due_at == bindparam("due"),
                                                 _t.c.id > bindparam("tid")))
_SUPERSEDED = select(exists().where(
    _t.c.instance_id == bindparam("iid"), _t.c.state == bindparam("state"),
    _t.c.entered_at == bindparam("entered"), _t.c.kind.in_(("remind", "due")),
    _t.c.status.in_(("pending", "claimed", "done")), _t.c.due_at <= bindparam("now"), _LATER))
_EVENT = {name: dialect.insert(_o).on_conflict_do_nothing(index_elements=["dedupe_key"])
          for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}
_RECHECK = select(_t.c.id, _t.c.status, _i.c.state, _i.c.definition_version_id,
                  _i.c.definition_key, _i.c.subject_unit_id, _i.c.data).select_from(
    _t.join(_i, _i.c.id == _t.c.instance_id))
_RECHECK_ONE = _RECHECK.where(_t.c.id == bindparam("tid"))
_RECHECK_MANY = _RECHECK.where(_t.c.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class Outcome:
    """What the sweep did with one timer."""

    timer_id: int
    instance_id: int
    kind: str
    state: str
    outcome: str  # notified | fired:<trigger> | collapsed | stale | rescheduled | retry | failed
    error: str | None = None


@dataclass
class SweepReport:
    """What one :func:`sweep` did, timer by timer."""

    now: datetime
    worker: str
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, prefix: str) -> int:
        """How many outcomes start with ``prefix`` (``"fired"`` counts every trigger)."""
        return sum(o.outcome.startswith(prefix) for o in self.outcomes)

    def summary(self) -> dict[str, Any]:
        """Counts per outcome kind, for logs, heartbeats and ``--json``."""
        keys = ("notified", "fired", "collapsed", "stale", "rescheduled", "retry", "failed")
        return {"now": format_time(self.now), "worker": self.worker,
                "claimed": len(self.outcomes), **{k: self.count(k) for k in keys}}


def worker_name() -> str:
    """``host:pid`` of this process (``claimed_by``, heartbeat key)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def sweep(db: Database, now: datetime | None = None, *, worker: str | None = None,
          batch: int = BATCH, limit: int | None = None,
          stop: threading.Event | None = None) -> SweepReport:
    """Make every timer due at ``now`` (default: the clock) take effect; return what
    happened. Safe with any number of concurrent sweepers; ``stop`` ends it between
    batches; ``limit`` caps the timers claimed (tests, benchmarks)."""
    now = now or utcnow()
    report = SweepReport(now, worker or worker_name())
    while not (stop and stop.is_set()):
        size = batch if limit is None else min(batch, limit - len(report.outcomes))
        if size <= 0 or not _sweep_batch(db, now, report, size):
            break
    if report.outcomes:
        log.info("sweep %s", report.summary())
    return report


class _Writes:
    """The outbox rows and timer updates of a batch: written at once, or (``deferred``)
    collected and written with one executemany each by :meth:`flush`."""

    def __init__(self, conn: Connection, deferred: bool) -> None:
        self.conn, self.deferred = conn, deferred
        self.events: list[dict[str, Any]] = []
        self.finishes: list[dict[str, Any]] = []

    def event(self, values: dict[str, Any]) -> None:
        """Insert an outbox row (an existing dedupe key is skipped)."""
        if self.deferred:
            self.events.append(values)
        else:
            self.conn.execute(_EVENT[self.conn.dialect.name], values)

    def finish(self, params: dict[str, Any]) -> None:
        """Mark a timer done/collapsed/cancelled."""
        if self.deferred:
            self.finishes.append(params)
        else:
            self.conn.execute(_FINISH, params)

    def flush(self) -> None:
        """Write what was deferred."""
        if self.events:
            self.conn.execute(_EVENT[self.conn.dialect.name], self.events)
        if self.finishes:
            self.conn.execute(_FINISH, self.finishes)
        self.events, self.finishes = [], []


def _sweep_batch(db: Database, now: datetime, report: SweepReport, size: int) -> int:
    calendar = calendar_for(db)
    policy = TimePolicy.from_env()
    with db.write() as conn:
        params = {"now": now, "n": size, "worker": report.worker}
        if db.dialect == "postgresql":
            rows = conn.execute(_CLAIM_PG, params).all()
        else:
            rows = conn.execute(_CLAIM_SQLITE, params).all()
        rows = sorted(rows, key=lambda r: (r.due_at, r.id))
        outcomes = _whole_batch(conn, db, rows, now, report.worker, calendar, policy)
        if outcomes is None:  # some timer failed: again, one savepoint per timer
            outcomes = [_handle(conn, db, timer, now, report.worker, calendar, policy)
                        for timer in rows]
        report.outcomes += outcomes
    return len(rows)


def _whole_batch(conn: Connection, db: Database, rows: list, now: datetime, worker: str,
                 calendar: WorkCalendar, policy: TimePolicy) -> list[Outcome] | None:
    """The fast path: the batch in one savepoint, its re-check in one query, its outbox
    rows and timer updates in one executemany each. None, rolled back, if any timer
    raises — the caller then handles the timers one by one."""
    if not rows:
        return []
    found = {r.id: r for r in conn.execute(_RECHECK_MANY, {"ids": [r.id for r in rows]})}
    writes, fired, outcomes = _Writes(conn, deferred=True), set(), []
    savepoint = conn.begin_nested()
    try:
        for timer in rows:
            inst = None if fired else found[timer.id]
            outcome = _effect(conn, db, timer, now, worker, calendar, policy, writes, inst)
            if outcome.startswith("fired"):
                # a fire may also move its parent or children: re-check one by one
                fired.add(timer.instance_id)
            outcomes.append(Outcome(timer.id, timer.instance_id, timer.kind, timer.state,
                                    outcome))
        writes.flush()
        savepoint.commit()
        return outcomes
    except Exception:  # noqa: BLE001 - retried timer by timer, which logs the cause
        savepoint.rollback()
        return None


def _handle(conn: Connection, db: Database, timer, now: datetime, worker: str,
            calendar: WorkCalendar, policy: TimePolicy) -> Outcome:
    """One claimed timer, in a savepoint; failures become a retry, never an exception."""
    savepoint = conn.begin_nested()
    try:
        outcome = _effect(conn, db, timer, now, worker, calendar, policy,
                          _Writes(conn, deferred=False))
        savepoint.commit()
        return Outcome(timer.id, timer.instance_id, timer.kind, timer.state, outcome)
    except Exception as exc:  # noqa: BLE001 - a broken timer must not stop the sweep
        savepoint.rollback()
        attempts = timer.attempts + 1
        failed = attempts >= MAX_ATTEMPTS
        delay = min(RETRY_BASE * 2 ** (attempts - 1), RETRY_CAP)
        log.exception("timer %s (%s of instance %s) failed, attempt %d%s", timer.id,
                      timer.kind, timer.instance_id, attempts, " — giving up" if failed else "")
        conn.execute(_RETRY, {"tid": timer.id, "status": "failed" if failed else "pending",
                              "attempts": attempts, "retry": now + delay, "worker": worker,
                              "error": f"{type(exc).__name__}: {exc}"[:2000], "now": now})
        return Outcome(timer.id, timer.instance_id, timer.kind, timer.state,
                       "failed" if failed else "retry", f"{type(exc).__name__}: {exc}")


def _finish(writes: _Writes, timer, status: str, outcome: str, now: datetime,
            worker: str) -> str:
    writes.finish({"tid": timer.id, "status": status, "outcome": outcome, "now": now,
                   "worker": worker})
    return outcome


def _effect(conn: Connection, db: Database, timer, now: datetime, worker: str,
            calendar: WorkCalendar, policy: TimePolicy, writes: _Writes, inst=None) -> str:
    """Re-check, then the timer's effect (see the module docstring); its outcome."""
    if inst is None:
        inst = conn.execute(_RECHECK_ONE, {"tid": timer.id}).first()
    if inst.status not in ("pending", "claimed") or inst.state != timer.state:
        return _finish(writes, timer, "cancelled", "stale", now, worker)
    due_date = timer.due_date
    if timer.calendar_version != calendar.version and timer.slot and timer.entered_at:
        moved, due_date = recalc_entry(conn, db, timer.instance_id, timer.state,
                                       timer.entered_at, calendar, policy, inst)
        new_due = moved.get(timer.id)
        if new_due is not None and new_due > now:
            conn.execute(_REPENDING, {"tid": timer.id})
            return "rescheduled"
    if timer.kind == "remind" and _superseded(conn, timer, now):
        return _finish(writes, timer, "collapsed", "collapsed", now, worker)
    comp = compiled(db, inst.definition_version_id)
    if timer.kind == "due" and timer.fire_trigger:
        _fire_due(conn, db, comp, timer, due_date)
        return _finish(writes, timer, "done", f"fired:{timer.fire_trigger}", now, worker)
    _notify(conn, comp, timer, inst, now, calendar, policy, writes, due_date)
    outcome = "notified"
    if timer.kind == "escalate" and timer.fire_trigger:
        fire_on(conn, db, timer.instance_id, timer.fire_trigger, Actor.system(),
                comment=f"逾期自动处理 — deadline escalation (timer {timer.id})")
        outcome = f"fired:{timer.fire_trigger}"
    return _finish(writes, timer, "done", outcome, now, worker)


def _fire_due(conn: Connection, db: Database, comp, timer, due: date | None) -> None:
    """A deadline with ``fire``: the system fires the trigger (its own outbox row is the
    notice). A definition with a ``late`` field that the system may edit here gets it
    set to "yes", so whatever is done afterwards carries the late flag."""
    d = comp.definition
    data = ({LATE_FIELD: "yes"} if "system" in d.field_setters(timer.state, LATE_FIELD)
            else None)
    fire_on(conn, db, timer.instance_id, timer.fire_trigger, Actor.system(), data=data,
            comment=f"到期自动处理(期限 {due.isoformat() if due else '—'})— deadline "
                    f"reached (timer {timer.id})")


def _superseded(conn: Connection, timer, now: datetime) -> bool:
    """True when a later reminder or the due notice of the same entry is due too (or
    already went out): this passed reminder folds into that one notice."""
    if timer.entered_at is None:  # a timer from before entries were recorded
        return False
    return conn.execute(_SUPERSEDED, {
        "iid": timer.instance_id, "state": timer.state, "entered": timer.entered_at,
        "now": now, "due": timer.due_at, "tid": timer.id}).scalar()


def _notify(conn: Connection, comp, timer, inst, now: datetime, calendar: WorkCalendar,
            policy: TimePolicy, writes: _Writes, due: date | None = None) -> None:
    """The timer's outbox event; a duplicate dedupe key is ignored (already done)."""
    due = due or timer.due_date
    today = local_today(now)
    notify = list(timer.notify or ())
    roles = notify if timer.kind == "escalate" and notify else list(
        comp.next_roles.get(timer.state, ()))
    payload = {
        "definition": inst.definition_key, "instance_id": timer.instance_id,
        "state": timer.state, "kind": timer.kind, "timer_id": timer.id,
        "due_at": format_time(deadline_moment(due, policy)) if due else None,
        "due_date": due.isoformat() if due else None,
        "working_days_left": calendar.working_days_between(today, due) if due else None,
        "days_overdue": max((today - due).days, 0) if due and timer.kind != "remind" else 0,
        "fires_at": format_time(timer.due_at), "notify": notify,
        "fire": timer.fire_trigger, "late": now - timer.due_at > timedelta(hours=1),
        "uncovered_year": timer.uncovered_year}
    values = {"instance_id": timer.instance_id, "kind": timer.kind,
              "dedupe_key": f"timer:{timer.id}",
              "recipients": {"roles": roles, "unit_id": inst.subject_unit_id},
              "payload": payload, "status": "pending", "attempts": 0, "created_at": now}
    writes.event(values)


def deadline_moment(due: date, policy: TimePolicy) -> datetime:
    """When work due on local day ``due`` becomes overdue (naive UTC)."""
    return at_local(due, policy.due_time)


# --- recomputation ------------------------------------------------------------------


def recalc_entry(conn: Connection, db: Database, instance_id: int, state: str,
                 entered_at: datetime, calendar: WorkCalendar, policy: TimePolicy,
                 inst=None) -> tuple[dict[int, datetime], date | None]:
    """Recompute, in place, the pending and paused timers of one state entry with
    ``calendar`` (extensions and pauses kept); return ({timer id: new due_at}, the new
    due date)."""
    if inst is None:
        inst = conn.execute(select(_i.c.definition_version_id, _i.c.data).where(
            _i.c.id == instance_id)).first()
    spec = compiled(db, inst.definition_version_id).definition.deadlines.get(state)
    rows = conn.execute(select(_t.c.id, _t.c.slot, _t.c.adjustments).where(
        _t.c.instance_id == instance_id, _t.c.state == state, _t.c.entered_at == entered_at,
        _t.c.status.in_(("pending", "paused", "claimed")))).all()
    if spec is None or not rows:
        return {}, None
    plan = deadline_plan(spec, entered_at, calendar, year=cycle_year(inst.data),
                         adjustments=rows[0].adjustments or (), policy=policy)
    slots = {t.slot: t for t in plan.timers}
    moved = {}
    for row in rows:
        planned = slots.get(row.slot)
        values: dict[str, Any] = {"calendar_version": plan.calendar_version,
                                  "uncovered_year": plan.uncovered_year,
                                  "due_date": plan.due_date}
        if planned is not None:
            values["due_at"] = moved[row.id] = planned.due_at
        conn.execute(update(_t).where(_t.c.id == row.id).values(**values))
    return moved, plan.due_date


def recompute_pending(db: Database, *, batch: int = 500) -> int:
    """Recompute every pending or paused timer made with another calendar version
    (after ``perfeval calendar import``); return how many state entries changed."""
    calendar = calendar_for(db, refresh=True)
    policy = TimePolicy.from_env()
    stale = or_(_t.c.calendar_version.is_(None), _t.c.calendar_version != calendar.version)
    query = (select(_t.c.instance_id, _t.c.state, _t.c.entered_at).distinct()
             .where(_t.c.status.in_(("pending", "paused")), stale,
                    _t.c.entered_at.is_not(None)))
    with db.read() as conn:
        entries = conn.execute(query).all()
    for start in range(0, len(entries), batch):
        with db.write() as conn:
            for entry in entries[start:start + batch]:
                recalc_entry(conn, db, entry.instance_id, entry.state, entry.entered_at,
                             calendar, policy)
    if entries:
        log.info("recomputed %d timer entries for calendar %s", len(entries), calendar.version)
    return len(entries)


def flagged_timers(db: Database) -> dict[int, int]:
    """Pending or paused timers per year without official calendar data they depend on."""
    with db.read() as conn:
        rows = conn.execute(select(_t.c.uncovered_year, func.count()).where(
            _t.c.status.in_(("pending", "paused")), _t.c.uncovered_year.is_not(None))
            .group_by(_t.c.uncovered_year)).all()
    return {int(y): int(n) for y, n in rows}
