"""The office dashboard's reads: units × processes, completion, overdue, escalations,
progress over the year, scheduler heartbeat, calendar warnings.

Each read is a fixed number of queries, whatever the number of units: the matrix reads
the unit count, one page of units, their newest instances and the state counts (grouped
in SQL); the overdue list, the escalations and the scheduler heartbeats one query
each; the progress chart two grouped queries. Labels come from the compiled
definitions (cached). ``parent_id`` (a cycle's ``evaluation_cycle`` instance) confines
a read to that cycle's children.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, false, func, literal_column, or_, select

from workflow.spec import Label

from .calendar import calendar_for
from .clock import local_today, local_zone, utcnow
from .db import Database
from .models import HistoryEntry, Instance, SchedulerHeartbeat, Timer, Unit
from .paging import clamp_page
from .registry import compiled
from .tasks import LIVE_TIMER

_i, _u, _t, _hb = Instance.__table__, Unit.__table__, Timer.__table__, SchedulerHeartbeat.__table__
_h = HistoryEntry.__table__


@dataclass(frozen=True)
class Cell:
    """The newest instance of one process for one unit."""

    instance_id: int
    state: str
    label: Label
    final: bool


@dataclass
class Matrix:
    """Units × processes (one page of units), with completion (final-state share) and
    state counts per category over every unit, not only the page (in the definition's
    state order; ``state_info`` gives each counted state's label and final flag)."""

    units: list[dict]
    processes: dict[str, Label]
    cells: dict[tuple[int, str], Cell]
    completion: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    state_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    state_info: dict[str, dict[str, tuple[Label, bool]]] = field(default_factory=dict)
    total_units: int = 0
    page: int = 1
    pages: int = 1
    categories: list[str] = field(default_factory=list)


def _newest(parent_id: int | None, keys: tuple[str, ...] | None,
            unit_ids: list[int] | None = None):
    """The newest instance id per (unit, process) (of ``unit_ids``), as a subquery."""
    q = (select(func.max(_i.c.id).label("id"))
         .where(_i.c.subject_unit_id.is_not(None) if unit_ids is None
                else _i.c.subject_unit_id.in_(unit_ids))
         .group_by(_i.c.subject_unit_id, _i.c.definition_key))
    if parent_id is not None:
        q = q.where(_i.c.parent_id == parent_id)
    if keys:
        q = q.where(_i.c.definition_key.in_(keys))
    return q.subquery()


def matrix(db: Database, *, keys: tuple[str, ...] | None = None,
           category: str | None = None, parent_id: int | None = None, page: int = 1,
           page_size: int | None = None) -> Matrix:
    """The units × processes matrix: five queries, whatever the number of units — the
    categories, the unit count, one page of units (all when ``page_size`` is None),
    their newest instances, and the state counts per category, process and state (in
    SQL).
    ``parent_id`` confines it to one cycle's children."""
    units_q = select(_u.c.id, _u.c.code, _u.c.name, _u.c.category).order_by(_u.c.code, _u.c.id)
    count_q = select(func.count()).select_from(_u)
    newest = _newest(parent_id, keys)
    summary_q = (select(_u.c.category, _i.c.definition_key, _i.c.definition_version_id,
                        _i.c.state, func.count().label("n"))
                 .select_from(_i.join(newest, newest.c.id == _i.c.id)
                              .join(_u, _u.c.id == _i.c.subject_unit_id))
                 .group_by(_u.c.category, _i.c.definition_key, _i.c.definition_version_id,
                           _i.c.state))
    if category:
        units_q = units_q.where(_u.c.category == category)
        count_q = count_q.where(_u.c.category == category)
        summary_q = summary_q.where(_u.c.category == category)
    with db.read() as conn:
        categories = sorted(c for c in conn.execute(
            select(_u.c.category).distinct()).scalars() if c)
        total = conn.execute(count_q).scalar_one()
        page, pages = clamp_page(page, total, page_size) if page_size else (1, 1)
        if page_size:
            units_q = units_q.limit(page_size).offset((page - 1) * page_size)
        units = [dict(r._mapping) for r in conn.execute(units_q)]
        summary = conn.execute(summary_q).all()
        page_newest = _newest(parent_id, keys, [u["id"] for u in units])
        rows = conn.execute(
            select(_i.c.id, _i.c.subject_unit_id, _i.c.definition_key,
                   _i.c.definition_version_id, _i.c.state)
            .select_from(_i.join(page_newest, page_newest.c.id == _i.c.id))).all() \
            if units else []
    cells: dict[tuple[int, str], Cell] = {}
    for r in rows:
        spec = compiled(db, r.definition_version_id).definition.states[r.state]
        cells[(r.subject_unit_id, r.definition_key)] = Cell(r.id, r.state, spec.label, spec.final)
    result = Matrix(units, {}, cells, total_units=total, page=page, pages=pages,
                    categories=categories)
    _summarise(db, result, summary)
    return result


def _summarise(db: Database, m: Matrix, summary) -> None:
    done: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    info: dict[str, dict[str, tuple[Label, bool]]] = defaultdict(dict)
    positions: dict[str, list[str]] = {}
    processes: dict[str, Label] = {}
    for r in summary:
        definition = compiled(db, r.definition_version_id).definition
        processes.setdefault(r.definition_key, definition.title)
        spec = definition.states[r.state]
        info[r.definition_key].setdefault(r.state, (spec.label, spec.final))
        positions.setdefault(r.definition_key, list(definition.states))
        slot = done[r.category or "—"][r.definition_key]
        slot[0] += r.n if definition.states[r.state].final else 0
        slot[1] += r.n
        counts[r.definition_key][r.state] += r.n
    m.processes = dict(sorted(processes.items()))
    m.completion = {c: {k: tuple(v) for k, v in d.items()} for c, d in sorted(done.items())}
    order = {k: {state: n for n, state in enumerate(states)} for k, states in positions.items()}
    m.state_counts = {k: dict(sorted(v.items(), key=lambda kv: order[k].get(kv[0], 0)))
                      for k, v in sorted(counts.items())}
    m.state_info = dict(info)


@dataclass(frozen=True)
class Overdue:
    """One instance past the due date of its current state."""

    instance_id: int
    definition_key: str
    title: Label
    unit_code: str | None
    unit_name: str | None
    state_label: Label
    due_date: date
    working_days_overdue: int


def _overdue_where(query, today: date, parent_id: int | None):
    query = query.where(_t.c.kind == "due", _t.c.status.in_(LIVE_TIMER), _t.c.due_date < today)
    return query if parent_id is None else query.where(_i.c.parent_id == parent_id)


def count_overdue(db: Database, *, today: date | None = None,
                  parent_id: int | None = None) -> int:
    """How many instances :func:`overdue` would list without a limit (one query)."""
    today = today or local_today()
    query = _overdue_where(select(func.count(func.distinct(_i.c.id))).select_from(
        _t.join(_i, and_(_i.c.id == _t.c.instance_id, _i.c.state == _t.c.state))),
        today, parent_id)
    with db.read() as conn:
        return conn.execute(query).scalar_one()


def overdue(db: Database, *, today: date | None = None, limit: int = 500,
            parent_id: int | None = None) -> list[Overdue]:
    """Instances whose current state's due date has passed, most overdue first (one
    query; ``parent_id``: one cycle's children)."""
    today = today or local_today()
    query = (select(_i.c.id, _i.c.definition_key, _i.c.definition_version_id, _i.c.state,
                    _u.c.code, _u.c.name, _t.c.due_date)
             .select_from(_t.join(_i, and_(_i.c.id == _t.c.instance_id,
                                           _i.c.state == _t.c.state))
                          .outerjoin(_u, _u.c.id == _i.c.subject_unit_id))
             .order_by(_t.c.due_date, _i.c.id).limit(limit))
    query = _overdue_where(query, today, parent_id)
    with db.read() as conn:
        rows = conn.execute(query).all()
    calendar = calendar_for(db)
    out, seen, late = [], set(), {}
    for r in rows:
        if r.id in seen:
            continue
        seen.add(r.id)
        if r.due_date not in late:  # many share a due date; counting days is not free
            late[r.due_date] = calendar.working_days_between(r.due_date, today)
        definition = compiled(db, r.definition_version_id).definition
        out.append(Overdue(r.id, r.definition_key, definition.title, r.code, r.name,
                           definition.states[r.state].label, r.due_date, late[r.due_date]))
    return out


def scheduler_status(db: Database, now: datetime | None = None) -> list[dict]:
    """Every scheduler heartbeat, newest first, with ``alive`` worked out."""
    now = now or utcnow()
    with db.read() as conn:
        rows = [dict(r) for r in conn.execute(
            select(_hb).order_by(_hb.c.beat_at.desc())).mappings()]
    for beat in rows:
        age = (now - beat["beat_at"]).total_seconds()
        beat["alive"] = beat["stopped_at"] is None and age <= 3 * max(beat["interval_s"], 1) + 5
    return rows


def calendar_warnings(db: Database, today: date | None = None) -> list[Label]:
    """Warnings about years without official holiday data that deadlines depend on, in
    both languages (the page shows the user's)."""
    from .timers import flagged_timers

    today = today or local_today()
    calendar = calendar_for(db)
    warnings = []
    if not calendar.is_covered(today.year + (1 if today.month >= 11 else 0)):
        warnings.append(Label(f"{today.year + 1} 年节假日安排尚未导入",
                              f"The {today.year + 1} holiday calendar has not been imported"))
    for year, count in sorted(flagged_timers(db).items()):
        warnings.append(Label(f"{count} 个期限依赖 {year} 年的节假日数据(尚未发布)",
                              f"{count} deadline(s) depend on {year}, which has no official "
                              f"calendar data yet"))
    return warnings


def cycles(db: Database) -> list[dict]:
    """Every evaluation cycle (year, its ``evaluation_cycle`` instance), newest first."""
    from .scoring_models import Cycle

    _c = Cycle.__table__
    with db.read() as conn:
        return [dict(r) for r in conn.execute(
            select(_c.c.id, _c.c.year, _c.c.instance_id).order_by(_c.c.year.desc())).mappings()]


@dataclass(frozen=True)
class Escalation:
    """An escalation timer that took effect: who was escalated to, and when."""

    instance_id: int
    definition_key: str
    title: Label
    unit_code: str | None
    unit_name: str | None
    state: str
    state_label: Label
    level: int
    notify: tuple[str, ...]
    fired_at: datetime | None
    outcome: str | None


def escalations(db: Database, *, parent_id: int | None = None,
                limit: int = 200) -> list[Escalation]:
    """Escalation timers that fired (``escalate:N`` slots now ``done``), newest first;
    ``parent_id`` confines them to one cycle's children. One query."""
    query = (select(_t.c.instance_id, _t.c.state, _t.c.slot, _t.c.notify, _t.c.fired_at,
                    _t.c.outcome, _i.c.definition_key, _i.c.definition_version_id,
                    _u.c.code, _u.c.name)
             .select_from(_t.join(_i, _i.c.id == _t.c.instance_id)
                          .outerjoin(_u, _u.c.id == _i.c.subject_unit_id))
             .where(_t.c.kind == "escalate", _t.c.status == "done")
             .order_by(_t.c.fired_at.desc(), _t.c.id.desc()).limit(limit))
    if parent_id is not None:
        query = query.where(_i.c.parent_id == parent_id)
    with db.read() as conn:
        rows = conn.execute(query).all()
    out = []
    for r in rows:
        definition = compiled(db, r.definition_version_id).definition
        level = int(r.slot.split(":")[1]) + 1 if r.slot and ":" in r.slot else 1
        out.append(Escalation(r.instance_id, r.definition_key, definition.title, r.code,
                              r.name, r.state, definition.state_label(r.state),
                              level, tuple(r.notify or ()), r.fired_at, r.outcome))
    return out


def count_escalations(db: Database, *, parent_id: int | None = None) -> int:
    """How many escalations :func:`escalations` would list without a limit."""
    query = (select(func.count()).select_from(_t.join(_i, _i.c.id == _t.c.instance_id))
             .where(_t.c.kind == "escalate", _t.c.status == "done"))
    if parent_id is not None:
        query = query.where(_i.c.parent_id == parent_id)
    with db.read() as conn:
        return conn.execute(query).scalar_one()


#: The states that count as "done" for the progress chart, per cycle child process
#: (other processes: their final states).
MILESTONES: dict[str, tuple[str, ...]] = {
    "performance_plan": ("approved", "published"),
    "half_year_self_assessment": ("accepted", "closed_overdue"),
    "annual_self_assessment": ("accepted", "closed_overdue"),
    "unit_evaluation": ("notified", "closed"),
}


@dataclass
class Progress:
    """Cumulative instances of each process done, at the end of each week of the year."""

    year: int
    weeks: list[date]
    totals: dict[str, int]
    titles: dict[str, Label]
    series: dict[str, list[int]]


def _local_day(column, dialect: str, offset_minutes: int):
    """The local calendar day of a naive-UTC timestamp column, in SQL."""
    if dialect == "sqlite":
        return func.date(column, f"{offset_minutes:+d} minutes")
    return func.date(column + literal_column(f"interval '{offset_minutes} minutes'"))


def _done_states(db: Database, version_ids: list[int]) -> dict[str, set[str]]:
    done: dict[str, set[str]] = defaultdict(set)
    for vid in version_ids:
        definition = compiled(db, vid).definition
        states = MILESTONES.get(definition.key) or tuple(
            n for n, s in definition.states.items() if s.final)
        done[definition.key].update(states)
    return done


def progress(db: Database, parent_id: int, year: int, *,
             today: date | None = None) -> Progress:
    """The progress of one cycle's children over ``year``: per process, how many have
    reached a done state (:data:`MILESTONES`) by the end of each week. Two queries: the
    children per process and version, and the first done entry per instance grouped
    by local day (in SQL, not per unit)."""
    today = today or local_today()
    offset = int(local_zone().utcoffset(datetime(year, 7, 1)).total_seconds() // 60)
    with db.read() as conn:
        kinds = conn.execute(select(_i.c.definition_key, _i.c.definition_version_id,
                                    func.count().label("n"))
                             .where(_i.c.parent_id == parent_id)
                             .group_by(_i.c.definition_key, _i.c.definition_version_id)).all()
        done = _done_states(db, sorted({r.definition_version_id for r in kinds}))
        conds = [and_(_i.c.definition_key == k, _h.c.to_state.in_(sorted(s)))
                 for k, s in done.items() if s]
        first = (select(_i.c.definition_key.label("key"), func.min(_h.c.at).label("at"))
                 .select_from(_h.join(_i, _i.c.id == _h.c.instance_id))
                 .where(_i.c.parent_id == parent_id, or_(*conds) if conds else false())
                 .group_by(_i.c.definition_key, _h.c.instance_id).subquery())
        day = _local_day(first.c.at, db.dialect, offset)
        per_day = conn.execute(select(first.c.key, day.label("day"), func.count().label("n"))
                               .group_by(first.c.key, day)).all()
    totals, titles = defaultdict(int), {}
    for r in kinds:
        totals[r.definition_key] += r.n
        titles.setdefault(r.definition_key, compiled(db, r.definition_version_id)
                          .definition.title)
    start, end = date(year, 1, 1), min(date(year, 12, 31), max(today, date(year, 1, 7)))
    weeks = [start + timedelta(days=7 * k + 6) for k in range((end - start).days // 7 + 1)]
    counts: dict[str, dict[date, int]] = defaultdict(dict)
    for r in per_day:
        counts[r.key][date.fromisoformat(str(r.day)[:10])] = r.n
    series = {}
    for key in sorted(totals):
        days = sorted(counts[key].items())
        series[key] = [sum(n for d, n in days if d <= week) for week in weeks]
    return Progress(year, weeks, dict(totals), titles, series)
