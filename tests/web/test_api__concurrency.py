"""20 clients over real HTTP on PostgreSQL fire the same trigger at the same instance
with the same expected_version: exactly one 200 per race, 409 for the rest, and every
history chain still verifies."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from engine import Database, actor_for, start, update_data, verify_history
from web.api.tokens import create_token
from web.app import create_app

CLIENTS = 20


@pytest.fixture
def live(db_url):
    """A threaded werkzeug server on the database; yields (base URL, Database)."""
    db = Database(db_url)
    app = create_app({"DB": db, "SECRET_KEY": "live", "SESSION_COOKIE_SECURE": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", db
    server.shutdown()
    thread.join(5)
    server.server_close()
    db.dispose()


def _post(url: str, token: str, body: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        payload = json.loads(exc.read())
        assert set(payload["error"]) == {"code", "message", "details"}
        return exc.code


def _race(base: str, token: str, instance_id: int, trigger: str, version: int) -> list[int]:
    barrier, results = threading.Barrier(CLIENTS), []
    lock = threading.Lock()

    def client():
        barrier.wait()
        status = _post(f"{base}/api/v1/instances/{instance_id}/fire", token,
                       {"trigger": trigger, "expected_version": version})
        with lock:
            results.append(status)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_twenty_http_clients_exactly_one_wins_each_race(live):
    base, db = live
    staff = actor_for(db, "staff101")
    head = create_token(db, "head101", "race", created_by="test")[1]
    office = create_token(db, "office", "race", created_by="test")[1]
    plans = []
    for _ in range(3):
        plan = start(db, "performance_plan", staff, unit_code="101").instance_id
        update_data(db, plan, staff, {"goals": "g", "measures": "m"})
        plans.append(plan)
    for plan in plans:
        for token, trigger, version in ((head, "submit", 2), (office, "start_review", 3)):
            statuses = _race(base, token, plan, trigger, version)
            assert sorted(statuses) == [200] + [409] * (CLIENTS - 1)
    report = verify_history(db)
    assert report.ok and report.entries == 3 * 4
