"""Turn a state's declared deadline into timer rows when an instance enters it.

Policy (Asia/Shanghai wall clock, stored as UTC; the times are :class:`TimePolicy`
settings):
- the work is due at the end of the due day; the ``due`` timer fires at 00:00 of the
  next day (the moment it becomes overdue);
- a date deadline (``"07-31"``) is in the cycle's year: the instance's ``year`` field
  when it has one, else the year the state is entered; a due date that falls on a
  non-working day rolls by the deadline's ``on_holiday`` (default: the next working day);
  ``due: {date: …, field: NAME}`` takes the month-day from the instance's NAME field
  when it holds one (a per-cycle setting, :class:`CycleYear`); ``time: "HH:MM"`` makes
  the deadline fall due at that local time of the due day instead of its end;
- a deadline with ``fire`` has its ``due`` timer fire that trigger as the system;
- "N working days" / "N days" after entering do not count the day of entering;
- reminders fire at 09:00 on their day (``on: due`` on the due day itself);
- escalations fire at 09:00 on their day after the due day;
- a reminder whose time has already passed when the state is entered is not created
  (a late reminder helps nobody); due and escalation timers are always created;
- a plan depending on a year without official calendar data is flagged
  (``uncovered_year``) and logged once per process.

The calendar arithmetic only depends on the local day the state is entered, so the
full (unfiltered) plan is memoised per (deadline, local day, time zone, calendar,
policy, cycle year) — plans with extensions or pauses are not; only the "reminder
already passed" filter is applied per call. A calendar whose answers
change must therefore be a new :class:`WorkCalendar` object (or call
:func:`clear_plan_cache`).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Mapping, Sequence

from workflow.spec import DeadlineSpec, Due, Offset

from .calendar import WorkCalendar
from .clock import local_to_utc, local_today, local_zone

log = logging.getLogger(__name__)
REMIND_HOUR = 9
CYCLE_YEAR_FIELD = "year"
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


@dataclass(frozen=True)
class TimePolicy:
    """The documented settings of deadline arithmetic (environment variables):

    - ``PERFEVAL_COUNT_START_DAY`` (default off): "N working days" / "N days" after
      entering count the day of entering itself;
    - ``PERFEVAL_DUE_TIME`` (default ``24:00``, the end of the due day): the local time
      on the due day when the work becomes overdue and the ``due`` timer fires;
    - ``PERFEVAL_REMIND_TIME`` (default ``09:00``): when reminders and escalations fire.
    """

    count_start_day: bool = False
    due_time: tuple[int, int] = (24, 0)
    remind_time: tuple[int, int] = (REMIND_HOUR, 0)

    @classmethod
    def from_env(cls) -> "TimePolicy":
        """The policy the environment sets (parsed once per distinct value)."""
        env = os.environ
        return _policy(env.get("PERFEVAL_COUNT_START_DAY", ""),
                       env.get("PERFEVAL_DUE_TIME", "24:00"),
                       env.get("PERFEVAL_REMIND_TIME", "09:00"))


def _hour_minute(text: str, name: str) -> tuple[int, int]:
    hours, _, minutes = text.strip().partition(":")
    try:
        value = (int(hours), int(minutes or 0))
    except ValueError:
        raise ValueError(f"{name} must be HH:MM, got {text!r}") from None
    if not (0 <= value[0] <= 24 and 0 <= value[1] < 60) or value[0] * 60 + value[1] > 1440:
        raise ValueError(f"{name} must be between 00:00 and 24:00, got {text!r}")
    return value


@lru_cache(maxsize=16)
def _policy(count: str, due: str, remind: str) -> TimePolicy:
    return TimePolicy(count.strip().lower() in ("1", "true", "yes", "on"),
                      _hour_minute(due, "PERFEVAL_DUE_TIME"),
                      _hour_minute(remind, "PERFEVAL_REMIND_TIME"))


def at_local(day: date, hour_minute: tuple[int, int]) -> datetime:
    """Local wall-clock ``hour_minute`` on ``day`` (``24:00`` = the next midnight), as
    naive UTC."""
    hour, minute = hour_minute
    return local_to_utc(day + timedelta(days=hour // 24), hour % 24, minute)


@dataclass(frozen=True)
class PlannedTimer:
    """One timer row to insert: kind (remind | due | escalate), when, whom to notify,
    its ``slot`` in the deadline (``due``, ``remind:N``, ``escalate:N``) and, for an
    escalation, the trigger it fires."""

    kind: str
    due_at: datetime
    notify: tuple[str, ...] = ()
    slot: str = "due"
    fire: str | None = None


@dataclass(frozen=True)
class DeadlinePlan:
    """Every timer of one state entry (past reminders included), sorted by time; the
    local due date; the first year without official calendar data it depends on."""

    due_date: date
    timers: tuple[PlannedTimer, ...]
    uncovered_year: int | None
    calendar_version: str


def shift(day: date, offset: Offset, calendar: WorkCalendar, sign: int = 1) -> date:
    """``day`` moved by ``offset`` (calendar or working days), forwards or backwards."""
    if offset.unit == "working_days":
        return calendar.add_working_days(day, sign * offset.amount)
    return day + timedelta(days=sign * offset.amount)


class CycleYear(int):
    """The cycle's year together with the instance's month-day settings (``"MM-DD"``
    text fields, e.g. the cycle's ``half_year_window_opens``), which a deadline's
    ``due: {date: …, field: NAME}`` reads. Compares and hashes with its settings, so
    memoised plans of two cycles with different settings never mix."""

    dates: tuple[tuple[str, str], ...]

    def __new__(cls, year: int, dates: tuple[tuple[str, str], ...]) -> "CycleYear":
        value = super().__new__(cls, year)
        value.dates = dates
        return value

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, CycleYear) and int(self) == int(other)
                and self.dates == other.dates)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((int(self), self.dates))

    def __repr__(self) -> str:
        return f"CycleYear({int(self)}, {self.dates!r})"


def cycle_year(data: Mapping[str, Any] | None) -> int | None:
    """The cycle's year from the instance's ``year`` field, when it has a plausible one
    (a :class:`CycleYear` carrying the instance's ``"MM-DD"`` values when it has some)."""
    value = (data or {}).get(CYCLE_YEAR_FIELD)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 2000 <= value <= 2100:
        dates = tuple(sorted((k, v) for k, v in (data or {}).items()
                             if isinstance(v, str) and _MONTH_DAY.match(v)))
        return CycleYear(int(value), dates) if dates else int(value)
    return None


def _month_day(due: Due, year: int | None) -> tuple[int, int]:
    """The due month-day: the instance's value of ``due.field`` when it holds a real
    "MM-DD" (a per-cycle setting), else the definition's ``date``."""
    if due.field is not None and isinstance(year, CycleYear):
        value = dict(year.dates).get(due.field)
        if value is not None:
            month, day = int(value[:2]), int(value[3:])
            try:
                date(2001, month, day)  # a day every year has
            except ValueError:
                log.warning("ignoring %s=%r: not a day of every year", due.field, value)
            else:
                return month, day
    return due.month_day


def due_date(spec: DeadlineSpec, entered_at: datetime, calendar: WorkCalendar, *,
             year: int | None = None, adjustments: Sequence[Mapping[str, Any]] = (),
             policy: TimePolicy | None = None) -> date:
    """The local date the state's work is due, for an instance entering at ``entered_at``."""
    return deadline_plan(spec, entered_at, calendar, year=year, adjustments=adjustments,
                         policy=policy).due_date


def _due_on(spec: DeadlineSpec, today: date, calendar: WorkCalendar,
            policy: TimePolicy = TimePolicy(), year: int | None = None) -> date:
    """The due date of entering on local day ``today``: a month-day in the cycle's year
    (``year``, else ``today``'s) or an offset from ``today``, rolled off holidays."""
    due = spec.due
    if due.month_day is not None:
        month, day = _month_day(due, year)
        return calendar.roll(date(year or today.year, month, day), due.on_holiday)
    if due.offset.unit == "working_days":
        return calendar.add_working_days(today, due.offset.amount,
                                         count_start=policy.count_start_day)
    days = due.offset.amount - (1 if policy.count_start_day else 0)
    return calendar.roll(today + timedelta(days=days), due.on_holiday)


def adjust(spec: DeadlineSpec, due: date, adjustments: Sequence[Mapping[str, Any]],
           calendar: WorkCalendar) -> date:
    """``due`` after the recorded extensions (``{"op": "extend", "working_days"|"days"|
    "until": …}``) and pauses (``{"op": "pause", "from": day, "to": day}``: the paused
    days, working days for a working-day deadline, do not count)."""
    for step in adjustments:
        if step["op"] == "extend":
            if "until" in step:
                due = date.fromisoformat(step["until"])
            elif "working_days" in step:
                due = calendar.add_working_days(due, int(step["working_days"]))
            else:
                due = calendar.roll(due + timedelta(days=int(step["days"])), spec.due.on_holiday)
        elif step["op"] == "pause":
            first, last = date.fromisoformat(step["from"]), date.fromisoformat(step["to"])
            if spec.due.offset is not None and spec.due.offset.unit == "working_days":
                paused = calendar.working_days_between(first - timedelta(days=1),
                                                       last - timedelta(days=1))
                due = calendar.add_working_days(due, paused)
            else:
                due = calendar.roll(due + (last - first), spec.due.on_holiday)
    return due


def deadline_plan(spec: DeadlineSpec, entered_at: datetime, calendar: WorkCalendar, *,
                  year: int | None = None, adjustments: Sequence[Mapping[str, Any]] = (),
                  policy: TimePolicy | None = None) -> DeadlinePlan:
    """The full plan of entering ``spec.state`` at ``entered_at`` (naive UTC)."""
    policy = policy or TimePolicy.from_env()
    today = local_today(entered_at)
    if not adjustments:
        return _day_plan(spec, today, local_zone().key, calendar, policy, year)
    due = adjust(spec, _due_on(spec, today, calendar, policy, year), adjustments, calendar)
    return _plan_for(spec, today, due, calendar, policy)


def plan_timers(spec: DeadlineSpec, entered_at: datetime,
                calendar: WorkCalendar) -> list[PlannedTimer]:
    """The timers for entering ``spec.state`` at ``entered_at`` (naive UTC); reminders
    whose moment has already passed are left out."""
    planned = deadline_plan(spec, entered_at, calendar).timers
    return [t for t in planned if t.kind != "remind" or t.due_at > entered_at]


def clear_plan_cache() -> None:
    """Forget the memoised plans (after changing a calendar object's answers)."""
    _day_plan.cache_clear()


@lru_cache(maxsize=256)
def _day_plan(spec: DeadlineSpec, today: date, zone: str,  # noqa: ARG001 - cache key
              calendar: WorkCalendar, policy: TimePolicy, year: int | None) -> DeadlinePlan:
    """The plan (past reminders included) for entering ``spec.state`` on local day
    ``today`` with no extension or pause; memoised."""
    return _plan_for(spec, today, _due_on(spec, today, calendar, policy, year), calendar,
                     policy)


def _plan_for(spec: DeadlineSpec, today: date, due: date, calendar: WorkCalendar,
              policy: TimePolicy) -> DeadlinePlan:
    planned = [PlannedTimer("due", at_local(due, spec.due.time or policy.due_time),
                            fire=spec.fire)]
    days = [due]
    for i, reminder in enumerate(spec.remind):
        day = due if reminder.before is None else shift(due, reminder.before, calendar, -1)
        days.append(day)
        planned.append(PlannedTimer("remind", at_local(day, policy.remind_time),
                                    slot=f"remind:{i}"))
    for i, escalation in enumerate(spec.escalate):
        day = shift(due, escalation.after, calendar)
        days.append(day)
        planned.append(PlannedTimer("escalate", at_local(day, policy.remind_time),
                                    tuple(escalation.notify), f"escalate:{i}", escalation.fire))
    uncovered = calendar.first_uncovered(min(days + [today]), max(days + [today]))
    if uncovered is not None:
        _warn_uncovered(uncovered)
    return DeadlinePlan(due, tuple(sorted(planned, key=lambda t: t.due_at)), uncovered,
                        calendar.version)


_warned: set[int] = set()


def _warn_uncovered(year: int) -> None:
    if year not in _warned:
        _warned.add(year)
        log.warning("deadline depends on %d, a year without official holiday data: "
                    "computed from weekends and overrides only, and flagged; import the "
                    "State Council notice with `perfeval calendar import`", year)


def timer_rows(spec: DeadlineSpec, *, instance_id: int, version: int, entered_at: datetime,
               now: datetime, calendar: WorkCalendar, year: int | None = None,
               adjustments: Sequence[Mapping[str, Any]] = (),
               policy: TimePolicy | None = None) -> list[dict[str, Any]]:
    """The ``timers`` rows for a state entry as of ``now``: every timer of the plan but
    the reminders whose moment has passed."""
    plan = deadline_plan(spec, entered_at, calendar, year=year, adjustments=adjustments,
                         policy=policy)
    return [{"instance_id": instance_id, "instance_version": version, "state": spec.state,
             "kind": t.kind, "slot": t.slot, "due_at": t.due_at, "notify": list(t.notify),
             "fire_trigger": t.fire, "status": "pending", "attempts": 0, "created_at": now,
             "entered_at": entered_at, "due_date": plan.due_date,
             "adjustments": list(adjustments), "calendar_version": plan.calendar_version,
             "uncovered_year": plan.uncovered_year}
            for t in plan.timers if t.kind != "remind" or t.due_at > now]
