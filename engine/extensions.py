"""Extending, pausing and resuming a deadline: each a history entry, timers recomputed.

The performance office may extend the deadline of one instance (or of every instance
of a unit category, or of the instances selected on the dashboard — all of them in one
transaction, or none: :func:`extend_many`) by working days, calendar days or to a date,
with a reason; and
pause a deadline clock (a rectification while its appeal is pending) and resume it,
the paused days not counting. Each change goes through the engine's write path as a
same-state history entry with a reserved trigger (``extend_deadline``,
``pause_deadline``, ``resume_deadline``; the reason is its comment) and, in the same
transaction, replaces the pending timers of the state entry: the new plan keeps the
entry's time and every earlier extension and pause (``timers.adjustments``), so a
later calendar recomputation keeps them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .authz import Actor, denial, usable_role
from .calendar import calendar_for
from .clock import local_today, utcnow
from .db import Database
from .deadlines import TimePolicy, at_local, cycle_year, deadline_plan, timer_rows
from .exceptions import InvalidInput, WorkflowError
from .hashing import format_time
from .instances import _load_for_write, _write
from .models import Instance, OutboxMessage, Timer, Unit
from .registry import compiled

EXTEND, PAUSE, RESUME = "extend_deadline", "pause_deadline", "resume_deadline"
ROLES = ("office",)
_t, _i, _u, _o = Timer.__table__, Instance.__table__, Unit.__table__, OutboxMessage.__table__


@dataclass(frozen=True)
class DeadlineChange:
    """What one extension, pause or resumption did to one instance."""

    instance_id: int
    version: int
    state: str
    old_due: date | None
    new_due: date | None
    paused: bool


@dataclass(frozen=True)
class _Entry:
    entered_at: datetime
    adjustments: list[dict[str, Any]]
    due_date: date | None
    paused_at: datetime | None


def _entry(conn: Connection, instance_id: int, state: str) -> _Entry:
    """The newest timer row of the state entry the instance is in."""
    row = conn.execute(select(_t.c.entered_at, _t.c.created_at, _t.c.adjustments,
                              _t.c.due_date).where(
        _t.c.instance_id == instance_id, _t.c.state == state)
        .order_by(_t.c.id.desc()).limit(1)).first()
    if row is None:
        raise InvalidInput(f"事项 {instance_id} 当前没有期限 — instance {instance_id} has no "
                           "deadline timers in its state", instance=instance_id, state=state)
    entered = row.entered_at or row.created_at
    paused = conn.execute(select(_t.c.paused_at).where(
        _t.c.instance_id == instance_id, _t.c.state == state, _t.c.entered_at == entered,
        _t.c.status == "paused").limit(1)).scalar()
    return _Entry(entered, list(row.adjustments or ()), row.due_date, paused)


def _change(conn: Connection, db: Database, instance_id: int, actor: Actor, trigger: str,
            reason: str, adjust, expected_version: int | None) -> DeadlineChange:
    """Check, write the history entry and replace the timers (see module docstring)."""
    row = _load_for_write(conn, instance_id, expected_version)
    comp = compiled(db, row.definition_version_id)
    spec = comp.definition.deadlines.get(row.state)
    context = {"instance": instance_id, "state": row.state, "trigger": trigger}
    role = usable_role(actor, ROLES, row.subject_unit_id)
    if role is None:
        raise denial(actor, ROLES, row.subject_unit_id, trigger, **context)
    if spec is None:
        raise InvalidInput(f"状态 {row.state} 没有期限 — state {row.state!r} has no deadline",
                           **context)
    if not reason or not reason.strip():
        raise InvalidInput("须说明理由 — a reason is required", **context)
    entry = _entry(conn, instance_id, row.state)
    now, calendar, policy = utcnow(), calendar_for(db), TimePolicy.from_env()
    adjustments, pause = adjust(entry, now)
    year = cycle_year(row.data)
    new_due = deadline_plan(spec, entry.entered_at, calendar, year=year,
                            adjustments=adjustments, policy=policy).due_date
    if trigger == EXTEND and entry.due_date and new_due <= entry.due_date:
        raise InvalidInput(f"延期后的截止日期 {new_due} 不晚于现截止日期 {entry.due_date} — an "
                           f"extension must move the due date ({entry.due_date}) later",
                           **context)
    comment = reason.strip()
    if trigger != PAUSE:
        comment += f"(截止日期 {entry.due_date} → {new_due})"
    result = _write(conn, comp, row, instance_id, actor, trigger, role, row.state, comment, {})
    same_entry = (_t.c.instance_id == instance_id, _t.c.state == row.state,
                  _t.c.entered_at == entry.entered_at)
    if trigger == PAUSE:
        paused = conn.execute(update(_t).where(*same_entry, _t.c.status == "pending")
                              .values(status="paused", paused_at=now)).rowcount
        if not paused:  # rolls the history entry back with it
            raise InvalidInput("没有待触发的期限提醒可暂停 — every timer of this deadline has "
                               "already taken effect; nothing to pause", **context)
        return DeadlineChange(instance_id, result.version, row.state, entry.due_date,
                              entry.due_date, True)
    conn.execute(update(_t).where(*same_entry, _t.c.status.in_(("pending", "paused")))
                 .values(status="cancelled", outcome=trigger))
    rows = timer_rows(spec, instance_id=instance_id, version=result.version,
                      entered_at=entry.entered_at, now=now, calendar=calendar, year=year,
                      adjustments=adjustments, policy=policy)
    if rows:
        conn.execute(insert(_t), rows)
    _announce(conn, comp, row, instance_id, result.version, actor, trigger, comment,
              entry.due_date, new_due, policy)
    return DeadlineChange(instance_id, result.version, row.state, entry.due_date, new_due,
                          False)


def _announce(conn: Connection, comp, row, instance_id: int, seq: int, actor: Actor,
              trigger: str, comment: str, old: date | None, new: date,
              policy: TimePolicy) -> None:
    """The ``deadline_extended`` outbox event (resuming moves the date as well)."""
    conn.execute(insert(_o).values(
        instance_id=instance_id, kind="deadline_extended",
        dedupe_key=f"deadline_extended:{instance_id}:{seq}",
        recipients={"roles": list(comp.next_roles.get(row.state, ())),
                    "unit_id": row.subject_unit_id},
        payload={"definition": comp.definition.key, "instance_id": instance_id,
                 "state": row.state, "trigger": trigger, "actor": actor.username,
                 "comment": comment, "old_due_date": old.isoformat() if old else None,
                 "due_date": new.isoformat(),
                 "due_at": format_time(at_local(new, policy.due_time))},
        status="pending", attempts=0, created_at=utcnow()))


def _extend_by(working_days: int | None, days: int | None, until: date | None):
    given = [v for v in (working_days, days, until) if v is not None]
    if len(given) != 1:
        raise InvalidInput("须且只能指定一种延期方式 — give exactly one of working days, "
                           "days or a date")
    if until is None and given[0] < 1:
        raise InvalidInput("延期天数须为正数 — the extension must be at least one day")
    step = ({"op": "extend", "working_days": working_days} if working_days is not None else
            {"op": "extend", "days": days} if days is not None else
            {"op": "extend", "until": until.isoformat()})

    def adjust(entry: _Entry, now: datetime):
        if entry.paused_at is not None:
            raise InvalidInput("期限已暂停,请先恢复 — the deadline is paused; resume it first")
        return entry.adjustments + [step], False

    return adjust


def extend_deadline(db: Database, instance_id: int, actor: Actor, *, reason: str,
                    working_days: int | None = None, days: int | None = None,
                    until: date | None = None,
                    expected_version: int | None = None) -> DeadlineChange:
    """Extend the current state's deadline of one instance (office only)."""
    with db.write() as conn:
        return _change(conn, db, instance_id, actor, EXTEND, reason,
                       _extend_by(working_days, days, until), expected_version)


