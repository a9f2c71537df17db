"""A dispatcher killed with SIGKILL between sending a message and recording it: after
a restart nothing is lost, and the one resend carries the same Message-ID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from engine import fire, start
from notifications import (DispatchConfig, EmailChannel, SmtpSettings, attempts_of, dispatch,
                           message_key)
from notifications.models import Delivery
from notify_support import people, smtp, staff  # noqa: F401 - fixtures

T0 = datetime(2026, 12, 1, 1, 0)
KILL_AFTER = 3
CHILD = """
import os, signal, sys
from datetime import datetime
from engine import Database
from notifications import DispatchConfig, EmailChannel, SmtpSettings, dispatch

db_url, smtp_url, now, kill_after = sys.argv[1:]
sent = 0

class DiesAfterSending(EmailChannel):
    def send(self, message):
        global sent
        super().send(message)           # the server has accepted the message ...
        sent += 1
        if sent == int(kill_after):     # ... and we die before recording it
            os.kill(os.getpid(), signal.SIGKILL)

dispatch(Database(db_url), now=datetime.fromisoformat(now), config=DispatchConfig(worker="child"),
         channels={"email": DiesAfterSending(SmtpSettings.from_url(smtp_url))})
"""


def test_sigkill_between_send_and_record_loses_nothing(db, db_url, staff, smtp):
    for _ in range(4):  # 8 emails: 4 × started (→ 陈刚), 4 × submitted (→ 王主任)
        pid = start(db, "performance_plan", staff["zhang"], unit_code="101",
                    data={"goals": "目标", "measures": "措施"}).instance_id
        fire(db, pid, "submit", staff["chen"])
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, db_url, smtp.url, T0.isoformat(), str(KILL_AFTER)],
        env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert len(smtp.box.messages) == KILL_AFTER
    with db.read() as conn:
        rows = conn.execute(select(Delivery.id, Delivery.key, Delivery.status)
                            .order_by(Delivery.id)).all()
    statuses = Counter(r.status for r in rows)
    assert statuses == {"sent": KILL_AFTER - 1, "sending": len(rows) - KILL_AFTER + 1}

    config = DispatchConfig(worker="restarted")
    early = dispatch(db, now=T0 + timedelta(minutes=1), channels={
        "email": EmailChannel(SmtpSettings.from_url(smtp.url))}, config=config)
    assert early.sent == 0  # the dead dispatcher's claims hold until their lease ends
    after = dispatch(db, now=T0 + config.lease, channels={
        "email": EmailChannel(SmtpSettings.from_url(smtp.url))}, config=config)
    assert after.sent == len(rows) - KILL_AFTER + 1

    ids = Counter(smtp.box.message_ids())
    expected = {f"<{message_key(r.key)}@perfeval.test>" for r in rows}
    assert set(ids) == expected  # nothing lost
    twice = [mid for mid, n in ids.items() if n > 1]
    in_flight = next(r for r in rows if r.status == "sending"
                     and f"<{message_key(r.key)}@perfeval.test>" in twice)
    assert len(twice) == 1 and ids[twice[0]] == 2  # only the in-flight one, same Message-ID
    outcomes = [(a["outcome"], a["worker"]) for a in attempts_of(db, in_flight.id)]
    assert outcomes == [("interrupted", "child"), ("sent", "restarted")]
