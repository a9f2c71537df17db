"""Turn a state's declared deadline into timer rows when an instance enters it.

Policy (Asia/Shanghai wall clock, stored as UTC):
- the work is due at the end of the due day; the ``due`` timer fires at 00:00 of the
  next day (the moment it becomes overdue);
- reminders fire at 09:00 on their day (``on: due`` on the due day itself);
- escalations fire at 09:00 on their day after the due day;
- a reminder whose time has already passed when the state is entered is not created
  (a late reminder helps nobody); due and escalation timers are always created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from workflow.spec import DeadlineSpec, Offset

from .calendar import WorkCalendar
from .clock import local_to_utc, local_today

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
    today = local_today(entered_at)
    if spec.due.month_day is not None:
        month, day = spec.due.month_day
        return date(today.year, month, day)
    return shift(today, spec.due.offset, calendar)


def plan_timers(spec: DeadlineSpec, entered_at: datetime,
                calendar: WorkCalendar) -> list[PlannedTimer]:
    """The timers for entering ``spec.state`` at ``entered_at`` (naive UTC)."""
    due = due_date(spec, entered_at, calendar)
    planned = [PlannedTimer("due", local_to_utc(due + timedelta(days=1)))]
    for reminder in spec.remind:
        day = due if reminder.before is None else shift(due, reminder.before, calendar, -1)
        at = local_to_utc(day, REMIND_HOUR)
        if at > entered_at:
            planned.append(PlannedTimer("remind", at))
    for escalation in spec.escalate:
        day = shift(due, escalation.after, calendar)
        planned.append(PlannedTimer("escalate", local_to_utc(day, REMIND_HOUR),
                                    tuple(escalation.notify)))
    return sorted(planned, key=lambda t: t.due_at)
