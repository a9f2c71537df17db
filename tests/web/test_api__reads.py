"""My tasks, notifications (mark read), units, definitions, cycle progress, calendar, audit."""

from __future__ import annotations

from engine import actor_for
from engine.cycles import open_cycle
from notifications.dispatcher import dispatch
from api_support import api_for, error_of  # noqa: F401
from web_support import advance, app, plan, plan_102, web_db  # noqa: F401


def test_my_tasks_lists_what_the_caller_can_act_on(api_for, plan, plan_102):
    items = api_for("head101").get("/api/v1/tasks").get_json()["items"]
    assert [t["instance_id"] for t in items] == [plan]
    assert items[0]["title"]["zh"] and items[0]["urgency"] in ("overdue", "soon", "ok", "none")
    assert api_for("head101").get("/api/v1/tasks?state=approved").get_json()["items"] == []
    assert api_for("auditor").get("/api/v1/tasks").get_json()["items"] == []


def test_notifications_list_paginate_and_mark_read(api_for, plan, web_db):
    advance(web_db, plan, ("submit", "head101", None))
    dispatch(web_db, channels={})
    api = api_for("office")
    items = api.get("/api/v1/notifications").get_json()["items"]
    assert items and all(n["unread"] for n in items)
    first = api.get("/api/v1/notifications?limit=1").get_json()
    assert len(first["items"]) == 1
    if len(items) > 1:
        assert first["next_cursor"]
    marked = api.post("/api/v1/notifications/read", json={"ids": [items[0]["id"]]})
    assert marked.get_json() == {"marked": 1}
    unread = api.get("/api/v1/notifications?unread=true").get_json()["items"]
    assert items[0]["id"] not in [n["id"] for n in unread]
    assert api.post("/api/v1/notifications/read", json={"all": True}).get_json()["marked"] \
        == len(unread)
    assert api_for("head102").post("/api/v1/notifications/read",
                                   json={"ids": [items[0]["id"]]}).get_json() == {"marked": 0}


def test_units_and_definitions_with_mermaid(api_for):
    api = api_for("staff101")
    assert [u["code"] for u in api.get("/api/v1/units").get_json()["items"]] == \
        ["101", "102", "201"]
    defs = api.get("/api/v1/definitions").get_json()["items"]
    plan_def = next(d for d in defs if d["key"] == "performance_plan")
    assert plan_def["mermaid"].startswith("stateDiagram-v2")
    one = api.get("/api/v1/definitions/performance_plan").get_json()
    assert one["description"]["initial"] == "draft" and one["version"] >= 1


def test_cycle_progress_counts_per_process_category_and_state(api_for, web_db):
    open_cycle(web_db, 2026, actor_for(web_db, "office"))
    body = api_for("office").get("/api/v1/cycles/2026/progress").get_json()
    assert body["year"] == 2026 and body["counts"]
    assert sum(c["count"] for c in body["counts"]) % 3 == 0
    assert {c["category"] for c in body["counts"]} == {"县直单位", "乡镇场"}
    ids = api_for("office").get("/api/v1/instances?cycle=2026&limit=200").get_json()["items"]
    assert len(ids) == sum(c["count"] for c in body["counts"])


def test_calendar_status(api_for):
    body = api_for("office").get("/api/v1/calendar").get_json()
    assert len(body["years"]) == 4 and body["version"]
    assert all(isinstance(y["covered"], bool) for y in body["years"])


def test_users_are_listed_for_admins_only(api_for):
    names = [u["username"] for u in api_for("admin").get("/api/v1/users").get_json()["items"]]
    assert "head101" in names and "admin" in names
    error_of(api_for("office").get("/api/v1/users"), 403, "forbidden")


def test_auditors_export_the_whole_history_as_jsonl_or_csv(api_for, plan):
    import json

    api = api_for("auditor")
    jsonl = api.get("/api/v1/audit/export")
    assert jsonl.status_code == 200 and jsonl.mimetype == "application/x-ndjson"
    entries = [json.loads(line) for line in jsonl.get_data(as_text=True).splitlines()]
    assert [e["seq"] for e in entries] == [1, 2] and entries[1]["prev_hash"] == entries[0]["hash"]
    csv = api.get("/api/v1/audit/export?format=csv")
    assert csv.mimetype == "text/csv" and csv.get_data(as_text=True).count("\n") == 3
    error_of(api.get("/api/v1/audit/export?format=xml"), 400, "invalid_parameter")
    error_of(api_for("head101").get("/api/v1/audit/export"), 403, "forbidden")
