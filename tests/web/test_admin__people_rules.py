"""The engine functions behind the admin and account pages, on SQLite and PostgreSQL:
permission is checked in the engine, changes rotate the session token and are logged
in the same transaction, refusals write nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine import NotPermitted, actor_for, add_user
from engine.calendar import calendar_for
from engine.calendar_admin import list_overrides, remove_override, set_override
from engine.exceptions import InvalidInput, NotFound
from engine.models import User
from engine.people import (UserEdit, authenticate, change_password, list_users,
                           password_problems, reset_password, update_user)
from engine.signins import admin_events, list_admin_events

PASSWORD = "correct-horse-1"


@pytest.fixture
def admin(db):
    add_user(db, "root", PASSWORD, ["admin"])
    return actor_for(db, "root")


def _token(db, username):
    with db.read() as conn:
        return conn.execute(select(User.session_token).where(User.username == username)).scalar()


def _edit(**changes):
    values = {"roles": ("unit_head",), "unit_code": "101", "display_name": "head101",
              "email": None, "active": True}
    values.update(changes)
    return UserEdit(**values)


def test_an_edit_rotates_the_token_and_is_logged(db, admin, actors):
    before = _token(db, "head101")
    changes = update_user(db, admin, actors["head101"].user_id,
                          _edit(roles=("unit_head", "unit_staff")))
    assert changes == {"roles": [["unit_head"], ["unit_head", "unit_staff"]]}
    assert _token(db, "head101") != before
    [event] = list_admin_events(db, target_user_id=actors["head101"].user_id).rows
    assert (event.actor, event.action, event.details["sessions_ended"]) == (
        "root", "user_update", True)


def test_a_name_change_keeps_the_token(db, admin, actors):
    before = _token(db, "head101")
    update_user(db, admin, actors["head101"].user_id, _edit(display_name="李四"))
    assert _token(db, "head101") == before


def test_no_change_writes_nothing(db, admin, actors):
    assert update_user(db, admin, actors["head101"].user_id, _edit()) == {}
    assert list_admin_events(db).total == 0


@pytest.mark.parametrize("who", ["office", "auditor", "head101"])
def test_only_admins_may_edit_or_reset(db, actors, who):
    target = actors["staff101"].user_id
    with pytest.raises(NotPermitted):
        update_user(db, actors[who], target, _edit(unit_code="101", roles=("office",)))
    with pytest.raises(NotPermitted):
        reset_password(db, actors[who], target)
    with pytest.raises(NotPermitted):
        set_override(db, actors[who], date(2031, 5, 10), False, "x")
    assert list_admin_events(db).total == 0


def test_self_demotion_and_deactivation_are_refused(db, admin):
    edit = _edit(roles=("admin",), unit_code=None, display_name="root")
    with pytest.raises(InvalidInput) as demote:
        update_user(db, admin, admin.user_id, _edit(roles=("office",), unit_code=None))
    with pytest.raises(InvalidInput) as deactivate:
        update_user(db, admin, admin.user_id, UserEdit(**{**edit.__dict__, "active": False}))
    assert "admin" in demote.value.message and "deactivate" in deactivate.value.message
    assert list_admin_events(db).total == 0


def test_unit_roles_need_a_unit(db, admin, actors):
    with pytest.raises(InvalidInput):
        update_user(db, admin, actors["head101"].user_id, _edit(unit_code=None))


def test_reset_and_change_password(db, admin, actors):
    uid = actors["office"].user_id
    temporary = reset_password(db, admin, uid)
    assert authenticate(db, "office", PASSWORD)[0] == "bad_password"
    assert authenticate(db, "office", temporary)[0] == "success"
    with pytest.raises(InvalidInput):
        change_password(db, uid, "wrong", "brand-new-pass-1")
    token = change_password(db, uid, temporary, "brand-new-pass-1")
    assert _token(db, "office") == token
    assert authenticate(db, "office", "brand-new-pass-1")[0] == "success"
    with pytest.raises(NotFound):
        reset_password(db, admin, 999999)


def test_authenticate_outcomes(db, admin):
    assert authenticate(db, "nobody", PASSWORD) == ("unknown_user", None)
    assert authenticate(db, "root", "wrong")[0] == "bad_password"
    assert authenticate(db, "root", PASSWORD)[1].username == "root"


@pytest.mark.parametrize("password,ok", [("abcdefghij", False), ("1234567890", False),
                                         ("abc-123-xyz", True), ("aaaaaaaaa1", False)])
def test_the_strength_rule(password, ok):
    assert (password_problems(password) == []) is ok


def test_list_users_by_role_and_unit(db, actors):
    heads, total = list_users(db, role="unit_head")
    assert total == 3 and {r.username for r in heads} == {"head101", "head102", "both101"}
    unit_101, _total = list_users(db, unit_id=actors["staff101"].unit_id, per_page=2)
    assert len(unit_101) == 2 and _total == 3


def test_overrides_set_and_removed(db, admin):
    day = date(2031, 5, 10)
    set_override(db, admin, day, True, "调休上班")
    [row] = list_overrides(db, 2031)
    assert (row.day, row.working, row.name, row.source) == (day, True, "调休上班", "admin:root")
    assert calendar_for(db, refresh=True).is_working_day(day)
    remove_override(db, admin, day)
    assert list_overrides(db, 2031) == [] and not calendar_for(db, refresh=True).is_working_day(day)
    with pytest.raises(NotFound):
        remove_override(db, admin, day)
    with db.read() as conn:
        assert [r.action for r in conn.execute(select(admin_events).order_by(
            admin_events.c.id))] == ["calendar_set", "calendar_remove"]
