"""Years without official data are computed from weekends and overrides, and flagged;
overrides beat the library; counting conventions; holiday roll policies."""

from __future__ import annotations

from datetime import date

import pytest

from engine.calendar import WorkCalendar, library_years


def test_the_library_is_official_through_2026_and_2027_is_not_covered():
    calendar = WorkCalendar()
    assert {2025, 2026} <= library_years()
    assert calendar.covered_through_year == 2026
    assert calendar.is_covered(2026) and not calendar.is_covered(2027)
    assert calendar.first_uncovered(date(2026, 12, 1), date(2027, 1, 20)) == 2027
    assert calendar.first_uncovered(date(2026, 1, 1), date(2026, 12, 31)) is None


def test_an_uncovered_year_is_weekends_only_not_the_librarys_guess():
    calendar = WorkCalendar()
    # holidays guesses 2027-10-04 as "National Day (observed)"; without a notice it counts
    assert calendar.is_working_day(date(2027, 10, 4))
    assert not calendar.is_working_day(date(2027, 10, 2))  # a Saturday
    assert calendar.add_working_days(date(2027, 9, 30), 3) == date(2027, 10, 5)


def test_overrides_beat_the_library_and_an_imported_year_is_covered():
    calendar = WorkCalendar({date(2027, 10, 1): False, date(2027, 9, 26): True,
                             date(2026, 3, 2): False}, imported_years=[2027])
    assert calendar.is_covered(2027) and calendar.covered_through_year == 2027
    assert not calendar.is_working_day(date(2027, 10, 1))
    assert calendar.is_working_day(date(2027, 9, 26))  # a Sunday made a working day
    assert not calendar.is_working_day(date(2026, 3, 2))  # a local holiday on a Monday


def test_the_version_changes_with_the_data_and_only_with_it():
    assert WorkCalendar().version == WorkCalendar().version
    assert WorkCalendar({date(2027, 1, 1): False}).version != WorkCalendar().version
    assert WorkCalendar(imported_years=[2027]).version != WorkCalendar().version


def test_the_start_day_is_not_counted_unless_asked():
    calendar = WorkCalendar()
    monday = date(2026, 3, 2)
    assert calendar.add_working_days(monday, 1) == date(2026, 3, 3)
    assert calendar.add_working_days(monday, 1, count_start=True) == monday
    assert calendar.add_working_days(monday, 5, count_start=True) == date(2026, 3, 6)
    saturday = date(2026, 3, 7)  # not a working day: counting it changes nothing
    assert calendar.add_working_days(saturday, 1, count_start=True) == date(2026, 3, 9)
    assert calendar.add_working_days(monday, 0) == monday
    assert calendar.add_working_days(date(2026, 3, 9), -1) == date(2026, 3, 6)


@pytest.mark.parametrize("policy, expected", [
    ("next_working_day", date(2026, 10, 8)), ("previous_working_day", date(2026, 9, 30)),
    ("keep", date(2026, 10, 3))])
def test_a_due_date_on_a_holiday_rolls_by_policy(policy, expected):
    assert WorkCalendar().roll(date(2026, 10, 3), policy) == expected