def extend_category(db: Database, definition_key: str, category: str, actor: Actor, *,
                    reason: str, state: str | None = None, working_days: int | None = None,
                    days: int | None = None, until: date | None = None
                    ) -> list[DeadlineChange]:
    """Extend, in one transaction, every instance of ``definition_key`` whose unit is
    in ``category`` (and, with ``state``, in that state) and whose state has a
    deadline; each instance gets its own history entry. All or nothing."""
    adjust = _extend_by(working_days, days, until)
    query = (select(_i.c.id, _i.c.state, _i.c.definition_version_id)
             .join(_u, _u.c.id == _i.c.subject_unit_id)
             .where(_i.c.definition_key == definition_key, _u.c.category == category)
             .order_by(_i.c.id))
    if state is not None:
        query = query.where(_i.c.state == state)
    changes = []
    with db.write() as conn:
        for inst in conn.execute(query).all():
            deadlines = compiled(db, inst.definition_version_id).definition.deadlines
            if inst.state in deadlines:
                changes.append(_change(conn, db, inst.id, actor, EXTEND, reason, adjust, None))
    return changes


def named_failure(exc: WorkflowError, instance_id: int, unit: tuple[str, str] | None
                  ) -> WorkflowError:
    """``exc`` again, its message naming the instance (and its unit) of a batch that
    was refused, so the office knows which selection to fix."""
    who = f"#{instance_id}" + (f"({unit[1]} {unit[0]})" if unit else "")
    context = {**exc.context, "instance": instance_id}
    if unit:
        context["unit"] = unit[0]
    return type(exc)(f"事项 {who}:{exc.message}", **context)


