"""The results journey in real Chromium (Debian's, driven by Playwright).

The office opens the year from the cycle page (walked on to 综合计分), enters an
indicator's scores in the results page's form and computes with a reason; the committee
approves and so publishes; the unit head sees only their unit's result, and files an
appeal against an indicator; the office finds it in the appeals list. Screenshots go
to ``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import pytest

from engine import actor_for, add_user, fire, start
from engine.results import enter_scores, read_results
from cycle_support import walk_to
from browser_support import browser_type_launch_args, needs_chromium  # noqa: F401
from test_browser__plan_journey import Person, live  # noqa: F401
from web_support import PASSWORD

pytestmark = needs_chromium
ROWS = [{"code": "K1", "name": "重点工作", "weight": 100, "method": "direct", "verifier": "督查室"}]


def _systems(db) -> None:
    """Both categories' indicator systems in force (the indicator-system journey is
    another test's)."""
    add_user(db, "committee", PASSWORD, ["committee"])
    office, committee = actor_for(db, "office"), actor_for(db, "committee")
    for category in ("县直单位", "乡镇场"):
        iid = start(db, "indicator_system", office,
                    data={"year": 2026, "category": category, "indicators": ROWS}).instance_id
        for trigger, who in (("submit", office), ("start_review", committee),
                             ("approve", committee), ("put_in_force", office)):
            fire(db, iid, trigger, who)


def test_office_computes_and_publishes_and_a_unit_appeals(browser, live):
    base, db = live
    _systems(db)
    office = Person(browser, base, "office")

    office.go("/cycles/")
    office.page.fill("#year", "2026")
    office.page.click("#open")
    assert office.page.inner_text("#state") == "筹备"
    office.shot("results-01-cycle-opened")
    walk_to(db, 2026, "scoring")  # the year's earlier stages (their own journeys)

    office.page.reload()
    office.page.click("#results-link")
    office.page.select_option("#item", "K1")
    for code, value in (("101", "80"), ("102", "85"), ("201", "70")):
        office.page.fill(f"#value_{code}", value)
    office.page.click("#save-scores")
    assert "已录入 K1 的 3 个得分" in office.page.inner_text("main")
    # public appraisal and leadership scores (imported from XLSX in another test)
    assert enter_scores(db, 2026, actor_for(db, "office"), [
        (c, item, v) for c, v in (("101", 80), ("102", 85), ("201", 70))
        for item in ("public", "leadership")]) == []

    office.page.fill("#compute-reason", "年终综合计分")
    office.page.click("#compute")
    assert office.page.inner_text("#result-102 .composite") == "85.00"
    assert office.page.inner_text("#result-101 .rank") == "2"
    assert office.page.locator("#publish").count() == 0  # the committee publishes
    walk_to(db, 2026, "review_approval")
    committee = Person(browser, base, "committee")
    committee.go("/results/?year=2026")
    committee.page.click("#publish")
    assert committee.page.inner_text("#published") == "已公布"
    committee.shot("results-02-published")

    head = Person(browser, base, "head101")
    head.go("/results/?year=2026")
    assert head.page.locator("#result-101").count() == 1
    assert head.page.locator("#result-102").count() == 0
    assert "申诉截止日期" in head.page.inner_text("#appeal-deadline")
    head.page.select_option("#appeal-item", "K1")
    head.page.fill("#grounds", "重点工作完成情况佐证材料未被采纳")
    head.shot("results-03-unit-appeal-form")
    head.page.click("#file-appeal")
    head.page.wait_for_url("**/instances/*")
    assert head.page.inner_text("#state") == "已提出"
    head.shot("results-04-appeal-filed")

    office.go("/results/appeals?year=2026")
    assert "101 县发展和改革局" in office.page.inner_text("#appeals")
    office.shot("results-05-office-appeals")
    assert {r["code"]: r["rank"] for r in read_results(db, 2026)} == {
        "101": 2, "102": 1, "201": 1}
    head.close()
    office.close()
