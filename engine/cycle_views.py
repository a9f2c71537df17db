"""Reads behind the cycle, results and appeals pages: a fixed number of queries each.

:func:`list_cycles` lists the years with their children's states; :func:`cycle_overview`
shows one year's parent state, its children per definition and per unit category, and
the next steps with the units still pending for each ``when_children`` condition (and
for its force twin). :func:`appeals_of` lists a year's appeals with their due dates;
:func:`appeal_changes` the old and new results an adjustment stored. Nothing here
changes state: the pages act through :mod:`engine.cycles`, :mod:`engine.results` and
:mod:`engine.appeals`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from workflow.spec import Label

from .appeals import OVERALL
from .authz import Actor
from .children import pending_children
from .cycles import CHILD_KEYS, cycle_for_year
from .db import Database
from .models import Instance, Unit
from .queries import available_triggers
from .registry import compiled, latest
from .results import COMPONENT_ITEMS, indicator_systems, verified_by
from .scoring_models import Cycle, ResultChange, ResultRow, Veto
from .tasks import due_dates_subquery

_i, _u, _c = Instance.__table__, Unit.__table__, Cycle.__table__
_v, _rc, _r = Veto.__table__, ResultChange.__table__, ResultRow.__table__


@dataclass(frozen=True)
class Step:
    """A transition leaving the cycle's current state, as the page offers it."""

    trigger: str
    label: Label | str
    dest: str
    dest_label: Label
    allowed: bool
    comment_required: bool
    force: bool  # a comment-required twin of a ``when_children`` transition
    pending: tuple[str, ...] = ()  # units whose children are not done (code name)
    waits_for: tuple[str, ...] = ()  # the child definitions its conditions read
    reasons: tuple[str, ...] = ()


@dataclass
class CycleOverview:
    """One evaluation year as its page shows it."""

    year: int
    instance_id: int
    state: str
    state_label: Label
    final: bool
    version: int
    opened_by: str
    opened_at: datetime
    config: dict[str, Any]
    processes: dict[str, Label] = field(default_factory=dict)
    # definition key -> [(state, label, count)] in the definition's state order
    by_definition: dict[str, list[tuple[str, Label, int]]] = field(default_factory=dict)
    # category -> definition key -> state -> count
    by_category: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)


def list_cycles(db: Database) -> list[dict[str, Any]]:
    """Every cycle, newest year first, with its state and its children per state."""
    with db.read() as conn:
        rows = conn.execute(select(_c.c.year, _c.c.instance_id, _c.c.opened_by,
                                   _c.c.created_at, _i.c.state, _i.c.definition_version_id)
                            .join(_i, _i.c.id == _c.c.instance_id)
                            .order_by(_c.c.year.desc())).all()
        counts = conn.execute(select(_i.c.parent_id, _i.c.state, func.count())
                              .where(_i.c.parent_id.in_([r.instance_id for r in rows]))
                              .group_by(_i.c.parent_id, _i.c.state)).all()
    per: dict[int, dict[str, int]] = defaultdict(dict)
    for parent, state, n in counts:
        per[parent][state] = n
    out = []
    for r in rows:
        states = compiled(db, r.definition_version_id).definition.states
        out.append({"year": r.year, "instance_id": r.instance_id, "state": r.state,
                    "state_label": states[r.state].label, "final": states[r.state].final,
                    "opened_by": r.opened_by, "opened_at": r.created_at,
                    "children": dict(sorted(per[r.instance_id].items())),
                    "total": sum(per[r.instance_id].values())})
    return out


def _counts(db: Database, parent_id: int):
    with db.read() as conn:
        return conn.execute(
            select(_i.c.definition_key, _i.c.definition_version_id, _u.c.category, _i.c.state,
                   func.count())
            .select_from(_i.outerjoin(_u, _u.c.id == _i.c.subject_unit_id))
            .where(_i.c.parent_id == parent_id)
            .group_by(_i.c.definition_key, _i.c.definition_version_id, _u.c.category,
                      _i.c.state)).all()


