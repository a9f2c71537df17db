"""The admin and account pages in real Chromium (Debian's, driven by Playwright):
an approval with a stale password goes through the confirmation page and back; an
administrator's role change ends the user's open session; a calendar override is
added and removed. Screenshots go to ``tests/artifacts/`` (ignored by git)."""

from __future__ import annotations

import re

import pytest

from browser_support import (ARTIFACTS, browser_type_launch_args,  # noqa: F401
                             live_app, needs_chromium)
from browser_support import sign_in as _sign_in
from engine import actor_for, fire, get_instance, read_history, start, update_data
from web_support import PASSWORD

pytestmark = needs_chromium


@pytest.fixture
def live(sqlite_template, tmp_path):
    """The app on its own SQLite file, served by Werkzeug on a free port in a thread;
    approvals always need a fresh password (FRESH_AUTH_SECONDS=0)."""
    with live_app(sqlite_template, tmp_path, FRESH_AUTH_SECONDS=0) as served:
        yield served


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_stale_approval_is_confirmed_with_the_password(browser, live):
    base, db = live
    staff = actor_for(db, "staff101")
    plan = start(db, "performance_plan", staff, unit_code="101").instance_id
    update_data(db, plan, staff, {"goals": "投资增长8%", "measures": "项目清单化"})
    fire(db, plan, "submit", actor_for(db, "head101"))
    fire(db, plan, "start_review", actor_for(db, "office"))
    context, page = _sign_in(browser, base, "office")
    page.goto(f"{base}/instances/{plan}")
    page.fill("#comment", "同意,请按季度报送进展")
    page.click("#fire-approve")
    page.wait_for_selector("#confirm-form")  # the held action, not yet carried out
    assert "确认身份" in page.inner_text("h1")
    assert get_instance(db, plan).state == "under_review"
    _shot(page, "20-confirm")
    page.fill("#password", PASSWORD)
    page.click("#confirm")  # 307: the browser re-posts the held action with its comment
    page.wait_for_url(f"{base}/instances/{plan}")
    assert get_instance(db, plan).state == "approved"
    assert read_history(db, plan)[-1]["comment"] == "同意,请按季度报送进展"
    context.close()


def test_admin_changes_roles_and_the_users_session_ends(browser, live):
    base, db = live
    user_context, user_page = _sign_in(browser, base, "head101")
    admin_context, admin = _sign_in(browser, base, "admin")
    admin.goto(f"{base}/admin/users?role=unit_head")
    admin.click("text=head101")
    admin.check('input[name="roles"][value="unit_staff"]')
    _shot(admin, "21-admin-user-edit")
    admin.click("#save-user")
    assert "已保存" in admin.inner_text("main")
    user_page.goto(f"{base}/")
    assert "/login" in user_page.url
    admin.goto(f"{base}/admin/signins")
    assert "head101" in admin.inner_text("#signins")
    _shot(admin, "22-admin-signins")
    user_context.close()
    admin_context.close()


def test_admin_adds_and_removes_a_calendar_override(browser, live):
    base, db = live
    context, page = _sign_in(browser, base, "admin")
    page.goto(f"{base}/admin/calendar?year=2031")
    page.fill('#override-form input[name="day"]', "2031-05-10")
    page.select_option('#override-form select[name="kind"]', "workday")
    page.fill('#override-form input[name="reason"]', "调休上班(测试)")
    page.click("#override-form button")
    assert "2031-05-10" in page.inner_text("#overrides")
    assert "已重算" in page.inner_text("#recomputed")
    _shot(page, "23-admin-calendar")
    page.click("#overrides button")
    assert page.locator("#no-overrides").count() == 1
    context.close()
