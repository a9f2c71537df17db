"""The evaluation year as a parent process: opening a cycle and advancing parents.

:func:`open_cycle` creates, in ONE transaction, the year's ``evaluation_cycle``
instance (with a ``systems.bind`` fact for each indicator system of the year already
in force: :func:`engine.indicator_systems.bind_for_open`), the per-unit child instances of every unit in scope (annual plan, half-year
and annual self-assessments, unit evaluation) with their creation history entries,
timers and outbox rows, and the ``cycles`` row with the frozen settings. Opening the
same year twice is refused (the unique year, checked first and enforced by the schema).
The cycle instance carries the window settings in its data: its dated deadlines open
the half-year and annual self-assessment windows by themselves (the timer sweep fires
``open_midyear`` / ``open_self_assessment``, whose ``then_children`` open every unit's
report in the same transaction), and each report still open at the end of its due
day is marked overdue by its own deadline. The office may do either earlier by hand
(:func:`advance`, :func:`fire_children`).

:func:`advance` fires a parent transition (``fire()`` reads a ``when_children``
condition from the children in its own transaction, and the system advances a parent by
itself when the last child arrives: :mod:`engine.children`); :func:`force` fires a
comment-required force twin and appends the units not done to the comment, so the
history records them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select

from .authz import Actor, denial, usable_role
from .clock import utcnow
from .cycle_config import CycleConfig
from .db import Database
from .exceptions import InvalidInput, NotFound
from .indicator_systems import bind_for_open
from .children import pending_by_definition
from .instances import FireResult, create_instances, fire, fire_on
from .models import HistoryEntry, Instance, Unit
from .registry import compiled, latest
from .scoring_models import Cycle

_i, _h, _u, _c = Instance.__table__, HistoryEntry.__table__, Unit.__table__, Cycle.__table__
CYCLE_KEY = "evaluation_cycle"
CHILD_KEYS = ("performance_plan", "half_year_self_assessment", "annual_self_assessment",
              "unit_evaluation")
OPEN_ROLES = ("office", "admin")


@dataclass(frozen=True)
class OpenedCycle:
    """What :func:`open_cycle` created."""

    cycle_id: int
    year: int
    instance_id: int
    units: int
    children: int


def open_cycle(db: Database, year: int, actor: Actor, config: CycleConfig | None = None,
               *, child_keys: tuple[str, ...] = CHILD_KEYS) -> OpenedCycle:
    """Open evaluation year ``year``: the cycle and every in-scope unit's instances."""
    config = config or CycleConfig()
    role = usable_role(actor, OPEN_ROLES, None)
    if role is None:
        raise denial(actor, OPEN_ROLES, None, "cycle_open")
    parent_comp = latest(db, CYCLE_KEY)
    child_comps = [latest(db, key) for key in child_keys]
    with db.write() as conn:
        if conn.execute(select(_c.c.id).where(_c.c.year == year)).first() is not None:
            raise InvalidInput(f"{year} 年度考评已开启,不能重复开启 — the {year} cycle is already "
                               f"open", year=year)
        query = select(_u.c.id).order_by(_u.c.code)
        if config.categories is not None:
            query = query.where(_u.c.category.in_(config.categories))
        units = list(conn.execute(query).scalars())
        if not units:
            raise InvalidInput("没有在考评范围内的单位 — no units in scope; import units first")
        now = utcnow()
        [parent] = create_instances(conn, db, parent_comp, actor, role, [{"subject_unit_id": None,
                                                             "data": _cycle_data(year, config)}],
                           now)
        bind_for_open(conn, db, parent, year, actor, role)
        created = 0
        for comp in child_comps:
            # a child declaring ``year`` carries the cycle's: its date deadlines fall in
            # that year even when the cycle is opened in the December before
            data = {"year": year} if "year" in comp.definition.fields else {}
            created += len(create_instances(conn, db, comp, actor, role, [
                {"subject_unit_id": u, "parent_id": parent, "data": dict(data)}
                for u in units], now))
        cycle_id = conn.execute(insert(_c).values(
            year=year, instance_id=parent, config=config.to_json(), opened_by=actor.username,
            created_at=now).returning(_c.c.id)).scalar_one()
    return OpenedCycle(cycle_id, year, parent, len(units), created)


