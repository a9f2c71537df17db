"""The performance-plan journey in real Chromium (Debian's, driven by Playwright).

A unit head submits the plan, the office returns it with a comment, the unit revises
and resubmits, the office approves; the dashboard's counts follow; the auditor
verifies the chain; the language switch works. Screenshots of each page go to
``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import pytest

from browser_support import (ARTIFACTS, browser_type_launch_args,  # noqa: F401
                             live_app, needs_chromium, sign_in)
from engine import actor_for, get_instance, start

pytestmark = needs_chromium


@pytest.fixture
def live(sqlite_template, tmp_path):
    """The app on its own SQLite file, served by Werkzeug on a free port in a thread."""
    with live_app(sqlite_template, tmp_path) as served:
        yield served


class Person:
    """One signed-in browser context."""

    def __init__(self, browser, base: str, username: str) -> None:
        self.context, self.page = sign_in(browser, base, username)
        self.base, self.username = base, username

    def go(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def _state_count(page, state: str) -> str:
    cell = page.locator(f'.state-count[data-key="performance_plan"][data-state="{state}"]')
    return cell.inner_text() if cell.count() else ""


def test_plan_returned_revised_and_approved(browser, live):
    base, db = live
    plan = start(db, "performance_plan", actor_for(db, "staff101"), unit_code="101").instance_id
    head, office = Person(browser, base, "head101"), Person(browser, base, "office")

    head.shot("01-my-tasks")
    head.page.click(f"text=#{plan}")
    head.page.fill("#field_goals", "全年固定资产投资增长8%")
    head.page.fill("#field_measures", "项目清单化、责任到人")
    head.page.click("#save")
    head.shot("02-instance-draft")
    head.page.click("#fire-submit")
    assert head.page.inner_text("#state") == "已报送"

    dashboard = office.go("/office/")
    assert _state_count(dashboard, "submitted") == "已报送 1"
    office.shot("03-office-dashboard")
    office.go(f"/instances/{plan}").click("#fire-start_review")
    office.page.fill("#comment", "目标需量化到季度")
    office.page.click("#fire-request_revision")
    assert office.page.inner_text("#state") == "退回修改"
    office.shot("04-instance-returned")

    head.go("/")
    assert "退回修改" in head.page.inner_text("#tasks")
    head.page.click(f"text=#{plan}")
    assert "目标需量化到季度" in head.page.inner_text("#history")
    head.page.fill("#field_goals", "固定资产投资每季度增长2%")
    head.page.click("#fire-submit")
    assert head.page.inner_text("#state") == "已报送"

    office.go(f"/instances/{plan}").click("#fire-start_review")
    office.page.click("#fire-approve")
    assert office.page.inner_text("#state") == "已审核备案"
    dashboard = office.go("/office/")
    assert _state_count(dashboard, "approved") == "已审核备案 1"
    assert _state_count(dashboard, "submitted") == ""
    office.shot("05-office-dashboard-after")

    view = get_instance(db, plan)
    assert view.state == "approved" and view.data["goals"] == "固定资产投资每季度增长2%"
    head.close()
    office.close()

    auditor = Person(browser, base, "auditor")
    auditor.go("/audit/")
    auditor.shot("06-audit-search")
    auditor.page.click("#verify-link")
    assert "校验通过" in auditor.page.inner_text("#verify-result")
    auditor.shot("07-audit-verify")
    auditor.close()


def test_language_switch_and_admin_pages(browser, live):
    base, _db = live
    admin = Person(browser, base, "admin")
    assert "我的待办" in admin.page.inner_text("h1")
    admin.page.click("#lang-switch")
    admin.page.wait_for_load_state()
    assert "My tasks" in admin.page.inner_text("h1")
    admin.shot("08-my-tasks-english")
    admin.go("/admin/definitions")
    assert "Annual performance plan" in admin.page.inner_text("main")
    admin.shot("09-definitions-english")
    admin.go("/admin/")
    admin.shot("10-admin")
    admin.page.click("#lang-switch")
    admin.page.wait_for_load_state()
    assert "系统管理" in admin.page.inner_text("h1")
    admin.close()
