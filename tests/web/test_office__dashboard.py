"""The office dashboard per cycle: cycle selector, paged matrix, escalations, the
progress chart as inline SVG, bulk extension (all or nothing) and "remind now"."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from engine import actor_for, get_instance, read_history
from engine.cycles import open_cycle
from engine.dashboard import matrix
from engine.extensions import pause_deadline
from engine.models import OutboxMessage
from engine.timers import sweep
from web.views import office
from web_support import app, client_for, web_db  # noqa: F401

OPENED = "2026-01-05 02:00:00"  # Monday 10:00 in Shanghai


@pytest.fixture
def cycle(web_db):
    with freeze_time(OPENED):
        return open_cycle(web_db, 2026, actor_for(web_db, "office"))


def _plans(db, cycle) -> dict[str, int]:
    m = matrix(db, parent_id=cycle.instance_id, keys=("performance_plan",))
    return {u["code"]: m.cells[(u["id"], "performance_plan")].instance_id for u in m.units}


def _outbox(db) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(OutboxMessage)).scalar()


def _flash(client) -> str:
    return client.get("/office/?year=2026").get_data(as_text=True)


def test_the_dashboard_shows_the_newest_cycle_with_its_chart(client_for, web_db, cycle):
    with freeze_time("2026-02-10 02:00:00"):
        body = client_for("office").get("/office/").get_data(as_text=True)
    assert "2026 年度考评" in body and 'id="cycle-select"' in body
    assert 'id="matrix"' in body and "城关镇" in body and 'id="escalations"' not in body
    svg = re.search(r'<svg id="progress-chart".*?</svg>', body, re.S).group(0)
    root = ET.fromstring(svg)  # well-formed XML
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert {line.get("data-key") for line in lines} == {
        "performance_plan", "half_year_self_assessment", "annual_self_assessment",
        "unit_evaluation"}
    assert all(len(line.get("points").split()) == 6 for line in lines)  # 6 weeks so far
    assert "style=" not in svg


def test_other_years_and_all_instances_can_be_chosen(client_for, web_db, cycle):
    client = client_for("office")
    assert client.get("/office/?year=2031").status_code == 404
    body = client.get("/office/?year=all").get_data(as_text=True)
    assert 'id="progress-chart"' not in body and 'id="matrix"' in body


def test_the_matrix_is_paged(client_for, web_db, cycle, monkeypatch):
    monkeypatch.setattr(office, "MATRIX_PAGE", 2)
    client = client_for("office")
    first = client.get("/office/").get_data(as_text=True)
    second = client.get("/office/?year=2026&page=2").get_data(as_text=True)
    assert "县财政局" in _matrix(first) and "城关镇" not in _matrix(first)
    assert "城关镇" in _matrix(second) and "县财政局" not in _matrix(second)
    assert 'id="matrix-pager"' in first and "/office/?year=2026&amp;page=2" in first


def _matrix(body: str) -> str:
    return re.search(r'<table class="grid matrix" id="matrix">.*?</table>', body, re.S).group(0)


def test_fired_escalations_are_listed(client_for, web_db, cycle):
    sweep(web_db, datetime(2026, 4, 2, 2, 0))  # 10:00 on 2 April: plans' escalations
    body = client_for("office").get("/office/").get_data(as_text=True)
    rows = re.search(r'<table class="grid" id="escalations">.*?</table>', body, re.S).group(0)
    assert rows.count('class="escalation level-1"') == 3
    assert "县财政局" in rows and "草拟" in rows and "office" in rows


def test_bulk_extension_is_all_or_nothing(client_for, web_db, cycle):
    plans = _plans(web_db, cycle)
    office_actor = actor_for(web_db, "office")
    pause_deadline(web_db, plans["201"], office_actor, reason="申诉处理中")
    client = client_for("office")
    versions = {c: get_instance(web_db, i).version for c, i in plans.items()}
    response = client.post("/office/extend", {"instance": list(plans.values()),
                                              "working_days": "5", "reason": "系统故障",
                                              "year": "2026"})
    assert response.status_code == 302 and "year=2026" in response.headers["Location"]
    assert {c: get_instance(web_db, i).version for c, i in plans.items()} == versions
    page = _flash(client)
    assert "未延期任何事项" in page and f"#{plans['201']}" in page and "城关镇" in page
    response = client.post("/office/extend", {"instance": [plans["101"], plans["102"]],
                                              "working_days": "5", "reason": "系统故障"})
    assert "已为 2 个事项延期" in _flash(client)
    assert read_history(web_db, plans["102"])[-1]["trigger"] == "extend_deadline"


def test_remind_now_writes_one_event_per_instance(client_for, web_db, cycle):
    plans = _plans(web_db, cycle)
    client = client_for("office")
    before = _outbox(web_db)
    response = client.post("/office/remind", {"instance": [plans["101"], plans["201"]],
                                              "message": "请于月底前报送"})
    assert response.status_code == 302
    assert _outbox(web_db) == before + 2
    entry = read_history(web_db, plans["201"])[-1]
    assert (entry["trigger"], entry["comment"]) == ("remind_now", "请于月底前报送")
    assert "已向 2 个事项的办理单位发送提醒" in _flash(client)
    client.post("/office/remind", {})
    assert "请选择要提醒的事项" in _flash(client)


@pytest.mark.parametrize("path", ["/office/extend", "/office/remind"])
def test_bulk_actions_are_for_the_office_only(client_for, web_db, cycle, path):
    plans = _plans(web_db, cycle)
    data = {"instance": plans["101"], "working_days": "5", "reason": "r"}
    before = (_outbox(web_db), get_instance(web_db, plans["101"]).version)
    for user in ("head101", "staff101", "auditor"):
        assert client_for(user).post(path, data).status_code == 403
    assert client_for("office").post(path, {**data, "csrf_token": ""}).status_code == 400
    assert (_outbox(web_db), get_instance(web_db, plans["101"]).version) == before


def test_unit_users_do_not_see_the_dashboard(client_for, web_db, cycle):
    for user in ("head101", "staff101"):
        client = client_for(user)
        assert client.get("/office/").status_code == 403
        assert client.get("/office/export.xlsx").status_code == 403


def test_export_follows_the_selected_cycle(client_for, web_db, cycle):
    from openpyxl import load_workbook

    response = client_for("office").get("/office/export.xlsx?year=2026")
    assert "dashboard-2026.xlsx" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert len(rows) == 4 and rows[1][:2] == ("101", "县发展和改革局")


def test_the_dashboard_in_english(client_for, web_db, cycle):
    client = client_for("office")
    client.post("/lang", {"lang": "en"})
    body = client.get("/office/").get_data(as_text=True)
    assert "Remind now" in body and "Progress over the year" in body
    assert "2026 evaluation cycle" in body and "Annual performance plan" in body
