"""My tasks: 50 a page in a stable order (due date, then id), filters kept across
pages, working days left with urgency classes, and the inbox's mark-read."""

from __future__ import annotations

import re
from datetime import date

from freezegun import freeze_time
from sqlalchemy import insert

from engine import actor_for, start
from engine.calendar import calendar_for
from engine.models import Unit
from engine.tasks import my_tasks, task_facets, urgency
from notifications import dispatch
from web_support import app, client_for, web_db  # noqa: F401

ROW = re.compile(r'<tr class="urgency-(\w+)">\s*<td><a href="/instances/(\d+)">')


def _many_plans(db, n: int) -> list[int]:
    """``n`` draft plans of new units (due 31 March), created through the engine."""
    with db.write() as conn:
        conn.execute(insert(Unit.__table__), [
            {"code": f"8{i:03d}", "name": f"单位{i}", "category": "县直单位"} for i in range(n)])
    office = actor_for(db, "office")
    return [start(db, "performance_plan", office, unit_code=f"8{i:03d}").instance_id
            for i in range(n)]


def test_pages_of_fifty_in_a_stable_order(client_for, web_db):
    office = actor_for(web_db, "office")
    ids = [start(web_db, "performance_plan", office, unit_code="101").instance_id
           for _ in range(56)]
    _many_plans(web_db, 3)  # other units' plans: not head101's tasks
    client = client_for("head101")
    first = client.get("/?key=performance_plan&state=draft").get_data(as_text=True)
    second = client.get("/?key=performance_plan&state=draft&page=2").get_data(as_text=True)
    listed = [int(i) for _, i in ROW.findall(first)] + [int(i) for _, i in ROW.findall(second)]
    assert len(ROW.findall(first)) == 50 and len(listed) == 56
    assert listed == ids
    assert '<span class="count" id="task-count">56</span>' in first
    assert "/?key=performance_plan&amp;state=draft&amp;page=2" in first
    assert "/?key=performance_plan&amp;state=draft&amp;page=1" in second
    assert client.get("/?page=99").status_code == 200


def test_facets_count_per_process_and_state(web_db):
    _many_plans(web_db, 3)
    start(web_db, "performance_plan", actor_for(web_db, "office"), unit_code="101")
    start(web_db, "performance_plan", actor_for(web_db, "office"), unit_code="101")
    facets = task_facets(web_db, actor_for(web_db, "head101"))
    assert [(f.definition_key, f.state, f.count) for f in facets] == [
        ("performance_plan", "draft", 2)]
    assert facets[0].state_label.zh == "草拟"


def test_working_days_left_and_urgency(web_db):
    calendar = calendar_for(web_db)
    today = date(2026, 3, 26)  # Thursday
    assert urgency(date(2026, 3, 31), today, calendar) == (3, "soon")
    assert urgency(date(2026, 4, 10), today, calendar) == (10, "ok")  # 清明 6 April off
    assert urgency(date(2026, 3, 24), today, calendar) == (-2, "overdue")
    assert urgency(None, today, calendar) == (None, "none")
    with freeze_time("2026-03-26 02:00:00"):
        start(web_db, "performance_plan", actor_for(web_db, "office"), unit_code="101")
        (task,) = my_tasks(web_db, actor_for(web_db, "head101"), today=today)
    assert (task.due_date, task.working_days_left, task.urgency) == (date(2026, 3, 31), 3,
                                                                     "soon")


def test_unit_users_see_only_their_unit(client_for, web_db):
    _many_plans(web_db, 2)
    mine = start(web_db, "performance_plan", actor_for(web_db, "office"),
                 unit_code="101").instance_id
    body = client_for("head101").get("/").get_data(as_text=True)
    assert [int(i) for _, i in ROW.findall(body)] == [mine]
    assert '<span class="count" id="task-count">1</span>' in body


def test_mark_one_notification_read(client_for, web_db):
    start(web_db, "performance_plan", actor_for(web_db, "office"), unit_code="101")
    start(web_db, "performance_plan", actor_for(web_db, "office"), unit_code="101")
    dispatch(web_db, channels={})
    client = client_for("head101")
    body = client.get("/").get_data(as_text=True)
    assert '<span class="count" id="unread">2</span>' in body
    first = re.search(r'name="id" value="(\d+)"', body).group(1)
    assert client.post("/inbox/read", {"id": first}).status_code == 302
    assert '<span class="count" id="unread">1</span>' in client.get("/").get_data(as_text=True)
    other = client_for("head102")  # someone else's id changes nothing
    other.post("/inbox/read", {"id": re.search(r'name="id" value="(\d+)"',
                                               client.get("/").get_data(as_text=True)).group(1)})
    assert '<span class="count" id="unread">1</span>' in client.get("/").get_data(as_text=True)
    assert client.post("/inbox/read", {"id": first, "csrf_token": ""}).status_code == 400
