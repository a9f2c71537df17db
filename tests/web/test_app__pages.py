"""Every route through the test client, with the role that uses it."""

from __future__ import annotations

import io

from engine import get_instance
from web_support import advance, app, client_for, plan, plan_102, web_db  # noqa: F401


def test_my_tasks_lists_what_the_user_can_act_on(client_for, plan, plan_102):
    staff = client_for("staff101").get("/").get_data(as_text=True)
    head102 = client_for("head102").get("/").get_data(as_text=True)
    assert f"#{plan}" in staff and f"#{plan_102}" not in staff
    assert f"#{plan_102}" in head102 and f"#{plan}" not in head102


def test_my_tasks_shows_due_date_and_urgency(client_for, plan):
    body = client_for("staff101").get("/").get_data(as_text=True)
    assert "urgency-" in body and "-03-31" in body


def test_my_tasks_filters_by_process_and_state(client_for, plan):
    client = client_for("head101")
    assert f"#{plan}" in client.get("/?key=performance_plan&state=draft").get_data(as_text=True)
    assert f"#{plan}" not in client.get("/?state=revise").get_data(as_text=True)


def test_inbox_mark_all_read(client_for):
    response = client_for("office").post("/inbox/read")
    assert response.status_code == 302


def test_instance_list_and_start_a_plan(client_for, web_db):
    client = client_for("staff101")
    response = client.post("/instances/new", {"key": "performance_plan"})
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert get_instance(web_db, new_id).unit_code == "101"
    assert f"#{new_id}" in client.get("/instances/").get_data(as_text=True)


def test_instance_page_shows_form_actions_history_and_diagram(client_for, plan):
    body = client_for("head101").get(f"/instances/{plan}").get_data(as_text=True)
    assert 'name="field_goals"' in body and 'id="fire-submit"' in body
    assert "stateDiagram-v2" in body and "class draft current" in body
    assert 'id="history"' in body and "update_data" in body


def test_a_blocked_action_shows_its_reason(client_for, web_db):
    client = client_for("head101")
    new_id = int(client.post("/instances/new", {"key": "performance_plan"})
                 .headers["Location"].rsplit("/", 1)[1])
    body = client.get(f"/instances/{new_id}").get_data(as_text=True)
    assert 'disabled id="fire-submit"' in body and "goals" in body


def test_save_then_fire_through_the_form(client_for, web_db, plan):
    client = client_for("head101")
    saved = client.post(f"/instances/{plan}/save", {"field_goals": "新目标", "version": 2})
    fired = client.post(f"/instances/{plan}/fire", {"trigger": "submit", "version": 3})
    view = get_instance(web_db, plan)
    assert saved.status_code == fired.status_code == 302
    assert view.state == "submitted" and view.data["goals"] == "新目标"


def test_a_stale_form_is_a_409_page(client_for, plan):
    response = client_for("head101").post(f"/instances/{plan}/fire",
                                          {"trigger": "submit", "version": 1})
    assert response.status_code == 409


def test_a_missing_comment_is_a_422_page_with_the_reason(client_for, web_db, plan):
    advance(web_db, plan, ("submit", "head101", None), ("start_review", "office", None))
    response = client_for("office").post(f"/instances/{plan}/fire",
                                         {"trigger": "request_revision"})
    assert response.status_code == 422
    assert "意见" in response.get_data(as_text=True) or "comment" in response.get_data(as_text=True)


def test_an_unknown_trigger_is_refused(client_for, plan):
    assert client_for("head101").post(f"/instances/{plan}/fire",
                                      {"trigger": "to_published"}).status_code == 400


def test_office_dashboard_matrix_and_completion(client_for, web_db, plan, plan_102):
    body = client_for("office").get("/office/").get_data(as_text=True)
    assert 'id="matrix"' in body and "县发展和改革局" in body and "县财政局" in body
    assert 'data-state="draft" title="draft">草拟 2</span>' in body
    assert "没有调度器在运行" in body


def test_office_dashboard_filters_by_category(client_for, plan):
    body = client_for("office").get("/office/?category=乡镇场").get_data(as_text=True)
    assert "城关镇" in body and "县财政局" not in body


def test_office_extends_selected_deadlines(client_for, web_db, plan):
    response = client_for("office").post("/office/extend", {
        "instance": str(plan), "working_days": "5", "reason": "系统故障"})
    assert response.status_code == 302
    history = client_for("auditor").get("/audit/?trigger=extend_deadline").get_data(as_text=True)
    assert "系统故障" in history


def test_office_extend_needs_a_reason(client_for, plan):
    client = client_for("office")
    client.post("/office/extend", {"instance": str(plan), "working_days": "5"})
    assert "请选择事项" in client.get("/office/").get_data(as_text=True)


def test_office_exports_the_matrix_as_xlsx(client_for, plan):
    from openpyxl import load_workbook

    response = client_for("office").get("/office/export.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("单位编码", "单位名称") and ("101", "县发展和改革局") == rows[1][:2]


def test_audit_search_verify_and_export(client_for, web_db, plan):
    client = client_for("auditor")
    search = client.get("/audit/?unit_code=101&actor=staff101").get_data(as_text=True)
    verify = client.get("/audit/verify").get_data(as_text=True)
    csv = client.get("/audit/export.csv")
    jsonl = client.get("/audit/export.jsonl")
    assert "update_data" in search and "校验通过" in verify
    assert csv.status_code == 200 and b"hash" in csv.data.splitlines()[0]
    assert jsonl.status_code == 200 and jsonl.data.count(b"\n") == 2
    assert client.get("/audit/export.xml").status_code == 404


def test_audit_search_by_date_range(client_for, plan):
    client = client_for("auditor")
    assert "update_data" not in client.get("/audit/?until=2000-01-01").get_data(as_text=True)
    assert "update_data" in client.get("/audit/?since=2000-01-01").get_data(as_text=True)


def test_admin_lists_units_and_users_and_imports(client_for, tmp_path):
    client = client_for("admin")
    body = client.get("/admin/").get_data(as_text=True)
    units = io.BytesIO("单位编码,单位名称,类别\n401,县水利局,县直单位\n".encode())
    response = client.post("/admin/import/units", {"file": (units, "units.csv")},
                           content_type="multipart/form-data")
    after = client.get("/admin/").get_data(as_text=True)
    assert "staff101" in body and response.status_code == 302 and "县水利局" in after


def test_admin_import_reports_bad_rows(client_for):
    client = client_for("admin")
    bad = io.BytesIO("单位编码,单位名称,类别\n,无编码,县直单位\n".encode())
    response = client.post("/admin/import/units", {"file": (bad, "units.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "第 2 行" in response.get_data(as_text=True)


def test_admin_import_refuses_other_file_types(client_for):
    client = client_for("admin")
    client.post("/admin/import/users", {"file": (io.BytesIO(b"x"), "users.exe")},
                content_type="multipart/form-data")
    assert ".csv" in client.get("/admin/").get_data(as_text=True)


def test_definitions_with_versions_and_diagrams(client_for):
    body = client_for("admin").get("/admin/definitions").get_data(as_text=True)
    assert "performance_plan v1" in body and "stateDiagram-v2" in body


def test_outbox_dead_letters_and_retry(client_for):
    client = client_for("admin")
    assert 'id="dead"' in client.get("/admin/outbox").get_data(as_text=True)
    assert client.post("/admin/outbox/retry").status_code == 302
    assert client.post("/admin/outbox/retry", {"id": "999"}).status_code == 302


def test_static_css_is_served(app):
    with app.test_client().get("/static/style.css") as response:
        assert response.status_code == 200
