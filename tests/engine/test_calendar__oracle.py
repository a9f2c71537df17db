"""The working-day calendar against an independent source of the official calendar
(``chinesecalendar``, a test-only oracle) for every day of 2025 and 2026."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from engine.calendar import WorkCalendar

CALENDAR = WorkCalendar()
DAYS = [date(2025, 1, 1) + timedelta(days=i) for i in range(730)]


def test_every_day_of_2025_and_2026_agrees_with_the_oracle():
    differences = [d for d in DAYS if CALENDAR.is_working_day(d) != chinese_calendar.is_workday(d)]
    assert differences == []


@pytest.mark.parametrize("start", DAYS[:700:7])  # the oracle ends with 2026
@pytest.mark.parametrize("n", [1, 3, 10])
def test_nth_working_day_agrees_with_the_oracle(start, n):
    # find_workday(k, d): the k-th working day after the first working day on or after
    # d; so the n-th working day strictly after ``start`` is find_workday(n - 1, start + 1)
    expected = chinese_calendar.find_workday(n - 1, start + timedelta(days=1))
    assert CALENDAR.add_working_days(start, n) == expected


def test_ten_working_days_across_national_day_2026_count_the_make_up_saturday():
    # 1-7 Oct 2026 off; Sat 10 Oct is a make-up working day (调休上班).
    assert CALENDAR.is_working_day(date(2026, 10, 10))
    assert not CALENDAR.is_working_day(date(2026, 10, 5))
    # Monday 28 Sep + 10: 29, 30 Sep; 8, 9, 10 (Sat), 12, 13, 14, 15, 16 Oct
    due = CALENDAR.add_working_days(date(2026, 9, 28), 10)
    assert due == date(2026, 10, 16) == chinese_calendar.find_workday(9, date(2026, 9, 29))
    assert CALENDAR.working_days_between(date(2026, 9, 28), due) == 10
    without_make_up = WorkCalendar({date(2026, 10, 10): False})
    assert without_make_up.add_working_days(date(2026, 9, 28), 10) == date(2026, 10, 19)


def test_working_days_between_matches_the_oracle_over_a_year():
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    expected = len(chinese_calendar.get_workdays(start + timedelta(days=1), end))
    assert CALENDAR.working_days_between(start, end) == expected


def test_make_up_days_of_2025_and_2026():
    for day in (date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
                date(2025, 10, 11), date(2026, 1, 4), date(2026, 2, 28), date(2026, 9, 20)):
        assert CALENDAR.is_working_day(day), day
        assert day.weekday() >= 5
