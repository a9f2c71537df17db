"""Turn a state's declared deadline into timer rows when an instance enters it.

Policy (Asia/Shanghai wall clock, stored as UTC):
- the work is due at the end of the due day; the ``due`` timer fires at 00:00 of the
  next day (the moment it becomes overdue);
- reminders fire at 09:00 on their day (``on: due`` on the due day itself);
- escalations fire at 09:00 on their day after the due day;
- a reminder whose time has already passed when the state is entered is not created
  (a late reminder helps nobody); due and escalation timers are always created.

The calendar arithmetic only depends on the local day the state is entered, so the
full (unfiltered) plan is memoised per (deadline, local day, time zone, calendar); only
the "reminder already passed" filter is applied per call. A calendar whose answers
change must therefore be a new :class:`WorkCalendar` object (or call
:func:`clear_plan_cache`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from workflow.spec import DeadlineSpec, Offset

from .calendar import WorkCalendar
from .clock import local_to_utc, local_today, local_zone

REMIND_HOUR = 9


@dataclass(frozen=True)
class PlannedTimer:
    """One timer row to insert: kind (remind | due | escalate), when, whom to notify."""

    kind: str
    due_at: datetime
    notify: tuple[str, ...] = ()


def shift(day: date, offset: Offset, calendar: WorkCalendar, sign: int = 1) -> date:
    """``day`` moved by ``offset`` (calendar or working days), forwards or backwards."""
    if offset.unit == "working_days":
        return calendar.add_working_days(day, sign * offset.amount)
    return day + timedelta(days=sign * offset.amount)


def due_date(spec: DeadlineSpec, entered_at: datetime, calendar: WorkCalendar) -> date:
    """The local date the state's work is due, for an instance entering at ``entered_at``."""
    return _due_on(spec, local_today(entered_at), calendar)


def _due_on(spec: DeadlineSpec, today: date, calendar: WorkCalendar) -> date:
    if spec.due.month_day is not None:
        month, day = spec.due.month_day
        return date(today.year, month, day)
    return shift(today, spec.due.offset, calendar)


def plan_timers(spec: DeadlineSpec, entered_at: datetime,
                calendar: WorkCalendar) -> list[PlannedTimer]:
    """The timers for entering ``spec.state`` at ``entered_at`` (naive UTC)."""
    planned = _day_plan(spec, local_today(entered_at), local_zone().key, calendar)
    return [t for t in planned if t.kind != "remind" or t.due_at > entered_at]


def clear_plan_cache() -> None:
    """Forget the memoised plans (after changing a calendar object's answers)."""
    _day_plan.cache_clear()


@lru_cache(maxsize=256)
def _day_plan(spec: DeadlineSpec, today: date, zone: str,  # noqa: ARG001 - cache key
              calendar: WorkCalendar) -> tuple[PlannedTimer, ...]:
    """Every timer (past reminders included) for entering ``spec.state`` on local day
    ``today``, sorted by due time."""
    due = _due_on(spec, today, calendar)
    planned = [PlannedTimer("due", local_to_utc(due + timedelta(days=1)))]
    for reminder in spec.remind:
        day = due if reminder.before is None else shift(due, reminder.before, calendar, -1)
        planned.append(PlannedTimer("remind", local_to_utc(day, REMIND_HOUR)))
    for escalation in spec.escalate:
        day = shift(due, escalation.after, calendar)
        planned.append(PlannedTimer("escalate", local_to_utc(day, REMIND_HOUR),
                                    tuple(escalation.notify)))
    return tuple(sorted(planned, key=lambda t: t.due_at))