def cycle_overview(db: Database, year: int, actor: Actor) -> CycleOverview:
    """The ``year`` cycle: state, children per definition and category, next steps."""
    cycle = cycle_for_year(db, year)
    parent_id = cycle["instance_id"]
    with db.read() as conn:
        parent = conn.execute(select(_i.c.state, _i.c.definition_version_id, _i.c.version)
                              .where(_i.c.id == parent_id)).one()
    comp = compiled(db, parent.definition_version_id)
    state = comp.definition.states[parent.state]
    view = CycleOverview(year, parent_id, parent.state, state.label, state.final,
                         parent.version, cycle["opened_by"], cycle["created_at"],
                         dict(cycle["config"] or {}))
    flat: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, version_id, category, child_state, n in _counts(db, parent_id):
        definition = compiled(db, version_id).definition
        view.processes.setdefault(key, definition.title)
        flat[key][child_state] += n
        cat = view.by_category.setdefault(category or "—", {})
        cat.setdefault(key, {})
        cat[key][child_state] = cat[key].get(child_state, 0) + n
    known = list(CHILD_KEYS)
    for key in sorted(flat, key=lambda k: (known.index(k) if k in known else len(known), k)):
        states, definition = flat[key], latest(db, key).definition
        order = list(definition.states)
        view.by_definition[key] = [
            (s, definition.state_label(s), states[s])
            for s in sorted(states, key=lambda s: order.index(s) if s in order else len(order))]
    view.steps = _steps(db, comp, parent_id, parent.state, actor)
    return view


def _steps(db: Database, comp, parent_id: int, state: str, actor: Actor) -> list[Step]:
    """The transitions from ``state`` with their availability and pending units."""
    available = {a.trigger: a for a in available_triggers(db, parent_id, actor)}
    leaving = comp.definition.transitions_from(state)
    waiting: dict[str, tuple] = {}
    for t in leaving:
        if t.children_conditions:
            waiting[t.dest] = waiting.get(t.dest, ()) + t.children_conditions
    with db.read() as conn:
        pending = {c: pending_children(conn, parent_id, c)
                   for conds in waiting.values() for c in conds}
    steps = []
    for t in leaving:
        a = available[t.trigger]
        conds = t.children_conditions or (waiting.get(t.dest, ()) if t.comment_required else ())
        units = tuple(dict.fromkeys(u for c in conds for u in pending[c]))
        steps.append(Step(t.trigger, t.label or t.trigger, t.dest,
                          comp.definition.states[t.dest].label, a.allowed, t.comment_required,
                          not t.children_conditions and bool(conds), units,
                          tuple(dict.fromkeys(c.definition for c in conds)), a.reasons))
    return steps


def appeals_of(db: Database, year: int) -> list[dict[str, Any]]:
    """The ``year`` cycle's appeals, newest first: state, unit, item, grounds, filed at,
    and the due date of the current state (None when it has none)."""
    parent_id = cycle_for_year(db, year)["instance_id"]
    due = due_dates_subquery()
    with db.read() as conn:
        rows = conn.execute(
            select(_i.c.id, _i.c.state, _i.c.definition_version_id, _i.c.data, _i.c.created_at,
                   _u.c.code, _u.c.name, _u.c.id.label("unit_id"), due.c.due_date)
            .select_from(_i.outerjoin(_u, _u.c.id == _i.c.subject_unit_id)
                         .outerjoin(due, due.c.instance_id == _i.c.id))
            .where(_i.c.parent_id == parent_id, _i.c.definition_key == "appeal")
            .order_by(_i.c.id.desc())).all()
    out = []
    for r in rows:
        states = compiled(db, r.definition_version_id).definition.states
        data = dict(r.data or {})
        out.append({"id": r.id, "state": r.state, "state_label": states[r.state].label,
                    "final": states[r.state].final, "unit_id": r.unit_id, "code": r.code,
                    "name": r.name, "item": data.get("item"), "grounds": data.get("grounds"),
                    "filed_in_time": data.get("filed_in_time"), "decision": data.get("decision"),
                    "filed_at": r.created_at, "due": r.due_date})
    return out


def appeal_changes(db: Database, year: int) -> dict[int, list[dict[str, Any]]]:
    """Per appeal of ``year``, the results its adjustment changed (old and new values)."""
    cycle = cycle_for_year(db, year)
    with db.read() as conn:
        rows = conn.execute(select(_rc, _u.c.code, _u.c.name).join(_u, _u.c.id == _rc.c.unit_id)
                            .where(_rc.c.cycle_id == cycle["id"], _rc.c.appeal_id.is_not(None))
                            .order_by(_rc.c.id)).all()
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[r.appeal_id].append(dict(r._mapping))
    return dict(out)


def vetoes_of(db: Database, year: int) -> dict[int, list[str]]:
    """Per unit id, the veto items recorded against it in ``year``."""
    cycle = cycle_for_year(db, year)
    with db.read() as conn:
        rows = conn.execute(select(_v.c.unit_id, _v.c.item).where(_v.c.cycle_id == cycle["id"])
                            .order_by(_v.c.id)).all()
    out: dict[int, list[str]] = defaultdict(list)
    for unit_id, item in rows:
        out[unit_id].append(item)
    return dict(out)


