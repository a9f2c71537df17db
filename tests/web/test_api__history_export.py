"""GET /api/v1/instances/{id}/history/export: one instance's hash-chained history,
streamed as JSON lines or CSV, readable by whoever may read the history; and the
whole-history export for auditors, streamed the same way (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from engine import actor_for, add_user, fire, read_history, start, update_data
from engine.audit import EXPORT_COLUMNS, export_lines
from engine.hashing import format_time
from web.api.tokens import create_token
from web.app import create_app
from api_support import Api, error_of


@pytest.fixture
def app(db):
    """The application on the parametrised database, with an admin added."""
    add_user(db, "admin", "correct-horse-1", ["admin"])
    return create_app({"TESTING": True, "DB": db, "SECRET_KEY": "test-secret",
                       "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})


@pytest.fixture
def api(app, db):
    return lambda username: Api(app, create_token(db, username, "t", created_by="test")[1])


@pytest.fixture
def plans(db):
    """Unit 101's plan submitted (3 entries, a data patch with Chinese text and a comment,
    commas and quotes for the CSV) and unit 102's plan (1 entry)."""
    staff = actor_for(db, "staff101")
    mine = start(db, "performance_plan", staff, unit_code="101").instance_id
    update_data(db, mine, staff, {"goals": "投资增长8%, \"项目\"清单化", "measures": "m"})
    fire(db, mine, "submit", actor_for(db, "head101"), comment="请审核,谢谢")
    other = start(db, "performance_plan", actor_for(db, "office"), unit_code="102").instance_id
    return mine, other


def expected(db, instance_id: int) -> list[dict]:
    """read_history's entries in the export's form."""
    return [{**{c: e[c] for c in EXPORT_COLUMNS}, "at": format_time(e["at"])}
            for e in read_history(db, instance_id)]


def test_jsonl_export_equals_read_history(api, db, plans):
    mine, _other = plans
    response = api("head101").get(f"/api/v1/instances/{mine}/history/export")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/x-ndjson"
    assert f"perfeval-instance-{mine}-history.jsonl" in response.headers["Content-Disposition"]
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert lines == expected(db, mine)
    assert [e["seq"] for e in lines] == [1, 2, 3]
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(lines, lines[1:]))


def test_csv_export_has_the_header_and_the_same_entries(api, db, plans):
    mine, _other = plans
    response = api("staff101").get(f"/api/v1/instances/{mine}/history/export?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    want = expected(db, mine)
    assert [(r["seq"], r["hash"], r["prev_hash"], r["comment"]) for r in rows] == \
        [(str(e["seq"]), e["hash"], e["prev_hash"], e["comment"] or "") for e in want]
    patched = next(r for r in rows if r["data_patch"])
    assert json.loads(patched["data_patch"])["goals"] == "投资增长8%, \"项目\"清单化"


@pytest.mark.parametrize("user", ["auditor", "office", "admin"])
def test_organisation_wide_roles_export_any_instance(api, db, plans, user):
    _mine, other = plans
    response = api(user).get(f"/api/v1/instances/{other}/history/export")
    assert [json.loads(x) for x in response.get_data(as_text=True).splitlines()] == \
        expected(db, other)


@pytest.mark.parametrize("user", ["staff101", "head101", "both101"])
def test_another_units_instance_is_not_found(api, plans, user):
    _mine, other = plans
    for fmt in ("jsonl", "csv"):
        error_of(api(user).get(f"/api/v1/instances/{other}/history/export?format={fmt}"),
                 404, "not_found")


def test_errors_unknown_instance_bad_format_no_credentials(api, app, plans):
    mine, _other = plans
    error_of(api("auditor").get("/api/v1/instances/999999/history/export"), 404, "not_found")
    error_of(api("auditor").get(f"/api/v1/instances/{mine}/history/export?format=xml"), 400,
             "invalid_parameter")
    error_of(app.test_client().get(f"/api/v1/instances/{mine}/history/export"), 401,
             "unauthorized")


def test_export_lines_reads_in_batches_and_filters_by_instance(db, plans):
    mine, other = plans
    lines = list(export_lines(db, "jsonl", mine, batch=1))
    assert [json.loads(x) for x in lines] == expected(db, mine)
    everything = [json.loads(x) for x in export_lines(db, "jsonl", batch=2)]
    assert [e["instance_id"] for e in everything] == [mine] * 3 + [other]
    csv_lines = list(export_lines(db, "csv", other))
    assert len(csv_lines) == 2 and csv_lines[0].startswith("instance_id,seq,")


def test_whole_history_export_is_streamed_too(api, db, plans):
    response = api("auditor").get("/api/v1/audit/export?format=csv")
    assert response.status_code == 200 and response.is_streamed
    assert len(list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))) == 4
