"""The authorization matrix: every role against every page and action, cross-unit
attempts included. Pages hide nothing the engine would allow, and the engine refuses
what the page does not offer."""

from __future__ import annotations

import pytest

from engine import get_instance
from web_support import advance, app, client_for, plan, web_db  # noqa: F401

USERS = ("staff101", "head101", "head102", "office", "auditor", "admin")
PAGES = {  # path: users that get 200 (the others: 403; own-unit pages for unit users)
    "/": USERS,
    "/instances/": USERS,
    "/results/": USERS,
    "/office/": ("office", "admin"),
    "/office/export.xlsx": ("office", "admin"),
    "/audit/": ("office", "auditor", "admin"),
    "/audit/verify": ("office", "auditor", "admin"),
    "/audit/export.csv": ("office", "auditor", "admin"),
    "/admin/": ("admin",),
    "/admin/definitions": ("office", "admin"),
    "/admin/outbox": ("admin",),
    "/admin/users": ("admin",),
    "/admin/signins": ("admin",),
    "/admin/changes": ("admin",),
    "/admin/calendar": ("admin",),
    "/account/password": USERS,
}


@pytest.mark.parametrize("user", USERS)
def test_page_matrix(client_for, user):
    client = client_for(user)
    got = {path: client.get(path).status_code for path in PAGES}
    assert got == {path: 200 if user in allowed else 403 for path, allowed in PAGES.items()}


@pytest.mark.parametrize("user,status", [("staff101", 200), ("head101", 200), ("head102", 404),
                                         ("office", 200), ("auditor", 200), ("admin", 200)])
def test_instance_page_of_unit_101(client_for, plan, user, status):
    assert client_for(user).get(f"/instances/{plan}").status_code == status


@pytest.mark.parametrize("path", ["/instances/{id}/save", "/instances/{id}/fire"])
def test_another_units_instance_is_a_404_for_writes_too(client_for, web_db, plan, path):
    response = client_for("head102").post(path.format(id=plan),
                                          {"trigger": "submit", "field_goals": "x"})
    assert response.status_code == 404
    assert get_instance(web_db, plan).version == 2


def test_a_missing_instance_is_a_404(client_for):
    assert client_for("office").get("/instances/99999").status_code == 404


# state reached by the steps, trigger, user → expected HTTP status of the POST
STEPS = {"draft": (), "under_review": (("submit", "head101", None),
                                       ("start_review", "office", None))}
ACTIONS = [
    ("draft", "submit", "staff101", 403), ("draft", "submit", "head101", 302),
    ("draft", "submit", "head102", 404), ("draft", "submit", "office", 403),
    ("draft", "submit", "auditor", 403), ("draft", "submit", "admin", 403),
    ("under_review", "approve", "head101", 403), ("under_review", "approve", "auditor", 403),
    ("under_review", "approve", "office", 302),
    ("under_review", "request_revision", "staff101", 403),
    ("under_review", "publish", "office", 409),
]


@pytest.mark.parametrize("state,trigger,user,status", ACTIONS)
def test_action_matrix(client_for, web_db, plan, state, trigger, user, status):
    advance(web_db, plan, *STEPS[state])
    before = get_instance(web_db, plan)
    response = client_for(user).post(f"/instances/{plan}/fire", {"trigger": trigger})
    after = get_instance(web_db, plan)
    assert response.status_code == status
    assert (after.version > before.version) == (status == 302)


@pytest.mark.parametrize("user,status", [("staff101", 302), ("head101", 302), ("head102", 404),
                                         ("office", 403), ("auditor", 403)])
def test_save_matrix(client_for, web_db, plan, user, status):
    response = client_for(user).post(f"/instances/{plan}/save", {"field_goals": "改"})
    assert response.status_code == status


@pytest.mark.parametrize("user", ["staff101", "head101", "auditor", "admin"])
def test_only_the_office_extends_deadlines(client_for, plan, user):
    response = client_for(user).post("/office/extend", {"instance": str(plan),
                                                        "working_days": "3", "reason": "r"})
    assert response.status_code == 403


@pytest.mark.parametrize("user", ["staff101", "office", "auditor"])
def test_only_admins_import_and_retry(client_for, user):
    client = client_for(user)
    assert client.post("/admin/import/units").status_code == 403
    assert client.post("/admin/outbox/retry").status_code == 403


def test_auditor_sees_no_enabled_action(client_for, web_db, plan):
    advance(web_db, plan, ("submit", "head101", None), ("start_review", "office", None))
    body = client_for("auditor").get(f"/instances/{plan}").get_data(as_text=True)
    assert 'class="primary"' not in body and 'id="save"' not in body
