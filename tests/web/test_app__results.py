"""The results page: office computes and publishes; units see published results only."""

from __future__ import annotations

import pytest

from engine import actor_for
from engine.cycles import open_cycle
from web_support import app, client_for, web_db  # noqa: F401


@pytest.fixture
def year(web_db):
    open_cycle(web_db, 2026, actor_for(web_db, "office"))
    return 2026


def test_no_results_yet(client_for, year):
    body = client_for("office").get(f"/results/?year={year}").get_data(as_text=True)
    assert "该年度尚无结果" in body and 'id="compute"' in body


def test_computing_without_an_indicator_system_shows_why(client_for, year):
    response = client_for("office").post("/results/compute", {"year": str(year),
                                                              "reason": "首次计算"})
    assert response.status_code == 422
    assert "没有生效的指标体系" in response.get_data(as_text=True)


def test_publishing_with_nothing_computed_publishes_nothing(client_for, year):
    office = client_for("office")
    assert office.post("/results/publish", {"year": str(year)}).status_code == 302
    assert "已公布 0 个单位的结果" in office.get(f"/results/?year={year}").get_data(as_text=True)


def test_a_year_without_a_cycle_is_an_empty_page(client_for):
    body = client_for("head101").get("/results/?year=1999").get_data(as_text=True)
    assert "该年度尚无结果" in body and 'id="compute"' not in body


def test_a_year_too_large_for_the_database_is_404(client_for, year):
    office, huge = client_for("office"), "9" * 20
    for path in ("/results/", "/results/appeals", "/results/export.csv"):
        assert office.get(f"{path}?year={huge}").status_code == 404
    for path in ("/results/compute", "/results/veto", "/results/publish"):
        assert office.post(path, {"year": huge, "reason": "首次计算"}).status_code == 404


@pytest.mark.parametrize("user", ["head101", "auditor", "admin"])
def test_only_the_office_computes_or_publishes(client_for, year, user):
    client = client_for(user)
    assert client.post("/results/compute", {"year": str(year)}).status_code == 403
    assert client.post("/results/publish", {"year": str(year)}).status_code == 403