def _cycle_instance(conn, year: int | None) -> int | None:
    """The cycle instance of ``year`` (default: the newest cycle), or None."""
    query = select(_c.c.instance_id)
    query = query.where(_c.c.year == year) if year is not None else \
        query.order_by(_c.c.year.desc()).limit(1)
    return conn.execute(query).scalar()


def veto_rows(db: Database, year: int) -> list[dict[str, Any]]:
    """The vetoes of ``year`` with their unit, item, reason and who recorded them."""
    cycle = cycle_for_year(db, year)
    with db.read() as conn:
        rows = conn.execute(select(_v, _u.c.code, _u.c.name).join(_u, _u.c.id == _v.c.unit_id)
                            .where(_v.c.cycle_id == cycle["id"]).order_by(_v.c.id)).all()
    return [dict(r._mapping) for r in rows]


def entry_items(db: Database, actor: Actor, year: int | None = None) -> list[str]:
    """The items ``actor`` may enter scores for in ``year`` (default: the newest cycle)
    — the rule of :func:`engine.results.enter_scores`: the office every indicator of
    the systems bound to the year and both components, an expert the indicators whose
    verifying unit is theirs, a leader the leadership score."""
    with db.read() as conn:
        iid = _cycle_instance(conn, year)
        systems = indicator_systems(conn, iid) if iid is not None else {}
        mine = verified_by(conn, actor, iid) if "expert" in actor.roles else set()
    items: list[str] = []
    if "office" in actor.roles:
        items += [i.code for rows in systems.values() for i in rows] + list(COMPONENT_ITEMS)
    items += [code for _, code in sorted(mine)]
    if "leader" in actor.roles:
        items.append("leadership")
    return list(dict.fromkeys(items))


def unit_items(db: Database, unit_id: int, *, overall: bool = False,
               year: int | None = None) -> list[str]:
    """What a unit's result is made of in ``year`` (default: the newest cycle): its
    category's indicators in the system bound to the year, public and leadership (and,
    with ``overall``, the result as a whole — what an appeal may name)."""
    return items_by_unit(db, [unit_id], overall=overall, year=year)[unit_id]


def items_by_unit(db: Database, unit_ids: list[int], *, overall: bool = False,
                  year: int | None = None) -> dict[int, list[str]]:
    """:func:`unit_items` of several units at once (a fixed number of queries, whatever
    their number: for a page listing many appeals)."""
    ids = list(dict.fromkeys(unit_ids))
    with db.read() as conn:
        categories = dict(conn.execute(select(_u.c.id, _u.c.category)
                                       .where(_u.c.id.in_(ids))).all()) if ids else {}
        iid = _cycle_instance(conn, year) if ids else None
        systems = indicator_systems(conn, iid) if iid is not None else {}
    head = [OVERALL] if overall else []
    return {u: head + [i.code for i in systems.get(categories.get(u), [])]
            + list(COMPONENT_ITEMS) for u in ids}


def scope_units(db: Database, year: int) -> list[dict[str, Any]]:
    """The units in the ``year`` cycle's scope (its ``categories`` setting), by code."""
    categories = (cycle_for_year(db, year)["config"] or {}).get("categories")
    query = select(_u.c.id, _u.c.code, _u.c.name, _u.c.category).order_by(_u.c.code)
    if categories is not None:
        query = query.where(_u.c.category.in_(categories))
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


#: Cycle stages from which scores are entered and results exist or are on their way.
SCORING_STAGES = frozenset({"verification", "scoring", "review_approval", "publicity",
                            "appeals", "finalised", "results_applied", "closed"})


def result_years(db: Database) -> list[dict[str, Any]]:
    """Every cycle's year, newest first, with its stage and whether results have been
    computed and published (one query) — for choosing which year a results page shows."""
    with db.read() as conn:
        found = conn.execute(
            select(_c.c.year, _i.c.state, func.count(_r.c.id), func.count(_r.c.published_at))
            .join(_i, _i.c.id == _c.c.instance_id).outerjoin(_r, _r.c.cycle_id == _c.c.id)
            .group_by(_c.c.year, _i.c.state).order_by(_c.c.year.desc())).all()
    return [{"year": year, "state": state, "computed": computed > 0, "published": published > 0}
            for year, state, computed, published in found]


def default_result_year(years: list[dict[str, Any]], *, org_wide: bool,
                        today_year: int) -> int:
    """The year a results page opens on: for the office and other organisation-wide
    readers the newest cycle that has reached scoring (or has results), for everyone
    else the newest year with published results; else the newest cycle; else this year."""
    for y in years:
        if (org_wide and (y["computed"] or y["state"] in SCORING_STAGES)) or y["published"]:
            return y["year"]
    return years[0]["year"] if years else today_year
