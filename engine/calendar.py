"""Working-day arithmetic on the Chinese public-holiday calendar (with 调休 make-up days).

Backed by the ``holidays`` package; the time issue adds an override table and the
``covered_through_year`` guard on top of this interface.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=32)
def _china(year: int):
    return holidays.China(years=year)


class WorkCalendar:
    """Answers "is this a working day" and "N working days from D"."""

    def is_working_day(self, day: date) -> bool:
        """True for weekdays that are not holidays, and for make-up working weekends."""
        return _china(day.year).is_working_day(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (before it when ``n`` < 0); the start
        day itself is never counted. ``n == 0`` returns ``start``."""
        step = 1 if n >= 0 else -1
        day, left = start, abs(n)
        while left:
            day += timedelta(days=step)
            if self.is_working_day(day):
                left -= 1
        return day
