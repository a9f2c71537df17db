"""The evaluation steps through the API: what the stage allows, scores, vetoes, computing,
publishing by the committee's approval, corrections of a published year and the
recorded history; a step the stage refuses is a 409 ``stage_closed`` naming it."""

from __future__ import annotations

import pytest

from engine.results import read_results
from web.api import schemas
from api_support import error_of
from cycle_support import bind_system, walk_to
from test_api__results import OFFICE, READ_ALL, api, app  # noqa: F401


@pytest.fixture
def opened(db):
    from engine.cycles import open_cycle

    open_cycle(db, 2026, OFFICE)
    for category in ("县直单位", "乡镇场"):
        bind_system(db, 2026, category)
    return 2026


ROWS = [{"unit": code, "item": item, "value": str(value)}
        for code, value in (("101", 80), ("102", 85), ("201", 70))
        for item in ("K1", "public", "leadership")]


def ok(response, status=200, schema="StepDone"):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert schemas.validate(body, schemas.ref(schema)) == []
    return body


def test_a_step_outside_its_stage_is_409_naming_the_stages(api, opened):
    error = error_of(api("office").post("/api/v1/cycles/2026/scores", json={"rows": ROWS}),
                     409, "stage_closed")
    assert error["details"]["stage"] == "setup"
    assert error["details"]["needed_stages"] == ["verification", "scoring"]
    steps = ok(api("office").get("/api/v1/cycles/2026/steps"), schema="EvaluationSteps")
    assert steps["stage"] == "setup" and steps["allowed"] == []
    assert steps["needs"]["compute_results"] == ["scoring", "review_approval"]


def test_the_year_through_the_api(api, opened, db):
    walk_to(db, 2026, "scoring")
    steps = ok(api("office").get("/api/v1/cycles/2026/steps"), schema="EvaluationSteps")
    assert set(steps["allowed"]) == {"enter_scores", "record_veto", "remove_veto",
                                     "compute_results"}
    assert ok(api("office").post("/api/v1/cycles/2026/scores",
                                 json={"rows": ROWS}))["count"] == 9
    veto = ok(api("office").post("/api/v1/cycles/2026/vetoes", json={
        "unit": "102", "item": "安全生产", "reason": "事故"}), 201)["veto_id"]
    ok(api("office").post(f"/api/v1/cycles/2026/vetoes/{veto}/withdraw",
                          json={"reason": "误记"}))
    assert ok(api("office").post("/api/v1/cycles/2026/results/compute",
                                 json={"reason": "首次计算"}))["count"] == 3
    walk_to(db, 2026, "review_approval")
    error_of(api("office").post("/api/v1/cycles/2026/results/publish", json={}), 403)
    assert ok(api("committee").post("/api/v1/cycles/2026/results/publish",
                                    json={"comment": "同意"}))["count"] == 3
    error_of(api("office").post("/api/v1/cycles/2026/scores", json={"rows": ROWS[:1]}),
             409, "stage_closed")
    done = ok(api("office").post("/api/v1/cycles/2026/results/corrections", json={
        "unit": "101", "item": "K1", "value": "95", "reason": "复核更正"}), 201)
    assert {(c["old"]["rank"], c["new"]["rank"]) for c in done["changes"]} == {(2, 1), (1, 2)}
    assert {r["code"]: r["composite"] for r in read_results(db, 2026)}["101"] == "92.00"
    facts = ok(api("auditor").get("/api/v1/cycles/2026/facts"), schema="EvaluationFacts")
    kinds = [f["kind"] for f in facts["items"]]
    assert kinds[:6] == ["results.correct", "results.publish", "results.compute",
                         "veto.remove", "veto.record", "score.enter"]
    assert "101 K1: 80 → 95" in facts["items"][0]["lines"]
    assert facts["items"][0]["reason"] == "复核更正"


def test_row_errors_are_422_and_nothing_is_recorded(api, opened, db):
    walk_to(db, 2026, "scoring")
    error = error_of(api("office").post("/api/v1/cycles/2026/scores", json={"rows": [
        {"unit": "101", "item": "K1", "value": "80"}, {"unit": "999", "item": "K1",
                                                      "value": "x"}]}), 422, "invalid_input")
    assert {e["column"] for e in error["details"]["errors"]} == {"unit", "value"}
    facts = ok(api("office").get("/api/v1/cycles/2026/facts"), schema="EvaluationFacts")
    assert [f["kind"] for f in facts["items"]] == ["systems.bind", "systems.bind"]


@pytest.mark.parametrize("user", ["head101", "expert"])
def test_the_history_is_for_organisation_readers(api, opened, user):
    error_of(api(user).get("/api/v1/cycles/2026/facts"), 403)
