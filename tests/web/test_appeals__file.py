"""Filing an appeal from the command line (``perfeval appeals file``/``list``) and the API
(``POST /api/v1/cycles/{year}/appeals``): the stage gate, one appeal per indicator, an
unknown indicator, another unit; a plain start of an appeal refused for every actor
(the office too); and publishing outside 结果审定 refused naming the stage it needs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine import actor_for, list_instances
from engine.exceptions import StageClosed
from engine.results import publish_results
from web.api import schemas
from web.api.tokens import create_token
from web.app import create_app
from web.cli import main
from api_support import Api, error_of
from cycle_support import published_year, scoring_year

GROUNDS = "重点工作完成情况佐证材料未被采纳"


def run(*args, code=0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def published(db):
    """2026 published (the cycle in 公示), the committee user added."""
    return published_year(db, 2026)


@pytest.fixture
def api(db):
    """Bearer clients per user on the application over ``db`` (both databases)."""
    app = create_app({"TESTING": True, "DB": db, "SECRET_KEY": "test-secret",
                      "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
    return lambda username: Api(app, create_token(db, username, "t", created_by="test")[1])


def appeals(db):
    return list_instances(db, key="appeal", limit=100)


def test_cli_files_lists_and_refuses_a_second_an_unknown_item_and_another_unit(
        db, db_url, published):
    filed = json.loads(run("appeals", "file", "--year", "2026", "--item", "K1", "--grounds",
                           GROUNDS, "--as", "head101", "--db", db_url, "--json").output)
    assert filed["state"] == "filed"
    assert filed["data"] == {"grounds": GROUNDS, "item": "K1", "filed_in_time": "yes"}
    second = run("appeals", "file", "--year", "2026", "--item", "K1", "--grounds", "再次",
                 "--as", "head101", "--db", db_url, code=6)
    assert "只能申诉一次" in second.stderr and "K1" in second.stderr
    unknown = run("appeals", "file", "--year", "2026", "--item", "K9", "--grounds", "x",
                  "--as", "head101", "--db", db_url, code=8)
    assert "K9" in unknown.stderr
    run("appeals", "file", "--year", "2026", "--grounds", "x", "--unit", "102",
        "--as", "head101", "--db", db_url, code=3)
    office = run("appeals", "file", "--year", "2026", "--item", "public", "--grounds",
                 "纸质申诉", "--unit", "102", "--as", "office", "--db", db_url)
    assert "已提出申诉" in office.output
    listed = json.loads(run("appeals", "list", "--year", "2026", "--db", db_url,
                            "--json").output)
    assert [(a["unit"], a["item"], a["state"]) for a in listed] == [
        ("102", "public", "filed"), ("101", "K1", "filed")]
    text = run("appeals", "list", "--year", "2026", "--db", db_url).output
    assert "K1" in text and "public" in text
    assert {(a.subject_unit_id is not None, a.parent_id is not None) for a in appeals(db)} \
        == {(True, True)}


def test_cli_filing_outside_the_appeal_stages_exits_5_naming_them(db, db_url):
    scoring_year(db, 2026)
    closed = run("appeals", "file", "--year", "2026", "--grounds", "x", "--as", "head101",
                 "--db", db_url, "--json", code=5)
    error = json.loads(closed.output)["error"]
    assert error["code"] == "stage_closed" and error["gate"] == "file_appeal"
    assert error["stage"] == "scoring" and "publicity" in error["needed_stages"]
    assert appeals(db) == []


@pytest.mark.parametrize("username", ["office", "head101"])
def test_a_plain_start_of_an_appeal_is_refused_for_every_actor(db, db_url, published,
                                                               username):
    refused = run("start", "appeal", "--unit", "101", "--as", username, "--db", db_url,
                  "--data", json.dumps({"grounds": "x"}), code=8)
    assert "perfeval appeals file" in refused.stderr and "提出申诉" in refused.stderr
    assert "engine." not in refused.stderr
    assert appeals(db) == []


def test_cli_publishing_outside_review_approval_names_the_stage(db, db_url, published):
    refused = run("results", "publish", "--year", "2026", "--as", "committee",
                  "--db", db_url, "--json", code=5)
    error = json.loads(refused.output)["error"]
    assert error["code"] == "stage_closed" and error["gate"] == "publish_results"
    assert error["stage"] == "publicity" and error["needed_stages"] == ["review_approval"]
    assert "结果审定" in error["message"] and "公示" in error["message"]
    assert "engine." not in error["message"]
    with pytest.raises(StageClosed):
        publish_results(db, 2026, actor_for(db, "committee"))


def test_api_files_an_appeal_and_refuses_conflict_unknown_item_and_another_unit(
        db, published, api):
    head = api("head101")
    url = "/api/v1/cycles/2026/appeals"
    created = head.post(url, {"item": "K1", "grounds": GROUNDS})
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert schemas.validate(body, schemas.ref("InstanceDetail")) == []
    assert body["state"] == "filed" and body["data"]["item"] == "K1"
    assert body["data"]["filed_in_time"] == "yes"
    error = error_of(head.post(url, {"item": "K1", "grounds": "再次"}), 409, "conflict")
    assert error["details"]["item"] == "K1"
    error_of(head.post(url, {"item": "K9", "grounds": "x"}), 422, "invalid_input")
    error_of(head.post(url, {"item": "K2", "grounds": "x", "unit": "102"}), 403)
    error_of(head.post(url, {"item": "K1"}), 422, "invalid_input")  # no grounds
    office = api("office").post(url, {"item": "overall", "grounds": "纸质", "unit": "102"})
    assert office.status_code == 201 and office.get_json()["data"]["item"] == "overall"
    error_of(api("office").post(url, {"grounds": "x", "unit": "999"}), 404, "not_found")
    assert len(appeals(db)) == 2


def test_api_filing_outside_the_appeal_stages_is_409_stage_closed(db, api):
    scoring_year(db, 2026)
    error = error_of(api("head101").post("/api/v1/cycles/2026/appeals", {"grounds": "x"}),
                     409, "stage_closed")
    assert error["details"]["gate"] == "file_appeal"
    assert error["details"]["stage"] == "scoring"
    assert appeals(db) == []


@pytest.mark.parametrize("username", ["office", "head101"])
def test_api_plain_start_of_an_appeal_is_refused(db, published, api, username):
    error = error_of(api(username).post("/api/v1/instances", {
        "process": "appeal", "unit": "101", "data": {"grounds": "x"}}), 422, "invalid_input")
    assert "perfeval appeals file" in error["message"] and "engine." not in error["message"]
    assert appeals(db) == []


def test_api_publishing_outside_review_approval_is_409_stage_closed(db, published, api):
    error = error_of(api("committee").post("/api/v1/cycles/2026/results/publish", {}),
                     409, "stage_closed")
    assert error["details"]["gate"] == "publish_results"
    assert error["details"]["needed_stages"] == ["review_approval"]
    assert "结果审定" in error["message"]


def test_the_appeal_endpoint_is_described(api):
    api("office")  # the app is built
    from web.api.spec import document

    post = document()["paths"]["/api/v1/cycles/{year}/appeals"]["post"]
    assert {"201", "403", "409", "422"} <= set(post["responses"])
