"""Property-based: schemathesis generates requests from /api/openapi.json (valid and
invalid ones, bounded examples per operation) and checks that no answer is a 5xx and
every answer matches the description (status, content type, body schema), and that
invalid requests are refused. One default check is left out: positive data acceptance,
because a schema-valid body can still name fields a definition does not declare, which
the engine rightly refuses with a 422."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402

from engine import actor_for, start, update_data  # noqa: E402
from web.api.tokens import create_token  # noqa: E402
from web_support import app, web_db  # noqa: E402,F401

MAX_EXAMPLES = 50


@pytest.fixture
def api_schema(app, web_db):
    """The description, loaded from the application itself (WSGI, no network)."""
    staff = actor_for(web_db, "staff101")
    plan = start(web_db, "performance_plan", staff, unit_code="101").instance_id
    update_data(web_db, plan, staff, {"goals": "g", "measures": "m"})
    create_token(web_db, "staff101", "not the caller's", created_by="test")  # token id 1
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.fixture
def bearer(web_db):
    """A token of the office (organisation-wide reads, most actions)."""
    return {"Authorization": "Bearer " + create_token(web_db, "office", "fuzz",
                                                      created_by="test")[1]}


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_answers_match_the_description(case, bearer):
    case.call_and_validate(headers=bearer, excluded_checks=[positive_data_acceptance])
