"""A deadline in a year without official data is computed and flagged, never a crash;
importing the notice recomputes pending timers (and a sweep re-checks the version)."""

from __future__ import annotations

import logging

import pytest
from freezegun import freeze_time

from engine import start
from engine.calendar import calendar_for, import_calendar
from engine.timers import flagged_timers, recompute_pending, sweep
from time_support import load_time_definitions, local, shown, timers

NOTICE_2027 = """date,kind,name
2027-07-30,holiday,地方调整(测试)
2027-07-31,workday,调休上班(测试)
2027-10-01..2027-10-07,holiday,国庆节
2027-09-26,workday,国庆调休
"""


@pytest.fixture
def report_2027(db, actors, caplog, monkeypatch):
    load_time_definitions(db)
    monkeypatch.setattr("engine.deadlines._warned", set())  # logged once per process
    caplog.set_level(logging.WARNING)
    with freeze_time(local("2027-07-01 10:00")):
        pid = start(db, "half_year_report", actors["staff101"], unit_code="101",
                    data={"year": 2027}).instance_id
    return pid


def test_an_uncovered_year_is_computed_and_flagged(db, report_2027, caplog):
    rows = timers(db, report_2027)
    due = [t for t in rows if t.kind == "due"][0]
    # 2027-07-31 is a Saturday: rolled to Monday 2 August, from weekends alone
    assert shown(due.due_at) == "2027-08-03 00:00"
    assert {t.uncovered_year for t in rows} == {2027}
    assert flagged_timers(db) == {2027: len(rows)}
    assert any("2027, a year without official holiday data" in r.getMessage()
               for r in caplog.get_records("setup"))


def test_importing_the_notice_recomputes_pending_timers(db, report_2027, tmp_path):
    notice = tmp_path / "2027.csv"
    notice.write_text(NOTICE_2027, encoding="utf-8")
    result = import_calendar(db, notice)
    assert (result.days, result.holidays, result.workdays, result.declared_years) == (
        10, 8, 2, (2027,))
    assert recompute_pending(db) == 1
    rows = timers(db, report_2027)
    assert {t.uncovered_year for t in rows} == {None}
    assert {t.calendar_version for t in rows} == {calendar_for(db).version}
    # 31 July 2027 is now a working Saturday: due that day; 30 July a local holiday
    assert [(t.kind, shown(t.due_at)) for t in rows][:4] == [
        ("remind", "2027-07-27 09:00"), ("remind", "2027-07-29 09:00"),
        ("remind", "2027-07-31 09:00"), ("due", "2027-08-01 00:00")]
    assert flagged_timers(db) == {}
    assert recompute_pending(db) == 0


def test_a_sweep_reschedules_a_timer_made_with_an_older_calendar(db, report_2027, tmp_path):
    notice = tmp_path / "local.yaml"
    notice.write_text("holidays: [{date: 2027-08-02, name: 本地假日}]\n", encoding="utf-8")
    import_calendar(db, notice, local=True)  # no recompute: the sweep must notice
    assert shown(timers(db, report_2027)[2].due_at) == "2027-08-02 09:00"  # on the due day
    report = sweep(db, local("2027-08-02 09:00"))
    # the due day is now Tuesday 3 August: the "on due" reminder moves to it
    assert [(o.kind, o.outcome) for o in report.outcomes] == [
        ("remind", "collapsed"), ("remind", "notified"), ("remind", "rescheduled")]
    moved = timers(db, report_2027, "pending")[0]
    assert (moved.kind, shown(moved.due_at), moved.due_date.isoformat()) == (
        "remind", "2027-08-03 09:00", "2027-08-03")


@pytest.mark.parametrize("content, message", [
    ("date,kind\n2027-02-30,holiday\n", "2027.csv:2: 日期无效"),
    ("date,kind\n2027-10-01,sometimes\n", "类型无效"),
    ("day,what\n2027-10-01,holiday\n", "expected columns date,kind"),
    ("date,kind\n2027-10-01,holiday\n2027-10-01,workday\n", "listed both"),
])
def test_a_bad_notice_imports_nothing(db, tmp_path, content, message):
    from engine.exceptions import InvalidInput

    notice = tmp_path / "2027.csv"
    notice.write_text(content, encoding="utf-8")
    before = calendar_for(db).version
    with pytest.raises(InvalidInput) as caught:
        import_calendar(db, notice)
    assert message in caught.value.message
    assert calendar_for(db, refresh=True).version == before
