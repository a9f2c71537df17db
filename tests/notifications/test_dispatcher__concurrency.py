"""Several dispatchers at once (threads, each with its own connections) expand every
event once and send every delivery once."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import func, select

from engine import Database, fire, start
from engine.models import OutboxMessage
from notifications import DispatchConfig, dispatch
from notifications.models import Delivery, InboxEntry
from notify_support import FakeChannel
from notify_support import people, staff  # noqa: F401 - fixtures

T0 = datetime(2026, 12, 1, 1, 0)
DISPATCHERS = 4


def test_concurrent_dispatchers_never_double_expand_or_double_send(db, db_url, staff):
    for _ in range(30):
        pid = start(db, "performance_plan", staff["zhang"], unit_code="101",
                    data={"goals": "目标", "measures": "措施"}).instance_id
        fire(db, pid, "submit", staff["chen"])
    channels = [FakeChannel() for _ in range(DISPATCHERS)]
    barrier, errors = threading.Barrier(DISPATCHERS), []

    def run(channel):
        own = Database(db_url)
        try:
            barrier.wait()
            for _ in range(3):
                dispatch(own, now=T0, channels={"email": channel},
                         config=DispatchConfig(batch=5, worker=f"w{id(channel)}"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=run, args=(c,)) for c in channels]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    keys = [m.key for c in channels for m in c.sent]
    assert len(keys) == len(set(keys)) == 60
    with db.read() as conn:
        assert conn.execute(select(func.max(OutboxMessage.attempts))).scalar() == 1
        assert conn.execute(select(func.count()).select_from(Delivery)).scalar() == 60
        inbox = conn.execute(select(func.count()).select_from(InboxEntry)).scalar()
    # started → chen, head101, both101; submitted → wang, office
    assert inbox == 30 * 3 + 30 * 2
