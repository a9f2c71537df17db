"""``perfeval simulate``: the year's reminders, due dates and escalations, in advance.

The simulation never touches the real database. It builds a throwaway SQLite copy
(a temporary file) holding the real database's definition versions, units and
calendar overrides; starts, as the system actor, one instance of every definition
that has deadlines for every unit (one per organisation-wide definition) at 09:00 on
the first working day of the year; then replays the year with the clock pinned at each
moment a timer falls due and the real :func:`engine.timers.sweep` — so reminders,
catch-up collapsing, escalations and the triggers they fire behave exactly as in
production. It is the "nobody acts" scenario: the deadlines every unit would meet.
"""

from __future__ import annotations

import csv
import logging
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import func, insert, select

from .authz import Actor
from .calendar import calendar_for
from .clock import local_to_utc, pinned, to_local
from .db import Database
from .instances import DEDICATED_START, start
from .models import CalendarOverride, CalendarYear, DefinitionVersion, Instance, Timer, Unit
from .registry import latest
from .schema import upgrade
from .timers import sweep

log = logging.getLogger(__name__)
COPIED = (DefinitionVersion, Unit, CalendarOverride, CalendarYear)
_t, _i, _u = Timer.__table__, Instance.__table__, Unit.__table__


@dataclass(frozen=True)
class SimEvent:
    """One timer that took effect in the simulated year."""

    at: datetime  # local wall-clock time
    definition: str
    state: str
    unit: str
    kind: str
    outcome: str


@dataclass
class Simulation:
    """The simulated year: its events, and the calendar years it lacked data for."""

    year: int
    instances: int = 0
    events: list[SimEvent] = field(default_factory=list)
    uncovered_years: tuple[int, ...] = ()

    def table(self) -> list[dict]:
        """Month by month and process by process: reminders, due dates, escalations."""
        counts: Counter = Counter()
        for e in self.events:
            kind = "collapsed" if e.outcome == "collapsed" else e.kind
            counts[(e.at.month, e.definition, kind)] += 1
        keys = sorted({(m, d) for m, d, _ in counts})
        return [{"month": m, "definition": d, "remind": counts[(m, d, "remind")],
                 "collapsed": counts[(m, d, "collapsed")], "due": counts[(m, d, "due")],
                 "escalate": counts[(m, d, "escalate")]} for m, d in keys]


def _copy(source: Database, target: Database) -> None:
    with source.read() as src, target.write() as dst:
        for model in COPIED:
            rows = [dict(r) for r in src.execute(select(model.__table__)).mappings()]
            if rows:
                dst.execute(insert(model.__table__), rows)


def _start_all(sim: Database, when: datetime) -> int:
    system, started = Actor.system(), 0
    with sim.read() as conn:
        keys = conn.execute(select(DefinitionVersion.key).distinct()).scalars().all()
        units = conn.execute(select(_u.c.id).order_by(_u.c.code)).scalars().all()
    with pinned(when):
        for key in sorted(keys):
            definition = latest(sim, key).definition
            if not definition.deadlines or key in DEDICATED_START:
                continue  # an appeal only exists once a unit files one
            for unit in (units if definition.subject == "unit" else [None]):
                start(sim, key, system, unit_id=unit)
                started += 1
    return started


def simulate_year(db: Database, year: int,
                  progress: Callable[[float], None] | None = None) -> Simulation:
    """Replay ``year`` on a throwaway copy of ``db``'s organisation and definitions."""
    folder = Path(tempfile.mkdtemp(prefix="perfeval-simulate-"))
    sim = Database(f"sqlite:///{folder / 'simulation.db'}")
    try:
        upgrade(sim)
        _copy(db, sim)
        calendar = calendar_for(sim)
        first = calendar.roll(date(year, 1, 1))
        begin, end = local_to_utc(first, 9), local_to_utc(date(year + 1, 1, 1))
        result = Simulation(year, _start_all(sim, begin))
        span = (end - begin).total_seconds()
        previous = None
        while True:
            with sim.read() as conn:
                moment = conn.execute(select(func.min(func.coalesce(
                    _t.c.retry_at, _t.c.due_at))).where(_t.c.status == "pending")).scalar()
            if moment is None or moment >= end:
                break
            moment = max(moment, begin)
            with pinned(moment):
                claimed = sweep(sim, moment).outcomes
            if not claimed and previous == moment:
                break  # nothing takes effect any more (cannot happen; never spin)
            previous = moment
            if progress is not None:
                progress(min((moment - begin).total_seconds() / span, 1.0))
        result.events = _events(sim)
        with sim.read() as conn:
            result.uncovered_years = tuple(sorted(conn.execute(
                select(_t.c.uncovered_year).distinct().where(
                    _t.c.uncovered_year.is_not(None))).scalars()))
        if progress is not None:
            progress(1.0)
        return result
    finally:
        sim.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _events(sim: Database) -> list[SimEvent]:
    with sim.read() as conn:
        rows = conn.execute(select(_t.c.due_at, _t.c.state, _t.c.kind, _t.c.outcome,
                                   _i.c.definition_key, _u.c.code)
                            .join(_i, _i.c.id == _t.c.instance_id)
                            .outerjoin(_u, _u.c.id == _i.c.subject_unit_id)
                            .where(_t.c.status.in_(("done", "collapsed")))
                            .order_by(_t.c.due_at, _t.c.id)).all()
    return [SimEvent(to_local(r.due_at).replace(tzinfo=None), r.definition_key, r.state,
                     r.code or "", r.kind, r.outcome or "") for r in rows]


def write_csv(simulation: Simulation, path: str | Path) -> None:
    """Every simulated event as CSV (UTF-8 with BOM, so Excel opens the Chinese)."""
    with open(path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(["date", "time", "month", "definition", "state", "unit", "kind",
                         "outcome"])
        for e in simulation.events:
            writer.writerow([e.at.date().isoformat(), e.at.strftime("%H:%M"), e.at.month,
                             e.definition, e.state, e.unit, e.kind, e.outcome])


