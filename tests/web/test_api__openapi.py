"""/api/openapi.json: valid OpenAPI 3.1, every route described, built from the very schemas
the endpoints validate with."""

from __future__ import annotations

import re

import pytest

from web.api import schemas
from web.api.spec import OPERATIONS
from web_support import app, web_db  # noqa: F401


@pytest.fixture
def doc(app):
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_document_is_valid_openapi_3_1(doc):
    validator = pytest.importorskip("openapi_spec_validator")
    assert doc["openapi"].startswith("3.1")
    validator.validate(doc)


def test_every_api_route_is_described(app, doc):
    described = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in described


def test_described_bodies_and_parameters_are_the_validating_schemas(doc):
    fire = doc["paths"]["/api/v1/instances/{instance_id}/fire"]["post"]
    assert fire["requestBody"]["content"]["application/json"]["schema"] == schemas.FIRE
    assert "409" in fire["responses"] and "422" in fire["responses"]
    listing = doc["paths"]["/api/v1/instances"]["get"]
    assert {p["name"]: p["schema"] for p in listing["parameters"]} == schemas.INSTANCE_QUERY
    assert len(OPERATIONS) == sum(len(ops) for ops in doc["paths"].values())


def test_every_reference_resolves(doc):
    text = str(doc)
    for name in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert name in doc["components"]["schemas"]


def test_responses_conform_to_their_described_schemas(app, web_db):
    from engine import actor_for, start
    from web.api.tokens import create_token

    office = actor_for(web_db, "office")
    instance = start(web_db, "performance_plan", office, unit_code="101").instance_id
    http = app.test_client()
    headers = {"Authorization": "Bearer " + create_token(web_db, "admin", "t",
                                                         created_by="t")[1]}
    checked = 0
    for op in OPERATIONS:
        if op.method != "GET" or "year" in op.rule or op.media:
            continue
        path = "/api" + op.path.format(instance_id=instance, key="performance_plan")
        response = http.get(path, headers=headers)
        assert response.status_code == op.status, path
        assert schemas.validate(response.get_json(), schemas.ref(op.response)) == [], path
        checked += 1
    error = http.get("/api/v1/instances/0", headers=headers).get_json()
    assert schemas.validate(error, schemas.ref("Error")) == []
    assert checked >= 10


def test_results_history_export_and_token_rules_are_described(doc):
    paths = doc["paths"]
    results = paths["/api/v1/cycles/{year}/results"]["get"]
    assert results["responses"]["200"]["content"]["application/json"]["schema"] == \
        schemas.ref("Results")
    assert {p["name"] for p in results["parameters"]} == {"year", "category"}
    export = paths["/api/v1/instances/{instance_id}/history/export"]["get"]
    assert set(export["responses"]["200"]["content"]) == {"text/csv", "application/x-ndjson"}
    assert {"400", "401", "404"} <= set(export["responses"])
    create = paths["/api/v1/tokens"]["post"]
    assert "403" in create["responses"] and "session_required" in create["description"]
    assert create["security"] == [{"cookieAuth": []}]
    assert create["requestBody"]["content"]["application/json"]["schema"] == schemas.NEW_TOKEN
    assert "token_expired" in create["responses"]["401"]["description"]
    token = doc["components"]["schemas"]["Token"]["properties"]
    assert {"expires_at", "status"} <= set(token)


def test_the_evaluation_steps_are_described_with_their_stage_refusal(doc):
    from web.api.results import CORRECTION_BODY, SCORES_BODY

    paths = doc["paths"]
    scores = paths["/api/v1/cycles/{year}/scores"]["post"]
    assert scores["requestBody"]["content"]["application/json"]["schema"] == SCORES_BODY
    assert {"403", "404", "409", "422"} <= set(scores["responses"])
    assert "stage_closed" in scores["description"]
    correction = paths["/api/v1/cycles/{year}/results/corrections"]["post"]
    assert correction["requestBody"]["content"]["application/json"]["schema"] == \
        CORRECTION_BODY
    for path in ("/api/v1/cycles/{year}/steps", "/api/v1/cycles/{year}/facts",
                 "/api/v1/cycles/{year}/results/publish",
                 "/api/v1/cycles/{year}/vetoes/{veto_id}/withdraw"):
        assert path in paths
    assert {"EvaluationSteps", "EvaluationFacts", "StepDone"} <= set(doc["components"]["schemas"])