def units_of(conn: Connection, instance_ids: list[int]) -> dict[int, tuple[str, str]]:
    """instance id → (unit code, unit name), one query."""
    rows = conn.execute(select(_i.c.id, _u.c.code, _u.c.name)
                        .join(_u, _u.c.id == _i.c.subject_unit_id)
                        .where(_i.c.id.in_(instance_ids))).all()
    return {r.id: (r.code, r.name) for r in rows}


def extend_many(db: Database, instance_ids: list[int], actor: Actor, *, reason: str,
                working_days: int | None = None, days: int | None = None,
                until: date | None = None) -> list[DeadlineChange]:
    """Extend the deadlines of the selected instances in ONE transaction (office only):
    each gets its own history entry; if any instance is refused (another role, no
    deadline, not later, paused, unknown) nothing is changed and the error names that
    instance and its unit."""
    ids = list(dict.fromkeys(instance_ids))
    if not ids:
        raise InvalidInput("未选择事项 — no instances selected")
    adjust = _extend_by(working_days, days, until)
    changes = []
    with db.write() as conn:
        units = units_of(conn, ids)
        for instance_id in ids:
            try:
                changes.append(_change(conn, db, instance_id, actor, EXTEND, reason, adjust,
                                       None))
            except WorkflowError as exc:  # the transaction rolls back with it
                raise named_failure(exc, instance_id, units.get(instance_id)) from exc
    return changes


def pause_deadline(db: Database, instance_id: int, actor: Actor, *, reason: str,
                   expected_version: int | None = None) -> DeadlineChange:
    """Stop the deadline clock of the instance's current state (office only)."""

    def adjust(entry: _Entry, now: datetime):
        if entry.paused_at is not None:
            raise InvalidInput("期限已处于暂停状态 — the deadline is already paused")
        return entry.adjustments, True

    with db.write() as conn:
        return _change(conn, db, instance_id, actor, PAUSE, reason, adjust, expected_version)


def resume_deadline(db: Database, instance_id: int, actor: Actor, *, reason: str,
                    expected_version: int | None = None) -> DeadlineChange:
    """Restart a paused deadline clock; the due date moves by the paused days (working
    days for a working-day deadline, calendar days otherwise)."""

    def adjust(entry: _Entry, now: datetime):
        if entry.paused_at is None:
            raise InvalidInput("期限未暂停 — the deadline is not paused")
        step = {"op": "pause", "from": local_today(entry.paused_at).isoformat(),
                "to": local_today(now).isoformat()}
        return entry.adjustments + [step], False

    with db.write() as conn:
        return _change(conn, db, instance_id, actor, RESUME, reason, adjust, expected_version)
