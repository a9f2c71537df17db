"""Fixtures for the JSON API tests: bearer clients per user, on the web fixtures' app."""

from __future__ import annotations

import pytest

from web.api.tokens import create_token
from web_support import advance, app, client_for, plan, plan_102, web_db  # noqa: F401


class Api:
    """A test client that sends ``Authorization: Bearer <token>`` with every request."""

    def __init__(self, app, secret: str) -> None:
        self.http = app.test_client()
        self.headers = {"Authorization": f"Bearer {secret}"}
        self.secret = secret

    def get(self, path: str, **kwargs):
        return self.http.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.http.post(path, headers=self.headers, json=json, **kwargs)

    def put(self, path: str, json=None, **kwargs):
        return self.http.put(path, headers=self.headers, json=json, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.http.delete(path, headers=self.headers, **kwargs)


@pytest.fixture
def api_for(app, web_db):
    """``api_for("office")`` — a client authenticated with a fresh token of that user."""
    return lambda username: Api(app, create_token(web_db, username, "test",
                                                  created_by="test")[1])


def error_of(response, status: int, code: str | None = None) -> dict:
    """Assert a JSON error with ``status`` (and ``code``); return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code is not None:
        assert error["code"] == code
    return error
