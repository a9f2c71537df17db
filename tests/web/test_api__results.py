"""GET /api/v1/cycles/{year}/results: scores, grade and rank per unit by category, and who
may read which rows (every role; a unit user only their own row, once published)."""

from __future__ import annotations

import pytest

from engine import Actor, add_user, fire, start
from engine.cycles import open_cycle
from engine.results import compute_results, enter_scores, read_results
from web.api import schemas
from web.api.tokens import create_token
from web.app import create_app
from api_support import Api, error_of
from cycle_support import walk_to

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
ROWS = [{"code": "K1", "name": "重点工作", "weight": 100, "method": "direct",
         "verifier": "督查室"}]
SCORES = {"101": 80, "102": 85, "201": 70}
READ_ALL = ("office", "committee", "leader", "auditor", "admin")


@pytest.fixture
def app(db):
    """The application on the parametrised database (SQLite and PostgreSQL), with a
    committee member, a leader and an admin added to the seeded organisation."""
    for username, role in (("committee", "committee"), ("leader", "leader"),
                           ("admin", "admin"), ("expert", "expert")):
        add_user(db, username, "correct-horse-1", [role])
    return create_app({"TESTING": True, "DB": db, "SECRET_KEY": "test-secret",
                       "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})


@pytest.fixture
def api(app, db):
    return lambda username: Api(app, create_token(db, username, "t", created_by="test")[1])


@pytest.fixture
def computed(db):
    """2026's results computed (not published): one indicator per category."""
    open_cycle(db, 2026, OFFICE)
    for category in ("县直单位", "乡镇场"):
        iid = start(db, "indicator_system", OFFICE,
                    data={"year": 2026, "category": category, "indicators": ROWS}).instance_id
        for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                             ("approve", COMMITTEE), ("put_in_force", OFFICE)):
            fire(db, iid, trigger, who)
    walk_to(db, 2026, "scoring")
    rows = [(code, item, value) for code, value in SCORES.items()
            for item in ("K1", "public", "leadership")]
    assert enter_scores(db, 2026, OFFICE, rows) == []
    compute_results(db, 2026, OFFICE)
    return 2026


def publish(db) -> None:
    """The committee approves (and so publishes) the computed results."""
    walk_to(db, 2026, "publicity")


def body_of(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert schemas.validate(body, schemas.ref("Results")) == []
    return body


@pytest.mark.parametrize("user", READ_ALL)
def test_office_committee_leader_auditor_admin_see_every_row_before_publication(
        api, computed, db, user):
    body = body_of(api(user).get("/api/v1/cycles/2026/results"))
    assert body["year"] == 2026 and body["published"] is False
    assert body["categories"] == ["乡镇场", "县直单位"]
    stored = read_results(db, 2026)
    assert [r["unit"]["code"] for r in body["items"]] == [r["code"] for r in stored]
    by_code = {r["unit"]["code"]: r for r in body["items"]}
    assert by_code["102"]["rank"] == 1 and by_code["101"]["rank"] == 2
    assert by_code["201"]["rank"] == 1 and by_code["201"]["category"] == "乡镇场"
    for item in body["items"]:
        same = next(r for r in stored if r["code"] == item["unit"]["code"])
        assert (item["composite"], item["grade"], item["vetoed"]) == \
            (same["composite"], same["grade"], same["vetoed"])
        assert item["published_at"] is None and item["computed_at"].endswith("+08:00")


@pytest.mark.parametrize("user", ["staff101", "head101", "both101", "head102", "expert"])
def test_unit_users_and_experts_see_nothing_before_publication(api, computed, user):
    body = body_of(api(user).get("/api/v1/cycles/2026/results"))
    assert body["items"] == [] and body["categories"] == [] and body["published"] is False


@pytest.mark.parametrize(("user", "code"), [("staff101", "101"), ("head101", "101"),
                                            ("head102", "102")])
def test_unit_users_see_only_their_own_unit_once_published(api, computed, db, user, code):
    publish(db)
    body = body_of(api(user).get("/api/v1/cycles/2026/results"))
    assert body["published"] is True
    assert [r["unit"]["code"] for r in body["items"]] == [code]
    assert body["items"][0]["published_at"].endswith("+08:00")
    assert body["categories"] == ["县直单位"]
    assert body_of(api(user).get("/api/v1/cycles/2026/results?category=乡镇场"))["items"] == []


@pytest.mark.parametrize("user", ["auditor", "expert"])
def test_auditors_and_experts_see_every_row_after_publication_and_filter_by_category(
        api, computed, db, user):
    publish(db)
    body = body_of(api(user).get("/api/v1/cycles/2026/results?category=县直单位"))
    assert [r["unit"]["code"] for r in body["items"]] == ["102", "101"]
    assert body["categories"] == ["乡镇场", "县直单位"]
    assert all(r["published_at"] for r in body["items"])


def test_a_cycle_without_results_is_an_empty_list(api, db):
    open_cycle(db, 2027, OFFICE)
    body = body_of(api("office").get("/api/v1/cycles/2027/results"))
    assert body == {"year": 2027, "published": False, "categories": [], "items": []}


def test_errors_no_cycle_bad_parameter_no_credentials(api, app, computed):
    error_of(api("office").get("/api/v1/cycles/1999/results"), 404, "not_found")
    error_of(api("head101").get("/api/v1/cycles/1999/results"), 404, "not_found")
    error_of(api("office").get("/api/v1/cycles/2026/results?category="), 400,
             "invalid_parameter")
    error_of(app.test_client().get("/api/v1/cycles/2026/results"), 401, "unauthorized")
    error_of(api("office").post("/api/v1/cycles/2026/results"), 405, "method_not_allowed")
