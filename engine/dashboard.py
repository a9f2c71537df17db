"""The office dashboard's reads: units × processes, completion, overdue, scheduler.

A fixed number of queries per call, whatever the number of units: one for the units,
one for the instances (newest per unit and process), one for the overdue deadlines,
one for the scheduler heartbeats. Labels come from the compiled definitions (cached).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, select

from workflow.spec import Label

from .calendar import calendar_for
from .clock import local_today, utcnow
from .db import Database
from .models import Instance, SchedulerHeartbeat, Timer, Unit
from .registry import compiled
from .tasks import LIVE_TIMER

_i, _u, _t, _hb = Instance.__table__, Unit.__table__, Timer.__table__, SchedulerHeartbeat.__table__


@dataclass(frozen=True)
class Cell:
    """The newest instance of one process for one unit."""

    instance_id: int
    state: str
    label: Label
    final: bool


@dataclass
class Matrix:
    """Units × processes, with completion (final-state share) per category."""

    units: list[dict]
    processes: dict[str, Label]
    cells: dict[tuple[int, str], Cell]
    completion: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    state_counts: dict[str, dict[str, int]] = field(default_factory=dict)


def matrix(db: Database, *, keys: tuple[str, ...] | None = None,
           category: str | None = None) -> Matrix:
    """The units × processes matrix (two queries)."""
    units_q = select(_u.c.id, _u.c.code, _u.c.name, _u.c.category).order_by(_u.c.code)
    inst_q = (select(_i.c.id, _i.c.subject_unit_id, _i.c.definition_key,
                     _i.c.definition_version_id, _i.c.state)
              .where(_i.c.subject_unit_id.is_not(None)).order_by(_i.c.id))
    if category:
        units_q = units_q.where(_u.c.category == category)
    if keys:
        inst_q = inst_q.where(_i.c.definition_key.in_(keys))
    with db.read() as conn:
        units = [dict(r._mapping) for r in conn.execute(units_q)]
        rows = conn.execute(inst_q).all()
    wanted = {u["id"] for u in units}
    cells: dict[tuple[int, str], Cell] = {}
    processes: dict[str, Label] = {}
    for r in rows:
        if r.subject_unit_id not in wanted:
            continue
        definition = compiled(db, r.definition_version_id).definition
        processes.setdefault(r.definition_key, definition.title)
        spec = definition.states[r.state]
        cells[(r.subject_unit_id, r.definition_key)] = Cell(r.id, r.state, spec.label, spec.final)
    result = Matrix(units, dict(sorted(processes.items())), cells)
    _summarise(result)
    return result


def _summarise(m: Matrix) -> None:
    done: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for unit in m.units:
        for key in m.processes:
            cell = m.cells.get((unit["id"], key))
            if cell is None:
                continue
            slot = done[unit["category"] or "—"][key]
            slot[0] += cell.final
            slot[1] += 1
            counts[key][cell.state] += 1
    m.completion = {c: {k: tuple(v) for k, v in d.items()} for c, d in sorted(done.items())}
    m.state_counts = {k: dict(v) for k, v in counts.items()}


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


def overdue(db: Database, *, today: date | None = None, limit: int = 500) -> list[Overdue]:
    """Instances whose current state's due date has passed, most overdue first."""
    today = today or local_today()
    query = (select(_i.c.id, _i.c.definition_key, _i.c.definition_version_id, _i.c.state,
                    _u.c.code, _u.c.name, _t.c.due_date)
             .select_from(_t.join(_i, and_(_i.c.id == _t.c.instance_id,
                                           _i.c.state == _t.c.state))
                          .outerjoin(_u, _u.c.id == _i.c.subject_unit_id))
             .where(_t.c.kind == "due", _t.c.status.in_(LIVE_TIMER), _t.c.due_date < today)
             .order_by(_t.c.due_date, _i.c.id).limit(limit))
    with db.read() as conn:
        rows = conn.execute(query).all()
    calendar = calendar_for(db)
    out, seen = [], set()
    for r in rows:
        if r.id in seen:
            continue
        seen.add(r.id)
        definition = compiled(db, r.definition_version_id).definition
        out.append(Overdue(r.id, r.definition_key, definition.title, r.code, r.name,
                           definition.states[r.state].label, r.due_date,
                           calendar.working_days_between(r.due_date, today)))
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


def calendar_warnings(db: Database, today: date | None = None) -> list[str]:
    """Warnings about years without official holiday data that deadlines depend on."""
    from .timers import flagged_timers

    today = today or local_today()
    calendar = calendar_for(db)
    warnings = []
    if not calendar.is_covered(today.year + (1 if today.month >= 11 else 0)):
        warnings.append(f"{today.year + 1} 年节假日安排尚未导入 — the {today.year + 1} "
                        f"holiday calendar has not been imported")
    for year, count in sorted(flagged_timers(db).items()):
        warnings.append(f"{count} 个期限依赖 {year} 年的节假日数据(尚未发布)— {count} deadline(s) "
                        f"depend on {year} without official calendar data")
    return warnings
