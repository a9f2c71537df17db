"""/api/v1/instances: list, filter, paginate, read with actions, start, save, fire, history."""

from __future__ import annotations

from datetime import datetime

from engine import actor_for, get_instance, start, verify_history
from api_support import api_for, error_of  # noqa: F401
from web_support import advance, app, plan, plan_102, web_db  # noqa: F401


def test_list_is_newest_first_with_iso_times_and_due_dates(api_for, plan, plan_102):
    body = api_for("office").get("/api/v1/instances").get_json()
    assert [i["id"] for i in body["items"]] == [plan_102, plan]
    first = body["items"][1]
    assert first["unit"]["code"] == "101" and first["state"] == "draft"
    assert datetime.fromisoformat(first["created_at"]).utcoffset() is not None
    assert first["created_at"].endswith("+08:00")
    assert first["due_date"] and body["next_cursor"] is None


def test_list_filters_by_process_state_unit_and_overdue(api_for, plan, plan_102):
    api = api_for("office")
    ids = lambda q: [i["id"] for i in api.get(f"/api/v1/instances?{q}").get_json()["items"]]
    assert ids("unit=102") == [plan_102]
    assert ids("process=performance_plan&state=draft") == [plan_102, plan]
    assert ids("state=approved") == []
    assert ids("process=no_such_process") == []
    overdue, not_overdue = ids("overdue=true"), ids("overdue=false")
    assert sorted(overdue + not_overdue) == sorted([plan, plan_102])
    assert ids("cycle=2030") == []


def test_cursor_pagination_visits_every_instance_once(api_for, web_db):
    office = actor_for(web_db, "office")
    made = [start(web_db, "performance_plan", office, unit_code="101").instance_id
            for _ in range(5)]
    api, seen, cursor = api_for("office"), [], None
    while True:
        body = api.get("/api/v1/instances?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        body = body.get_json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)


def test_unit_users_see_only_their_unit_and_get_404_for_another(api_for, plan, plan_102):
    api = api_for("head101")
    assert [i["id"] for i in api.get("/api/v1/instances").get_json()["items"]] == [plan]
    for path in (f"/api/v1/instances/{plan_102}", f"/api/v1/instances/{plan_102}/history"):
        error_of(api.get(path), 404, "not_found")
    error_of(api.post(f"/api/v1/instances/{plan_102}/fire",
                      json={"trigger": "submit", "expected_version": 1}), 404, "not_found")
    error_of(api.put(f"/api/v1/instances/{plan_102}/data",
                     json={"data": {"goals": "x"}, "expected_version": 1}), 404, "not_found")


def test_read_one_shows_actions_and_blocking_reasons(api_for, plan):
    staff = api_for("staff101").get(f"/api/v1/instances/{plan}").get_json()
    submit = next(a for a in staff["actions"] if a["trigger"] == "submit")
    assert submit["allowed"] is False and "unit_head" in submit["reasons"][0]
    assert submit["labels"] == {"zh": "报送", "en": "Submit"} and submit["label"] == "报送"
    [why] = submit["reason_labels"]
    assert "「报送」" in why["zh"] and "unit_head" in why["en"]
    head = api_for("head101").get(f"/api/v1/instances/{plan}").get_json()
    assert next(a for a in head["actions"] if a["trigger"] == "submit")["allowed"] is True
    assert head["version"] == 2 and head["data"]["goals"]


def test_start_then_save_then_fire(api_for, web_db):
    staff = api_for("staff101")
    created = staff.post("/api/v1/instances", json={"process": "performance_plan"})
    assert created.status_code == 201
    new = created.get_json()
    assert new["unit"]["code"] == "101" and new["version"] == 1
    saved = staff.put(f"/api/v1/instances/{new['id']}/data",
                      json={"data": {"goals": "g", "measures": "m"}, "expected_version": 1})
    assert saved.status_code == 200 and saved.get_json()["version"] == 2
    fired = api_for("head101").post(f"/api/v1/instances/{new['id']}/fire",
                                    json={"trigger": "submit", "expected_version": 2})
    assert fired.status_code == 200
    assert fired.get_json()["to_state"] == "submitted"
    assert get_instance(web_db, new["id"]).state == "submitted"


def test_fire_errors_map_to_their_status(api_for, plan):
    head, staff = api_for("head101"), api_for("staff101")
    fire = lambda api, **body: api.post(f"/api/v1/instances/{plan}/fire", json=body)
    error_of(fire(head, trigger="submit", expected_version=1), 409, "conflict")
    error_of(fire(staff, trigger="submit", expected_version=2), 403, "not_permitted")
    error_of(fire(head, trigger="approve", expected_version=2), 409, "invalid_transition")
    error_of(fire(head, trigger="submit"), 422, "invalid_input")
    assert fire(head, trigger="submit", expected_version=2).status_code == 200


def test_guard_failure_is_422_with_reasons(api_for, web_db):
    staff = api_for("staff101")
    new = staff.post("/api/v1/instances", json={"process": "performance_plan"}).get_json()
    error = error_of(api_for("head101").post(f"/api/v1/instances/{new['id']}/fire", json={
        "trigger": "submit", "expected_version": 1}), 422, "guard_failed")
    assert error["details"]["reasons"]


def test_start_refused_roles_and_unknown_process(api_for):
    error_of(api_for("auditor").post("/api/v1/instances", json={
        "process": "performance_plan", "unit": "101"}), 403, "not_permitted")
    error_of(api_for("office").post("/api/v1/instances", json={
        "process": "no_such_process", "unit": "101"}), 404, "not_found")


def test_history_is_the_chain_in_order(api_for, plan, web_db):
    advance(web_db, plan, ("submit", "head101", None))
    items = api_for("head101").get(f"/api/v1/instances/{plan}/history").get_json()["items"]
    assert [e["seq"] for e in items] == [1, 2, 3]
    assert [e["trigger"] for e in items] == ["start", "update_data", "submit"]
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(items, items[1:]))
    assert items[0]["at"].endswith("+08:00")
    assert verify_history(web_db).ok
