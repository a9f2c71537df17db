"""Every API error is JSON {"error": {"code", "message", "details"}}, never HTML, never a
traceback — routing errors, bad input, and unexpected exceptions included."""

from __future__ import annotations

import logging

import pytest

from api_support import api_for, error_of  # noqa: F401
from web_support import app, plan, web_db  # noqa: F401


def test_401_without_credentials_and_with_a_bad_token(app):
    http = app.test_client()
    error = error_of(http.get("/api/v1/instances"), 401, "unauthorized")
    assert "Bearer" in http.get("/api/v1/me").headers["WWW-Authenticate"]
    assert error["message"]
    for header in ("Bearer pe_not-a-token", "Basic abc", "Bearer ", "pe_x"):
        error_of(http.get("/api/v1/me", headers={"Authorization": header}), 401, "unauthorized")


def test_404_for_unknown_paths_and_objects(api_for):
    api = api_for("office")
    error_of(api.get("/api/v1/no-such-thing"), 404, "not_found")
    error_of(api.get("/api/nothing"), 404, "not_found")
    error_of(api.get("/api/v1/instances/999999"), 404, "not_found")
    error_of(api.get(f"/api/v1/instances/{2**60}"), 404, "not_found")
    error_of(api.get("/api/v1/definitions/nope"), 404, "not_found")
    error_of(api.get("/api/v1/cycles/2031/progress"), 404, "not_found")


def test_405_names_the_allowed_methods(api_for):
    response = api_for("office").delete("/api/v1/instances")
    error_of(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=999", "overdue=maybe",
                                   "cursor=%%%", "cursor=aTp4", "cursor=0", "state=%00", "cycle=1"])
def test_400_for_bad_query_parameters(api_for, query):
    error = error_of(api_for("office").get(f"/api/v1/instances?{query}"), 400)
    assert error["code"] in ("invalid_parameter", "invalid_cursor")


def test_400_for_malformed_json_and_415_for_other_bodies(api_for):
    api = api_for("office")
    error_of(api.post("/api/v1/instances", data="{nope", content_type="application/json"),
             400, "bad_request")
    error_of(api.post("/api/v1/instances", data="process=x",
                      content_type="application/x-www-form-urlencoded"),
             415, "unsupported_media_type")


@pytest.mark.parametrize("body", [[], {"process": 1}, {}, {"process": "performance_plan",
                                                            "extra": 1},
                                  {"process": "performance_plan", "data": {"goals": "a\x00"}},
                                  {"process": "performance_plan", "data": {"goals": "\ud800"}}])
def test_422_for_bodies_that_break_the_schema(api_for, body):
    error = error_of(api_for("office").post("/api/v1/instances", json=body), 422,
                     "invalid_input")
    assert error["details"]["errors"]


def test_422_for_data_the_engine_refuses(api_for, plan):
    error_of(api_for("staff101").put(f"/api/v1/instances/{plan}/data", json={
        "data": {"no_such_field": "x"}, "expected_version": 2}), 422, "invalid_input")


def test_unexpected_exception_is_a_logged_json_500_without_traceback(api_for, monkeypatch,
                                                                      caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("web.api.org.verify_history", boom)
    with caplog.at_level(logging.ERROR, logger="web.api.errors"):
        response = api_for("auditor").get("/api/v1/audit/verify")
    error = error_of(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True) and error["details"] == {}
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)


def test_pages_outside_the_api_keep_html_errors(app):
    response = app.test_client().get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