def _cycle_data(year: int, config: CycleConfig) -> dict[str, Any]:
    """The cycle instance's data: its year and the window settings its dated deadlines
    read (``due: {date: …, field: …}``)."""
    return {"year": year, "half_year_window_opens": config.half_year_window_opens,
            "annual_window_opens": config.annual_window_opens}


def cycle_for_year(db: Database, year: int) -> dict[str, Any]:
    """The ``cycles`` row of ``year`` (NotFound when it was never opened)."""
    with db.read() as conn:
        row = conn.execute(select(_c).where(_c.c.year == year)).first()
    if row is None:
        raise NotFound(f"{year} 年度考评尚未开启 — no cycle for {year}", year=year)
    return dict(row._mapping)


def advance(db: Database, instance_id: int, trigger: str, actor: Actor, *,
            comment: str | None = None, expected_version: int | None = None) -> FireResult:
    """Fire ``trigger`` on a parent; its ``when_children`` is read in fire's transaction
    (the same as :func:`engine.fire`, named for the CLI's ``cycle advance``)."""
    return fire(db, instance_id, trigger, actor, comment=comment,
                expected_version=expected_version)


def force(db: Database, instance_id: int, trigger: str, actor: Actor, reason: str, *,
          expected_version: int | None = None) -> FireResult:
    """Fire the force transition ``trigger`` with ``reason``; the units whose children
    block the matching ``when_children`` transition are appended to the comment."""
    if not reason or not reason.strip():
        raise InvalidInput("强制推进须说明理由 — forcing needs a reason", trigger=trigger)
    with db.read() as conn:
        row = conn.execute(select(_i.c.definition_version_id, _i.c.state)
                           .where(_i.c.id == instance_id)).first()
        if row is None:
            raise NotFound(f"没有编号为 {instance_id} 的事项 — no instance {instance_id}")
        comp = compiled(db, row.definition_version_id)
        forced = comp.candidates.get((row.state, trigger), ())
        dests = {t.dest for t in forced}
        groups: dict[str, list[str]] = {}
        for t in comp.definition.transitions_from(row.state):
            if t.when_children is not None and t.dest in dests:
                for key, labels in pending_by_definition(conn, instance_id, t):
                    groups.setdefault(key, []).extend(
                        x for x in labels if x not in groups.get(key, ()))
    note = _not_done(groups)
    return advance(db, instance_id, trigger, actor, comment=reason.strip() + note,
                   expected_version=expected_version)


def _not_done(groups: dict[str, list[str]]) -> str:
    """The comment line(s) naming the children not done: one line when one child
    definition is waited for (the units), one per definition when several are."""
    if len(groups) <= 1:
        pending = next(iter(groups.values()), [])
        return (f"\n未完成单位 units not done ({len(pending)}): " + "、".join(pending)
                if pending else "\n未完成单位 units not done: 无 none")
    return "".join(f"\n未完成 {key} not done ({len(labels)}): " + ("、".join(labels) or "无 none")
                   for key, labels in groups.items())


def children_count(db: Database, parent_id: int) -> dict[str, int]:
    """How many children of each definition ``parent_id`` has."""
    with db.read() as conn:
        rows = conn.execute(select(_i.c.definition_key, func.count()).where(
            _i.c.parent_id == parent_id).group_by(_i.c.definition_key)).all()
    return {k: n for k, n in rows}


def fire_children(db: Database, year: int, key: str, trigger: str, actor: Actor, *,
                  states: tuple[str, ...] | None = None,
                  comment: str | None = None) -> list[FireResult]:
    """Fire ``trigger`` on every child of ``key`` of the ``year`` cycle (those in
    ``states``, default: every state the trigger leaves), in ONE transaction — e.g.
    opening the self-assessment window for every unit, or marking the late ones overdue.
    Any refusal rolls the whole batch back."""
    parent = cycle_for_year(db, year)["instance_id"]
    comp = latest(db, key)
    sources = states or tuple(dict.fromkeys(
        s for t in comp.definition.transitions if t.trigger == trigger for s in t.sources))
    if not sources:
        raise InvalidInput(f"{key} 没有 {trigger} 操作 — {key} has no trigger {trigger!r}")
    with db.write() as conn:
        ids = list(conn.execute(select(_i.c.id).where(
            _i.c.parent_id == parent, _i.c.definition_key == key, _i.c.state.in_(sources))
            .order_by(_i.c.id)).scalars())
        return [fire_on(conn, db, i, trigger, actor, comment=comment) for i in ids]
