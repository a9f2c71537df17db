"""The Chinese working-day calendar: public holidays, make-up working days (调休) and
the years it has official data for.

A :class:`WorkCalendar` is an immutable value: the ``holidays`` package's China
calendar for the years it cites an official State Council notice for, plus an override
table (``calendar_overrides``) that an administrator fills from the yearly notice or a
local one (``perfeval calendar import FILE``), plus the years such an import declared
complete (``calendar_years``). A year that is in neither is **uncovered**: it is
computed from weekends and overrides only — never from the library's rule-based
guesses, which lack make-up days — and every deadline that depends on it is flagged.

Conventions (documented in docs/time.md):

- "N working days after D" never counts D itself (``count_start=True`` counts D when
  D is a working day);
- dates are local dates in ``PERFEVAL_TIMEZONE`` (Asia/Shanghai).

:func:`calendar_for` gives each :class:`~engine.db.Database` its current calendar,
reloaded from the database at most every :data:`RELOAD_SECONDS` (and at once after
:func:`import_calendar` in the same process).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import holidays
import yaml
from sqlalchemy import Connection, delete, insert, select

from .clock import utcnow
from .exceptions import InvalidInput
from .models import CalendarOverride, CalendarYear

log = logging.getLogger(__name__)

RELOAD_SECONDS = 60.0
_co, _cy = CalendarOverride.__table__, CalendarYear.__table__


@lru_cache(maxsize=1)
def library_years() -> frozenset[int]:
    """The years the ``holidays`` package cites an official notice for (its special
    holidays table, which holds the 调休 arrangements); later years are guesses."""
    return frozenset(holidays.China().special_public_holidays)


@lru_cache(maxsize=64)
def _library_exceptions(year: int) -> frozenset[date]:
    """Days of ``year`` whose status differs from the plain weekend rule: weekday
    holidays and make-up working weekends, per the ``holidays`` package."""
    china = holidays.China(years=year)
    flipped = {d for d in china if d.year == year and d.weekday() < 5}
    flipped |= {d for d in china.weekend_workdays if d.year == year}
    return frozenset(flipped)


class WorkCalendar:
    """Answers "is this a working day", "the Nth working day after D", "working days
    between two dates", and which years are covered by official data."""

    def __init__(self, overrides: Mapping[date, bool] | None = None,
                 imported_years: Iterable[int] = ()) -> None:
        self.overrides: Mapping[date, bool] = dict(overrides or {})
        self.imported_years = frozenset(imported_years)
        self.official_years = library_years() | self.imported_years
        digest = hashlib.sha256(repr((holidays.__version__, sorted(self.overrides.items()),
                                      sorted(self.imported_years))).encode()).hexdigest()
        self.version = digest[:12]

    def __repr__(self) -> str:
        return f"WorkCalendar(version={self.version!r}, overrides={len(self.overrides)})"

    def is_covered(self, year: int) -> bool:
        """True when ``year`` has official data (library or an imported notice)."""
        return year in self.official_years

    @property
    def covered_through_year(self) -> int:
        """The last year of the unbroken run of covered years that the library starts."""
        year = max(library_years())
        while year + 1 in self.official_years:
            year += 1
        return year

    def first_uncovered(self, first: date, last: date) -> int | None:
        """The first year from ``first`` to ``last`` (either order) without official data."""
        low, high = sorted((first.year, last.year))
        return next((y for y in range(low, high + 1) if not self.is_covered(y)), None)

    def is_working_day(self, day: date) -> bool:
        """Overrides first; then the official calendar (holidays and make-up working
        weekends); in an uncovered year, Monday to Friday."""
        if day in self.overrides:
            return self.overrides[day]
        weekday = day.weekday() < 5
        if day.year in library_years():
            return weekday != (day in _library_exceptions(day.year))
        return weekday

    def add_working_days(self, start: date, n: int, *, count_start: bool = False) -> date:
        """The ``n``-th working day after ``start`` (before it when ``n`` < 0).

        ``start`` itself is not counted, unless ``count_start`` and it is a working day
        (then ``n == 1`` is ``start``). ``n == 0`` returns ``start``."""
        if count_start and n > 0 and self.is_working_day(start):
            n -= 1
        step = 1 if n >= 0 else -1
        day, left = start, abs(n)
        while left:
            day += timedelta(days=step)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def roll(self, day: date, policy: str = "next_working_day") -> date:
        """``day`` moved off a non-working day: ``next_working_day`` (default),
        ``previous_working_day``, or ``keep``."""
        if policy == "keep" or self.is_working_day(day):
            return day
        step = -1 if policy == "previous_working_day" else 1
        while not self.is_working_day(day):
            day += timedelta(days=step)
        return day


# --- the calendar of a database -------------------------------------------------------


def load_calendar(conn: Connection) -> WorkCalendar:
    """The calendar as the database's override tables define it now."""
    overrides = {r.day: r.working for r in conn.execute(select(_co.c.day, _co.c.working))}
    years = conn.execute(select(_cy.c.year)).scalars().all()
    return WorkCalendar(overrides, years)


