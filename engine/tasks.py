"""My tasks: the instances an actor can act on now, with their due dates.

One query, whatever the number of units: the (definition version, state) pairs in
which one of the actor's roles may fire a transition or save data are worked out from
the compiled definitions (cached per process), then a single SELECT reads the matching
instances, their unit and the due date of the current state entry's ``due`` timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, false, func, or_, select

from workflow.roles import is_read_only, is_unit_role
from workflow.spec import Label

from .authz import Actor
from .calendar import WorkCalendar, calendar_for
from .clock import local_today
from .db import Database
from .models import DefinitionVersion, Instance, Timer, Unit
from .registry import compiled

SOON_WORKING_DAYS = 3
LIVE_TIMER = ("pending", "paused", "claimed", "done")
_i, _u, _t, _dv = Instance.__table__, Unit.__table__, Timer.__table__, DefinitionVersion.__table__


@dataclass(frozen=True)
class Task:
    """One instance the actor can act on now."""

    instance_id: int
    definition_key: str
    title: Label
    unit_code: str | None
    unit_name: str | None
    unit_category: str | None
    state: str
    state_label: Label
    version: int
    due_date: date | None
    working_days_left: int | None
    urgency: str  # overdue | soon | ok | none


def urgency(due: date | None, today: date, calendar: WorkCalendar) -> tuple[int | None, str]:
    """Working days left (negative when overdue) and the urgency class."""
    if due is None:
        return None, "none"
    if due < today:
        return -calendar.working_days_between(due, today), "overdue"
    left = calendar.working_days_between(today, due)
    return left, "soon" if left <= SOON_WORKING_DAYS else "ok"


def _acting_roles(state_transitions, state_spec) -> set[str]:
    roles = set(state_spec.editors)
    for t in state_transitions:
        roles.update(t.roles)
    return roles


def actionable(db: Database, actor: Actor) -> list:
    """SQL conditions selecting the instances ``actor`` may act on (by version/state)."""
    usable = {r for r in actor.roles if not is_read_only(r)}
    with db.read() as conn:
        version_ids = conn.execute(select(_dv.c.id)).scalars().all()
    org_pairs, unit_pairs = [], []
    for vid in version_ids:
        definition = compiled(db, vid).definition
        for name, spec in definition.states.items():
            roles = _acting_roles(definition.transitions_from(name), spec) & usable
            roles.discard("system")
            if any(not is_unit_role(r) for r in roles):
                org_pairs.append((vid, name))
            elif roles and actor.unit_id is not None:
                unit_pairs.append((vid, name))
    conds = [and_(_i.c.definition_version_id == v, _i.c.state == s) for v, s in org_pairs]
    conds += [and_(_i.c.definition_version_id == v, _i.c.state == s,
                   _i.c.subject_unit_id == actor.unit_id) for v, s in unit_pairs]
    return conds


def due_dates_subquery():
    """instance id → due date of its current state entry (non-cancelled ``due`` timer)."""
    return (select(_t.c.instance_id, func.min(_t.c.due_date).label("due_date"))
            .join(_i, and_(_i.c.id == _t.c.instance_id, _i.c.state == _t.c.state))
            .where(_t.c.kind == "due", _t.c.status.in_(LIVE_TIMER))
            .group_by(_t.c.instance_id).subquery())


@dataclass(frozen=True)
class TaskFacet:
    """How many tasks the actor has in one process and state (for filters and paging)."""

    definition_key: str
    title: Label
    state: str
    state_label: Label
    count: int


def task_facets(db: Database, actor: Actor, *, conds: list | None = None) -> list[TaskFacet]:
    """The actor's tasks counted per process and state (one grouped query, plus the
    one of :func:`actionable` unless ``conds`` is given)."""
    conds = actionable(db, actor) if conds is None else conds
    query = (select(_i.c.definition_key, _i.c.definition_version_id, _i.c.state,
                    func.count().label("n"))
             .where(or_(*conds) if conds else false())
             .group_by(_i.c.definition_key, _i.c.definition_version_id, _i.c.state))
    with db.read() as conn:
        rows = conn.execute(query).all()
    merged: dict[tuple[str, str], list] = {}
    for r in rows:
        definition = compiled(db, r.definition_version_id).definition
        slot = merged.setdefault((r.definition_key, r.state), [
            definition.title, definition.states[r.state].label, 0])
        slot[2] += r.n
    return [TaskFacet(k, t, s, label, n) for (k, s), (t, label, n) in sorted(merged.items())]


def my_tasks(db: Database, actor: Actor, *, key: str | None = None, state: str | None = None,
             today: date | None = None, limit: int = 500, offset: int = 0,
             conds: list | None = None) -> list[Task]:
    """Instances ``actor`` can act on now, soonest due first (undated last), then by id
    (a stable order for paging: ``offset``/``limit``); ``conds`` from :func:`actionable`
    saves its query when the caller already has them."""
    conds = actionable(db, actor) if conds is None else conds
    due = due_dates_subquery()
    query = (select(_i.c.id, _i.c.definition_key, _i.c.definition_version_id, _i.c.state,
                    _i.c.version, _u.c.code, _u.c.name, _u.c.category, due.c.due_date)
             .select_from(_i.outerjoin(_u, _u.c.id == _i.c.subject_unit_id)
                          .outerjoin(due, due.c.instance_id == _i.c.id))
             .where(or_(*conds) if conds else false())
             .order_by(due.c.due_date.is_(None), due.c.due_date, _i.c.id)
             .limit(limit).offset(offset))
    if key:
        query = query.where(_i.c.definition_key == key)
    if state:
        query = query.where(_i.c.state == state)
    with db.read() as conn:
        rows = conn.execute(query).all()
    today = today or local_today()
    calendar = calendar_for(db)
    tasks = []
    for r in rows:
        definition = compiled(db, r.definition_version_id).definition
        left, level = urgency(r.due_date, today, calendar)
        tasks.append(Task(r.id, r.definition_key, definition.title, r.code, r.name, r.category,
                          r.state, definition.states[r.state].label, r.version, r.due_date,
                          left, level))
    return tasks
