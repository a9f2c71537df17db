"""The instances list: one page of the instances an actor may see, filtered by process,
state, unit and "overdue only", with the total count and the filters' choices.

A fixed number of queries, whatever the number of instances or units: the processes
and versions present (for the process and state choices), the units (organisation-wide
actors only, for the unit choice), the count and one page of rows (with each row's
current due date). Unit users are confined to their own unit's instances in SQL; a
unit filter naming another unit is combined with that confinement, so it lists nothing.
Labels come from the compiled definitions (cached).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import exists, func, select

from workflow.spec import Label

from .authz import Actor
from .clock import local_today
from .db import Database
from .models import Instance, Timer, Unit
from .paging import clamp_page
from .registry import compiled
from .tasks import LIVE_TIMER, due_dates_subquery

_i, _u, _t = Instance.__table__, Unit.__table__, Timer.__table__

#: Rows per page of the instances list.
PAGE_SIZE = 50


@dataclass(frozen=True)
class ListedInstance:
    """One row of the instances list, with labels in both languages."""

    id: int
    definition_key: str
    title: Label
    unit_code: str | None
    unit_name: str | None
    state: str
    state_label: Label
    final: bool
    updated_at: datetime
    due_date: date | None
    overdue: bool


@dataclass
class InstancePage:
    """One page of the list, the total over every page, and the filters' choices:
    processes (key → title), their states (key → state → label) and, for
    organisation-wide actors, the units (empty for unit users)."""

    rows: list[ListedInstance]
    total: int
    page: int
    pages: int
    processes: dict[str, Label] = field(default_factory=dict)
    states: dict[str, dict[str, Label]] = field(default_factory=dict)
    units: list[dict] = field(default_factory=list)

    def state_choices(self, key: str | None = None) -> dict[str, Label]:
        """The states to filter by: ``key``'s, or every process's (first label wins)."""
        if key and key in self.states:
            return self.states[key]
        merged: dict[str, Label] = {}
        for choices in self.states.values():
            for name, label in choices.items():
                merged.setdefault(name, label)
        return merged


def _overdue(today: date):
    """SQL: the instance's current state has a live due timer before ``today``."""
    return exists().where(_t.c.instance_id == _i.c.id, _t.c.state == _i.c.state,
                          _t.c.kind == "due", _t.c.status.in_(LIVE_TIMER),
                          _t.c.due_date < today)


def _conditions(actor: Actor, *, key: str | None, state: str | None,
                unit_code: str | None, overdue_only: bool, today: date) -> list:
    conds = []
    if not actor.is_org_wide:
        conds.append(_i.c.subject_unit_id == actor.unit_id)
    if key:
        conds.append(_i.c.definition_key == key)
    if state:
        conds.append(_i.c.state == state)
    if unit_code:
        conds.append(_i.c.subject_unit_id.in_(select(_u.c.id).where(_u.c.code == unit_code)))
    if overdue_only:
        conds.append(_overdue(today))
    return conds


def list_page(db: Database, actor: Actor, *, key: str | None = None,
              state: str | None = None, unit_code: str | None = None,
              overdue_only: bool = False, page: int = 1, page_size: int = PAGE_SIZE,
              today: date | None = None) -> InstancePage:
    """One page (1-based, clamped to the last) of the instances ``actor`` may see,
    newest first, filtered; four queries (three for unit users)."""
    today = today or local_today()
    conds = _conditions(actor, key=key, state=state, unit_code=unit_code,
                        overdue_only=overdue_only, today=today)
    visible = [] if actor.is_org_wide else [_i.c.subject_unit_id == actor.unit_id]
    due = due_dates_subquery()
    rows_q = (select(_i.c.id, _i.c.definition_key, _i.c.definition_version_id, _i.c.state,
                     _i.c.updated_at, _u.c.code, _u.c.name, due.c.due_date)
              .select_from(_i.outerjoin(_u, _u.c.id == _i.c.subject_unit_id)
                           .outerjoin(due, due.c.instance_id == _i.c.id))
              .where(*conds).order_by(_i.c.id.desc()))
    with db.read() as conn:
        versions = conn.execute(select(_i.c.definition_key, _i.c.definition_version_id)
                                .where(*visible).distinct()).all()
        units = [dict(r._mapping) for r in conn.execute(
            select(_u.c.id, _u.c.code, _u.c.name).order_by(_u.c.code, _u.c.id))] \
            if actor.is_org_wide else []
        total = conn.execute(select(func.count()).select_from(_i)
                             .where(*conds)).scalar_one()
        page, pages = clamp_page(page, total, page_size)
        rows = conn.execute(rows_q.limit(page_size).offset((page - 1) * page_size)).all() \
            if total else []
    processes: dict[str, Label] = {}
    states: dict[str, dict[str, Label]] = {}
    for r in sorted(versions, key=lambda r: (r.definition_key, -r.definition_version_id)):
        definition = compiled(db, r.definition_version_id).definition
        processes.setdefault(r.definition_key, definition.title)
        choices = states.setdefault(r.definition_key, {})
        for name, spec in definition.states.items():
            choices.setdefault(name, spec.label)
    listed = []
    for r in rows:
        definition = compiled(db, r.definition_version_id).definition
        spec = definition.states[r.state]
        listed.append(ListedInstance(
            r.id, r.definition_key, definition.title, r.code, r.name, r.state, spec.label,
            spec.final, r.updated_at, r.due_date,
            r.due_date is not None and r.due_date < today and not spec.final))
    return InstancePage(listed, total, page, pages, dict(sorted(processes.items())),
                        states, units)


__all__ = ["PAGE_SIZE", "ListedInstance", "InstancePage", "list_page"]