def calendar_for(db, *, refresh: bool = False) -> WorkCalendar:
    """``db``'s current calendar, cached on it for :data:`RELOAD_SECONDS`. An unchanged
    calendar keeps the same object, so plans memoised on it stay valid."""
    cached = db.__dict__.get("_work_calendar")
    if cached and not refresh and time.monotonic() - cached[1] < RELOAD_SECONDS:
        return cached[0]
    with db.read() as conn:
        fresh = load_calendar(conn)
    if cached and cached[0].version == fresh.version:
        fresh = cached[0]
    db.__dict__["_work_calendar"] = (fresh, time.monotonic())
    return fresh


# --- importing a notice ----------------------------------------------------------------

WORKING = {"workday": True, "working": True, "work": True, "班": True, "补班": True,
           "上班": True, "工作日": True,
           "holiday": False, "off": False, "rest": False, "休": False, "假": False,
           "休息": False, "放假": False, "节假日": False}
HEADERS = {"date": "date", "日期": "date", "kind": "kind", "type": "kind", "类型": "kind",
           "name": "name", "名称": "name", "说明": "name"}


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_calendar` stored."""

    days: int
    holidays: int
    workdays: int
    years: tuple[int, ...]
    declared_years: tuple[int, ...]
    version: str


def _parse_day(value, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{where}: 日期无效 — invalid date {value!r}, expected YYYY-MM-DD",
                           where=where) from None


def _expand(value, where: str) -> list[date]:
    """A date, or a range ``"2027-10-01..2027-10-07"``."""
    text = str(value)
    if ".." not in text:
        return [_parse_day(value, where)]
    first, last = (_parse_day(p, where) for p in text.split("..", 1))
    if last < first:
        raise InvalidInput(f"{where}: 区间颠倒 — range {text!r} ends before it starts")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _rows_from_csv(text: str, name: str) -> list[tuple[date, bool, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {HEADERS.get((h or "").strip().lower(), h) for h in reader.fieldnames or ()}
    if not {"date", "kind"} <= columns:
        raise InvalidInput(f"{name}: 需要列 date,kind[,name](日期,类型,名称)— expected "
                           f"columns date,kind[,name], got {reader.fieldnames}")
    rows = []
    for number, raw in enumerate(reader, start=2):
        row = {HEADERS.get((k or "").strip().lower(), k): (v or "").strip()
               for k, v in raw.items()}
        where = f"{name}:{number}"
        kind = row.get("kind", "").lower()
        if kind not in WORKING:
            raise InvalidInput(f"{where}: 类型无效 {kind!r} — kind must be holiday or "
                               f"workday (休/班)", where=where)
        rows += [(d, WORKING[kind], row.get("name", "")) for d in _expand(row["date"], where)]
    return rows


def _rows_from_yaml(text: str, name: str) -> tuple[list[tuple[date, bool, str]], list[int]]:
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise InvalidInput(f"{name}: 需要 holidays/workdays 映射 — expected a mapping with "
                           "holidays and workdays")
    rows = []
    for key, working in (("holidays", False), ("workdays", True)):
        for i, item in enumerate(data.get(key) or ()):
            where = f"{name}: {key}[{i}]"
            value, label = (item.get("date"), item.get("name", "")) if isinstance(
                item, dict) else (item, "")
            rows += [(d, working, str(label)) for d in _expand(value, where)]
    years = data.get("year", [])
    return rows, [int(y) for y in (years if isinstance(years, list) else [years])]


def read_notice(path: str | Path) -> tuple[list[tuple[date, bool, str]], list[int]]:
    """The (day, working, name) rows of a notice file (CSV or YAML) and the years it
    names explicitly (YAML ``year:``). Every row is checked before anything is used."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"无法读取 {path} — cannot read {path}: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        rows, years = _rows_from_yaml(text, path.name)
    else:
        rows, years = _rows_from_csv(text, path.name), []
    seen: dict[date, bool] = {}
    for day, working, _ in rows:
        if seen.get(day, working) != working:
            raise InvalidInput(f"{path.name}: {day} 既是假日又是工作日 — {day} is listed both "
                               "as holiday and as working day")
        seen[day] = working
    if not rows:
        raise InvalidInput(f"{path.name}: 没有日期 — the file lists no days")
    return rows, years


def import_calendar(db, path: str | Path, *, local: bool = False,
                    source: str | None = None) -> ImportReport:
    """Store a notice's holidays and make-up working days; all or nothing.

    A State Council notice (the default) also declares each year it lists as
    officially covered; ``local=True`` (a local notice) only adds the days. Days
    already overridden are replaced. Recompute pending timers afterwards with
    :func:`engine.timers.recompute_pending`."""
    rows, named = read_notice(path)
    source = source or Path(path).name
    years = sorted({d.year for d, _, _ in rows} | set(named))
    declared = () if local else tuple(years)
    now = utcnow()
    with db.write() as conn:
        conn.execute(delete(_co).where(_co.c.day.in_([d for d, _, _ in rows])))
        conn.execute(insert(_co), [{"day": d, "working": w, "name": n[:100], "source": source[:200],
                                    "imported_at": now} for d, w, n in rows])
        for year in declared:
            conn.execute(delete(_cy).where(_cy.c.year == year))
            conn.execute(insert(_cy).values(year=year, source=source[:200], imported_at=now))
    calendar = calendar_for(db, refresh=True)
    log.info("calendar import %s: %d days, years %s, version %s", source, len(rows),
             years, calendar.version)
    return ImportReport(len(rows), sum(not w for _, w, _ in rows), sum(w for _, w, _ in rows),
                        tuple(years), declared, calendar.version)
