"""The appeal window is counted on the database's working-day calendar: a local holiday
an administrator declares inside the window moves its last day, as it moves every
other deadline (the window used to be counted on the bare national calendar)."""

from __future__ import annotations

from datetime import date

from freezegun import freeze_time

from engine import Actor, get_instance
from engine.appeals import appeal_deadline, file_appeal
from engine.calendar_admin import set_override

from test_appeals__one_per_indicator import published  # noqa: F401 - the fixture

ADMIN = Actor(None, "admin", None, frozenset({"admin"}))


def test_the_window_is_five_working_days_from_publication(db, actors, published):  # noqa: F811
    # published Monday 1 March 2027: Tuesday to Friday and Monday 8 March
    assert appeal_deadline(db, 2026, actors["head101"].unit_id) == date(2027, 3, 8)


def test_a_local_holiday_inside_the_window_extends_it(db, actors, published):  # noqa: F811
    set_override(db, ADMIN, date(2027, 3, 3), False, "县里临时放假")
    assert appeal_deadline(db, 2026, actors["head101"].unit_id) == date(2027, 3, 9)
    with freeze_time("2027-03-09T02:00:00"):  # the added day: still in time
        filed = file_appeal(db, 2026, actors["head101"], "重点工作得分有误", item="K1")
    assert get_instance(db, filed.instance_id).data["filed_in_time"] == "yes"
