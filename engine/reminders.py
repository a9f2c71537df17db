"""Remind now: the performance office nudges the units of selected instances at once.

:func:`remind_now` writes, in ONE transaction and for every selected instance, a
same-state history entry with the reserved trigger ``remind_now`` (the office's
optional message is its comment; it neither re-enters the state nor touches the
timers: :data:`engine.instances.QUIET_TRIGGERS`) and the outbox event the timer sweep
writes when a reminder falls due — kind ``remind`` (template ``reminder``, or
``due_today`` on the due day) or, when the deadline has already passed, kind ``due``
(template ``overdue``), with the sweep's payload and recipients (the roles that act
next in the current state, confined to the subject unit). The notification dispatcher
delivers it like any timer event. Any refusal (another role, a finished instance, an
unknown id) rolls the whole batch back, and the error names the instance and its unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, insert, select

from .authz import Actor, denial, usable_role
from .calendar import WorkCalendar, calendar_for
from .clock import local_today, utcnow
from .db import Database
from .deadlines import TimePolicy
from .exceptions import InvalidInput, WorkflowError
from .extensions import named_failure, units_of
from .hashing import format_time
from .instances import _load_for_write, _write
from .models import OutboxMessage
from .registry import compiled
from .tasks import due_dates_subquery
from .timers import deadline_moment

REMIND_NOW = "remind_now"
ROLES = ("office",)
MAX_MESSAGE = 500
_o = OutboxMessage.__table__


@dataclass(frozen=True)
class Reminder:
    """One reminder sent: the instance, its new version, and the outbox event kind."""

    instance_id: int
    version: int
    state: str
    kind: str  # remind | due (already overdue)
    due_date: date | None


def _due_dates(conn: Connection, ids: list[int]) -> dict[int, date]:
    due = due_dates_subquery()
    return dict(conn.execute(select(due.c.instance_id, due.c.due_date)
                             .where(due.c.instance_id.in_(ids))).all())


def remind_now(db: Database, instance_ids: list[int], actor: Actor, *,
               message: str | None = None) -> list[Reminder]:
    """Send an immediate reminder for each of ``instance_ids`` (office only); all or
    nothing (see the module docstring)."""
    ids = list(dict.fromkeys(instance_ids))
    if not ids:
        raise InvalidInput("未选择事项 — no instances selected")
    comment = (message or "").strip()[:MAX_MESSAGE] or None
    calendar, policy, today = calendar_for(db), TimePolicy.from_env(), local_today()
    sent = []
    with db.write() as conn:
        units, due = units_of(conn, ids), _due_dates(conn, ids)
        for instance_id in ids:
            try:
                sent.append(_remind(conn, db, instance_id, actor, comment, due.get(instance_id),
                                    today, calendar, policy))
            except WorkflowError as exc:  # the transaction rolls back with it
                raise named_failure(exc, instance_id, units.get(instance_id)) from exc
    return sent


def _remind(conn: Connection, db: Database, instance_id: int, actor: Actor,
            comment: str | None, due: date | None, today: date, calendar: WorkCalendar,
            policy: TimePolicy) -> Reminder:
    """The history entry and the outbox event of one instance."""
    row = _load_for_write(conn, instance_id, None)
    comp = compiled(db, row.definition_version_id)
    context = {"instance": instance_id, "state": row.state, "trigger": REMIND_NOW}
    role = usable_role(actor, ROLES, row.subject_unit_id)
    if role is None:
        raise denial(actor, ROLES, row.subject_unit_id, REMIND_NOW, **context)
    roles = list(comp.next_roles.get(row.state, ()))
    roles = [r for r in roles if r != "system"]
    if comp.definition.states[row.state].final or not roles:
        raise InvalidInput(f"状态 {row.state} 下无人需要办理,无需提醒 — nobody acts in state "
                           f"{row.state!r}; nothing to remind", **context)
    result = _write(conn, comp, row, instance_id, actor, REMIND_NOW, role, row.state,
                    comment, {})
    kind = "due" if due is not None and due < today else "remind"
    now = utcnow()
    conn.execute(insert(_o).values(
        instance_id=instance_id, kind=kind,
        dedupe_key=f"{REMIND_NOW}:{instance_id}:{result.version}",
        recipients={"roles": roles, "unit_id": row.subject_unit_id},
        payload={"definition": comp.definition.key, "instance_id": instance_id,
                 "state": row.state, "kind": kind, "timer_id": None,
                 "due_at": format_time(deadline_moment(due, policy)) if due else None,
                 "due_date": due.isoformat() if due else None,
                 "working_days_left": (calendar.working_days_between(today, due)
                                       if due and kind == "remind" else None),
                 "days_overdue": (today - due).days if kind == "due" else 0,
                 "fires_at": format_time(now), "notify": [], "fire": None, "late": False,
                 "uncovered_year": None, "trigger": REMIND_NOW, "actor": actor.username,
                 "comment": comment},
        status="pending", attempts=0, created_at=now))
    return Reminder(instance_id, result.version, row.state, kind, due)
