"""Calendar overrides from the admin page: listed per year with who set them; adding
or removing one recomputes pending deadlines (the count is shown); coverage per year."""

from __future__ import annotations

from datetime import date, timedelta

from freezegun import freeze_time
from sqlalchemy import select

from engine.calendar import calendar_for
from engine.models import Timer
from engine.signins import admin_events
from web_support import advance, app, client_for, plan, web_db  # noqa: F401


def _due(db, instance_id):
    with db.read() as conn:
        return conn.execute(select(Timer.due_at, Timer.due_date).where(
            Timer.instance_id == instance_id, Timer.state == "under_review",
            Timer.kind == "due", Timer.status == "pending")).one()


def test_a_holiday_moves_a_pending_deadline_and_removing_it_moves_it_back(client_for,
                                                                         web_db, plan):
    with freeze_time("2026-11-27 02:00:00"):  # Friday 10:00 in Beijing
        advance(web_db, plan, ("submit", "head101", None), ("start_review", "office", None))
    before = _due(web_db, plan)
    assert before.due_date == date(2026, 12, 11)  # 10 working days after 27 November
    admin = client_for("admin")
    added = admin.post("/admin/calendar", {"day": "2026-12-02", "kind": "holiday",
                                           "reason": "地方调休(测试)"})
    assert added.status_code == 302 and "recomputed=1" in added.headers["Location"]
    page = admin.get(added.headers["Location"]).get_data(as_text=True)
    assert "已重算 1 个待办期限" in page
    listed = page.split('id="overrides"')[1]
    assert "2026-12-02" in listed and "地方调休(测试)" in listed and "admin" in listed
    after = _due(web_db, plan)
    assert after.due_date == date(2026, 12, 14) and after.due_at - before.due_at == \
        timedelta(days=3)
    removed = admin.post("/admin/calendar/remove", {"day": "2026-12-02"})
    assert "recomputed=1" in removed.headers["Location"]
    assert _due(web_db, plan) == before
    with web_db.read() as conn:
        actions = conn.execute(select(admin_events.c.action, admin_events.c.target)
                               .order_by(admin_events.c.id)).all()
    assert [tuple(a) for a in actions] == [("calendar_set", "2026-12-02"),
                                           ("calendar_remove", "2026-12-02")]


def test_a_make_up_working_saturday(client_for, web_db):
    admin = client_for("admin")
    admin.post("/admin/calendar", {"day": "2031-05-10", "kind": "workday", "reason": "调休上班"})
    assert calendar_for(web_db, refresh=True).is_working_day(date(2031, 5, 10))
    body = admin.get("/admin/calendar?year=2031").get_data(as_text=True)
    assert "工作日" in body.split('id="overrides"')[1]


def test_coverage_shows_official_and_computed_years(client_for):
    body = client_for("admin").get("/admin/calendar?year=2031").get_data(as_text=True)
    table = body.split('id="coverage"')[1].split("</table>")[0]
    assert '<tr class="covered"><td><a href="/admin/calendar?year=2026">2026' in table
    assert '<tr class="computed"><td><a href="/admin/calendar?year=2031">2031' in table
    assert "节假日库" in table and "推算" in table


def test_bad_input_is_explained_and_changes_nothing(client_for, web_db):
    admin = client_for("admin")
    cases = [("/admin/calendar", {"day": "2031-05-10", "kind": "holiday", "reason": " "},
              "须填写原因"),
             ("/admin/calendar", {"day": "2031-13-40", "kind": "holiday", "reason": "x"},
              "日期无效"),
             ("/admin/calendar/remove", {"day": "2031-05-11"}, "没有调整记录")]
    for path, form, message in cases:
        response = admin.post(path, form)
        assert response.status_code == 302
        assert message in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert admin.post("/admin/calendar", {"day": "2031-05-10", "kind": "x",
                                          "reason": "x"}).status_code == 400
    assert calendar_for(web_db, refresh=True).overrides == {}
    with web_db.read() as conn:
        assert conn.execute(select(admin_events)).all() == []
