"""The results page: the office computes in the scoring stages, the committee publishes
by approving; units see published results only; the page offers only what the
cycle's stage allows and says which stage a refused step needs."""

from __future__ import annotations

import pytest

from engine import actor_for
from engine.cycles import open_cycle
from cycle_support import walk_to
from web_support import app, client_for, web_db  # noqa: F401


@pytest.fixture
def year(web_db):
    open_cycle(web_db, 2026, actor_for(web_db, "office"))
    return 2026


def test_no_results_yet(client_for, year):
    body = client_for("office").get(f"/results/?year={year}").get_data(as_text=True)
    assert "该年度尚无结果" in body and 'id="compute"' not in body  # 筹备: not yet
    assert "计算结果只能在「综合计分、结果审定」阶段进行" in body


def test_the_page_offers_the_steps_of_the_stage(client_for, web_db, year):
    office = client_for("office")
    walk_to(web_db, year, "scoring")
    body = office.get(f"/results/?year={year}").get_data(as_text=True)
    assert 'id="compute"' in body and 'id="veto-form"' in body
    assert 'id="correct-form"' not in body and 'id="publish"' not in body
    assert 'data-stage="scoring"' in body
    walk_to(web_db, year, "review_approval")
    committee = client_for("committee").get(f"/results/?year={year}").get_data(as_text=True)
    assert 'id="publish"' in committee and 'id="compute"' not in committee
    assert 'id="enter-scores"' not in office.get(f"/results/?year={year}").get_data(
        as_text=True)


def test_computing_without_an_indicator_system_shows_why(client_for, web_db, year):
    walk_to(web_db, year, "scoring")
    response = client_for("office").post("/results/compute", {"year": str(year),
                                                              "reason": "首次计算"})
    assert response.status_code == 422
    assert "没有生效的指标体系" in response.get_data(as_text=True)


def test_computing_in_the_wrong_stage_comes_back_with_the_stage(client_for, year):
    office = client_for("office")
    response = office.post("/results/compute", {"year": str(year), "reason": "首次计算"})
    assert response.status_code == 303
    page = office.get(response.headers["Location"]).get_data(as_text=True)
    assert "计算结果只能在「综合计分、结果审定」阶段进行,当前阶段为「筹备」" in page


def test_publishing_with_nothing_computed_is_refused(client_for, web_db, year):
    walk_to(web_db, year, "review_approval")
    response = client_for("committee").post("/results/publish", {"year": str(year)})
    assert response.status_code == 422 and "未计算结果" in response.get_data(as_text=True)
    from engine import get_instance
    from engine.cycles import cycle_for_year
    assert get_instance(web_db, cycle_for_year(web_db, year)["instance_id"]).state == \
        "review_approval"  # the approval rolled back with the refused publication


def test_a_year_without_a_cycle_is_an_empty_page(client_for):
    body = client_for("head101").get("/results/?year=1999").get_data(as_text=True)
    assert "该年度尚无结果" in body and 'id="compute"' not in body


def test_a_year_too_large_for_the_database_is_404(client_for, year):
    office, huge = client_for("office"), "9" * 20
    for path in ("/results/", "/results/appeals", "/results/export.csv"):
        assert office.get(f"{path}?year={huge}").status_code == 404
    for path in ("/results/compute", "/results/veto", "/results/correct"):
        assert office.post(path, {"year": huge, "reason": "首次计算"}).status_code == 404


@pytest.mark.parametrize("user", ["head101", "auditor", "admin"])
def test_only_the_office_computes_or_the_committee_publishes(client_for, year, user):
    client = client_for(user)
    assert client.post("/results/compute", {"year": str(year)}).status_code == 403
    assert client.post("/results/publish", {"year": str(year)}).status_code == 403
    assert client.post("/results/correct", {"year": str(year)}).status_code == 403
