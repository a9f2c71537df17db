"""Administrators edit users: roles, unit, display name, email, active flag, password
resets. Role/unit/active changes and resets end the user's sessions and are recorded;
an administrator cannot demote or deactivate themselves; other users get 403."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import actor_for, add_user
from engine.models import User
from engine.signins import admin_events
from web_support import PASSWORD, Client, app, client_for, web_db  # noqa: F401

ROUTES = [("get", "/admin/users"), ("get", "/admin/users/{id}"), ("post", "/admin/users/{id}"),
          ("post", "/admin/users/{id}/password"), ("get", "/admin/signins"),
          ("get", "/admin/changes"), ("get", "/admin/calendar"), ("post", "/admin/calendar"),
          ("post", "/admin/calendar/remove"), ("post", "/admin/import/units")]


def _uid(db, username):
    return actor_for(db, username).user_id


def _form(user_row, **changes):
    form = {"display_name": user_row.display_name, "email": user_row.email or "",
            "unit": user_row.unit_code or "", "roles": list(user_row.roles), "active": "1"}
    form.update(changes)
    return form


def _user(db, username):
    from engine.models import Unit

    with db.read() as conn:
        return conn.execute(select(User.id, User.display_name, User.email, User.roles,
                                   User.active, User.session_token, Unit.code.label("unit_code"))
                            .outerjoin(Unit, Unit.id == User.unit_id)
                            .where(User.username == username)).first()


def _events(db):
    with db.read() as conn:
        return conn.execute(select(admin_events).order_by(admin_events.c.id)).all()


@pytest.mark.parametrize("user", ["staff101", "head101", "office", "auditor"])
@pytest.mark.parametrize("method,path", ROUTES)
def test_only_admins_reach_the_admin_routes(client_for, web_db, user, method, path):
    client = client_for(user)
    target = _uid(web_db, "head101")
    before = _user(web_db, "head101")
    response = getattr(client, method)(path.format(id=target))
    assert response.status_code == 403
    assert _user(web_db, "head101") == before and _events(web_db) == []


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/{id}", "/admin/signins",
                                  "/admin/changes", "/admin/calendar"])
def test_admins_see_the_pages(client_for, web_db, path):
    assert client_for("admin").get(path.format(id=_uid(web_db, "head101"))).status_code == 200


def test_a_missing_user_is_a_404(client_for):
    client = client_for("admin")
    assert client.get("/admin/users/99999").status_code == 404
    assert client.post("/admin/users/99999", {"roles": ["office"]}).status_code == 404
    assert client.post("/admin/users/99999/password").status_code == 404


def test_the_list_filters_by_unit_and_role_and_pages(client_for, web_db, app):
    client = client_for("admin")
    by_unit = client.get("/admin/users?unit=101").get_data(as_text=True)
    by_role = client.get("/admin/users?role=unit_head").get_data(as_text=True)
    assert "staff101" in by_unit and "head102" not in by_unit
    assert "head101" in by_role and "head102" in by_role and "staff101" not in by_role
    for i in range(55):
        add_user(web_db, f"bulk{i:02d}", PASSWORD, ["expert"])
    first = client.get("/admin/users").get_data(as_text=True)
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert "第 1 / 2 页" in first and "admin" in first and "staff101" not in first
    assert "staff101" in second and 'rel="prev"' in second


@pytest.mark.parametrize("path", ["/admin/users", "/admin/changes", "/admin/signins"])
def test_a_page_number_too_large_for_the_database_is_no_error(client_for, path):
    response = client_for("admin").get(f"{path}?page={'9' * 20}")
    assert response.status_code == 200


def test_a_role_change_ends_the_users_sessions_and_is_recorded(app, web_db):
    admin, victim = Client(app, "admin"), Client(app, "head101")
    row = _user(web_db, "head101")
    response = admin.post(f"/admin/users/{row.id}", _form(row, roles=["unit_head", "unit_staff"]))
    after = _user(web_db, "head101")
    assert response.status_code == 302
    assert after.roles == ["unit_head", "unit_staff"] and after.session_token != row.session_token
    assert victim.get("/").status_code == 302
    assert Client(app).login("head101").status_code == 302
    [event] = _events(web_db)
    assert (event.actor, event.action, event.target) == ("admin", "user_update", "head101")
    assert event.details["changes"]["roles"] == [["unit_head"], ["unit_head", "unit_staff"]]
    assert event.details["sessions_ended"] is True
    assert "user_update" in admin.get(f"/admin/users/{row.id}").get_data(as_text=True)


def test_a_unit_change_ends_sessions_but_a_name_change_does_not(app, web_db):
    admin, victim = Client(app, "admin"), Client(app, "head101")
    row = _user(web_db, "head101")
    admin.post(f"/admin/users/{row.id}", _form(row, display_name="张三",
                                                email="zhang@example.cn"))
    assert victim.get("/").status_code == 200
    renamed = _user(web_db, "head101")
    assert (renamed.display_name, renamed.email) == ("张三", "zhang@example.cn")
    admin.post(f"/admin/users/{row.id}", _form(renamed, unit="102"))
    assert victim.get("/").status_code == 302
    assert _user(web_db, "head101").unit_code == "102"


def test_deactivating_a_user_ends_their_session_and_login(app, web_db):
    admin, victim = Client(app, "admin"), Client(app, "office")
    row = _user(web_db, "office")
    form = _form(row)
    del form["active"]
    admin.post(f"/admin/users/{row.id}", form)
    assert victim.get("/").status_code == 302
    assert Client(app).login("office").status_code == 401


@pytest.mark.parametrize("change,message", [
    ({"roles": ["office"]}, "不能移除自己的系统管理员角色"),
    ({"active": ""}, "不能停用自己的账号"),
])
def test_an_admin_cannot_demote_or_deactivate_themselves(app, web_db, change, message):
    admin = Client(app, "admin")
    row = _user(web_db, "admin")
    response = admin.post(f"/admin/users/{row.id}", _form(row, **change))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _user(web_db, "admin") == row and _events(web_db) == []
    assert admin.get("/admin/").status_code == 200


def test_an_admin_adding_a_role_to_themselves_stays_signed_in(app, web_db):
    admin = Client(app, "admin")
    row = _user(web_db, "admin")
    admin.post(f"/admin/users/{row.id}", _form(row, roles=["admin", "office"]))
    assert admin.get("/office/").status_code == 200


@pytest.mark.parametrize("change,message", [
    ({"roles": ["unit_staff"], "unit": ""}, "单位角色"),
    ({"roles": []}, "角色"),
    ({"unit": "999"}, "单位 999 不存在"),
    ({"email": "not-an-email"}, "邮箱格式不正确"),
])
def test_invalid_edits_are_refused_and_change_nothing(app, web_db, change, message):
    admin = Client(app, "admin")
    row = _user(web_db, "staff101")
    response = admin.post(f"/admin/users/{row.id}", _form(row, **change))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _user(web_db, "staff101") == row


def test_the_system_role_cannot_be_given(app, web_db):
    admin = Client(app, "admin")
    row = _user(web_db, "office")
    admin.post(f"/admin/users/{row.id}", _form(row, roles=["office", "system"]))
    assert _user(web_db, "office").roles == ["office"]
    assert 'value="system"' not in admin.get(f"/admin/users/{row.id}").get_data(as_text=True)


def test_a_reset_shows_a_temporary_password_once_and_ends_sessions(app, web_db):
    admin, victim = Client(app, "admin"), Client(app, "office")
    uid = _uid(web_db, "office")
    response = admin.post(f"/admin/users/{uid}/password")
    body = response.get_data(as_text=True)
    temporary = body.split('id="temporary-password"')[1].split("<code>")[1].split("</code>")[0]
    assert response.status_code == 200 and len(temporary) >= 10
    assert victim.get("/").status_code == 302
    assert Client(app).login("office", PASSWORD).status_code == 401
    assert Client(app).login("office", temporary).status_code == 302
    assert temporary not in admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    [event] = _events(web_db)
    assert (event.action, event.target, event.details) == (
        "password_reset", "office", {"generated": True})


def test_a_reset_to_a_chosen_password_checks_its_strength(app, web_db):
    admin = Client(app, "admin")
    uid = _uid(web_db, "office")
    weak = admin.post(f"/admin/users/{uid}/password", {"password": "short"})
    assert weak.status_code == 422 and "密码至少 10 位" in weak.get_data(as_text=True)
    chosen = admin.post(f"/admin/users/{uid}/password", {"password": "chosen-pass-77"})
    assert chosen.status_code == 200 and "chosen-pass-77" not in chosen.get_data(as_text=True)
    assert Client(app).login("office", "chosen-pass-77").status_code == 302


def test_an_admin_resetting_their_own_password_stays_signed_in(app, web_db):
    admin = Client(app, "admin")
    admin.post(f"/admin/users/{_uid(web_db, 'admin')}/password", {"password": "my-new-pass-9"})
    assert admin.get("/admin/").status_code == 200


def test_the_change_log_page_lists_changes(app, web_db):
    admin = Client(app, "admin")
    admin.post(f"/admin/users/{_uid(web_db, 'office')}/password")
    body = admin.get("/admin/changes").get_data(as_text=True)
    assert "password_reset" in body and "office" in body
