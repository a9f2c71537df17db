"""Field rights through the JSON API (issue 11): saving or firing with a field the
caller may not set is a 403 ``field_not_editable`` naming the field and the roles that
may set it, with nothing written; an instance's detail lists the caller's
``editable_fields``; null clears a field the caller may set."""

from __future__ import annotations

import pytest

from engine import actor_for, fire, get_instance, read_history, start
from web.api import schemas
from api_support import api_for, error_of  # noqa: F401
from web_support import app, web_db  # noqa: F401


@pytest.fixture
def report(web_db):
    """Unit 101's half-year report for 2026, open (version 2)."""
    office = actor_for(web_db, "office")
    iid = start(web_db, "half_year_self_assessment", office, unit_code="101",
                data={"year": 2026}).instance_id
    fire(web_db, iid, "open_window", office)
    return iid


def unchanged(web_db, iid, version=2):
    view = get_instance(web_db, iid)
    return view.version == version and len(read_history(web_db, iid)) == version


def test_saving_the_late_flag_is_403_field_not_editable(api_for, web_db, report):
    response = api_for("head101").put(f"/api/v1/instances/{report}/data", json={
        "data": {"report": "自评", "late": "yes"}, "expected_version": 2})
    error = error_of(response, 403, "field_not_editable")
    assert error["details"]["field"] == "late"
    assert error["details"]["fields"] == {"late": ["system"]}
    assert error["details"]["state"] == "open" and error["details"]["instance"] == report
    assert "「逾期」由系统自动设置" in error["message"] and "set by the system" in error["message"]
    assert schemas.validate(response.get_json(), schemas.ref("Error")) == []
    assert unchanged(web_db, report) and "report" not in get_instance(web_db, report).data


def test_firing_with_a_protected_field_is_403_and_nothing_moves(api_for, web_db, report):
    response = api_for("head101").post(f"/api/v1/instances/{report}/fire", json={
        "trigger": "submit", "expected_version": 2, "data": {"report": "自评", "year": 2025}})
    error = error_of(response, 403, "field_not_editable")
    assert (error["details"]["field"], error["details"]["fields"]) == ("year", {"year": []})
    assert "评估年度" in error["message"]
    assert unchanged(web_db, report) and get_instance(web_db, report).state == "open"


def test_starting_with_a_field_only_the_office_sets_is_403(api_for, web_db):
    response = api_for("head101").post("/api/v1/instances", json={
        "process": "performance_plan", "data": {"goals": "目标", "year": 2020}})
    error = error_of(response, 403, "field_not_editable")
    assert error["details"]["fields"] == {"year": ["office"]}
    started = api_for("office").post("/api/v1/instances", json={
        "process": "performance_plan", "unit": "101", "data": {"year": 2026}})
    assert started.status_code == 201 and started.get_json()["data"] == {"year": 2026}


def test_the_detail_lists_what_the_caller_may_edit(api_for, report):
    path = f"/api/v1/instances/{report}"
    assert api_for("head101").get(path).get_json()["editable_fields"] == ["report", "evidence"]
    assert api_for("staff101").get(path).get_json()["editable_fields"] == ["report", "evidence"]
    assert api_for("office").get(path).get_json()["editable_fields"] == []
    assert api_for("auditor").get(path).get_json()["editable_fields"] == []


def test_null_clears_a_field_the_caller_may_set(api_for, web_db, report):
    api = api_for("head101")
    path = f"/api/v1/instances/{report}/data"
    assert api.put(path, json={"data": {"report": "草稿"}, "expected_version": 2}).status_code == 200
    assert api.put(path, json={"data": {"report": None}, "expected_version": 3}).status_code == 200
    assert get_instance(web_db, report).data.get("report") is None
    refused = api.post(f"/api/v1/instances/{report}/fire",
                       json={"trigger": "submit", "expected_version": 4})
    assert "自评报告" in error_of(refused, 422, "guard_failed")["message"]


def test_the_openapi_document_describes_it(app):
    doc = app.test_client().get("/api/openapi.json").get_json()
    detail = doc["components"]["schemas"]["InstanceDetail"]
    assert detail["properties"]["editable_fields"]["items"] == {"type": "string"}
    assert "editable_fields" in detail["required"]
    save = doc["paths"]["/api/v1/instances/{instance_id}/data"]["put"]
    assert "field_not_editable" in save["responses"]["403"]["description"]
    assert "field_not_editable" in save["description"]
