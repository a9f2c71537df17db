"""Throughput of the notification dispatcher: in-app fan-out and email over SMTP.

Not a test: run it by hand (see docs/notifications.md)::

    python benchmarks/bench_outbox.py                    # SQLite, 10,000 in-app, 2,000 emails
    python benchmarks/bench_outbox.py --db postgresql    # scratch database on PERFEVAL_BENCH_PG_URL
    python benchmarks/bench_outbox.py --inapp 2000 --emails 500

Workload, on a fresh database (``engine.init`` plus one unit and two users):

- *in-app*: ``--inapp`` outbox events (the rows ``fire()`` writes: kind ``transition``,
  one per history entry), each addressed to the unit head of unit 101, who has e-mail
  switched off. ``dispatch()`` claims them, resolves the recipient, renders the
  Chinese title and body and inserts one inbox entry per event, 200 events per
  transaction. Figure: inbox entries per second.
- *email*: ``--emails`` events addressed to the office user (e-mail on). ``dispatch()``
  expands them (inbox entry + email delivery), then claims, renders (subject, text,
  HTML), sends over one SMTP connection to a local aiosmtpd server and records each
  delivery and attempt in its own transaction. Figure: emails per second, end to end.
- *floor*: the same number of messages, built beforehand (one of ours, serialised),
  sent with bare ``smtplib.sendmail`` over one connection to the same server: the
  cost of SMTP alone. Measured before and after ours; the faster run counts.

Output: a table, then, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine import Database, actor_for, init, start  # noqa: E402
from engine.models import OutboxMessage, Unit, User  # noqa: E402
from notifications import (DispatchConfig, EmailChannel, SmtpSettings, dispatch,  # noqa: E402
                           set_preferences)
from notifications.channels import Outgoing  # noqa: E402
from notifications.channels.email import build_message  # noqa: E402
from notifications.models import Delivery, InboxEntry  # noqa: E402

SENDER = "绩效办 <jxb@perfeval.test>"
NOW = datetime(2026, 12, 1, 1, 0)


class Counter:
    """aiosmtpd handler that only counts what it accepts."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        self.count += 1
        return "250 OK"


def free_port() -> int:
    """A free local TCP port (aiosmtpd cannot bind port 0)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(db: Database) -> int:
    """Schema, one unit, a unit head (in-app only) and an office user; one instance."""
    init(db)
    with db.write_session() as session:
        unit = Unit(code="101", name="县发展和改革局", category="县直单位")
        session.add(unit)
        session.flush()
        session.add_all([
            User(username="head", password_hash="!", roles=["unit_head"], unit_id=unit.id,
                 display_name="陈刚", email="head@perfeval.test"),
            User(username="office", password_hash="!", roles=["office"],
                 display_name="王主任", email="office@perfeval.test")])
    head = actor_for(db, "head")
    set_preferences(db, head.user_id, email=False)
    return start(db, "performance_plan", head, unit_code="101",
                 data={"goals": "全年固定资产投资增长8%", "measures": "项目清单化"}).instance_id


def add_events(db: Database, instance_id: int, count: int, role: str, tag: str) -> None:
    """``count`` outbox events shaped like fire()'s, addressed to ``role``."""
    rows = [{"instance_id": instance_id, "kind": "transition",
             "dedupe_key": f"transition:{instance_id}:{tag}{i}",
             "recipients": {"roles": [role], "unit_id": 1},
             "payload": {"definition": "performance_plan", "instance_id": instance_id,
                         "from": "draft", "to": "submitted", "trigger": "submit",
                         "actor": "bench", "comment": None},
             "status": "pending", "attempts": 0, "created_at": NOW} for i in range(count)]
    with db.write() as conn:
        for start_at in range(0, count, 1000):
            conn.execute(insert(OutboxMessage), rows[start_at:start_at + 1000])


def floor_run(port: int, message: bytes, count: int) -> float:
    """Seconds for ``count`` bare smtplib sends of ``message`` over one connection."""
    began = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for _ in range(count):
            smtp.sendmail("jxb@perfeval.test", ["office@perfeval.test"], message)
    return time.perf_counter() - began


def sample_message(db: Database, instance_id: int) -> bytes:
    """One of our emails, serialised (what the floor sends)."""
    with db.read() as conn:
        params = conn.execute(select(InboxEntry.params).limit(1)).scalar_one()
    outgoing = Outgoing(0, "bench:sample", "email", "office@perfeval.test", "submitted",
                        "zh_CN", params, 1, NOW, "王主任")
    return build_message(outgoing, SENDER, "perfeval.test")


def count_rows(db: Database, table) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def run(db: Database, inapp: int, emails: int) -> dict:
    """Run the three measurements on ``db``; return the figures."""
    instance_id = setup(db)
    box, port = Counter(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = DispatchConfig(worker="bench")
        dispatch(db, now=NOW, channels={}, config=config)  # the "started" event; warm-up
        add_events(db, instance_id, inapp, "unit_head", "a")
        began = time.perf_counter()
        report = dispatch(db, now=NOW, channels={}, config=config)
        inapp_s = time.perf_counter() - began
        assert report.inbox == inapp, report

        add_events(db, instance_id, emails, "office", "m")
        floor_before = floor_run(port, sample_message(db, instance_id), emails)
        channel = EmailChannel(SmtpSettings.from_url(
            f"smtp://127.0.0.1:{port}?from={quote(SENDER)}"))
        began = time.perf_counter()
        report = dispatch(db, now=NOW, channels={"email": channel}, config=config)
        email_s = time.perf_counter() - began
        assert (report.sent, report.failed) == (emails, 0), report
        floor_after = floor_run(port, sample_message(db, instance_id), emails)
        assert box.count == 3 * emails
        assert count_rows(db, Delivery) == emails
    finally:
        controller.stop()
    floor_s = min(floor_before, floor_after)
    return {"inapp": inapp, "emails": emails, "inapp_s": inapp_s, "email_s": email_s,
            "floor_s": floor_s, "floor_runs_s": (floor_before, floor_after)}


def scratch_pg(base_url: str):
    """A scratch PostgreSQL database URL and a function that drops it."""
    name = f"perfeval_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--inapp", type=int, default=10_000)
    parser.add_argument("--emails", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        drop = None
        if args.db == "sqlite":
            url = f"sqlite:///{folder}/bench.db"
        else:
            url, drop = scratch_pg(os.environ.get(
                "PERFEVAL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
        db = Database(url)
        try:
            r = run(db, args.inapp, args.emails)
        finally:
            db.dispose()
            if drop:
                drop()
    inapp_rate, email_rate = r["inapp"] / r["inapp_s"], r["emails"] / r["email_s"]
    floor_rate = r["emails"] / r["floor_s"]
    print(f"database: {args.db}")
    print(f"{'measure':<34}{'count':>8}{'seconds':>10}{'per second':>12}")
    print(f"{'in-app (fan-out + inbox insert)':<34}{r['inapp']:>8}{r['inapp_s']:>10.2f}"
          f"{inapp_rate:>12.0f}")
    print(f"{'email (fan-out, render, SMTP, record)':<34}{r['emails']:>8}{r['email_s']:>10.2f}"
          f"{email_rate:>12.0f}")
    print(f"{'floor: bare smtplib, one connection':<34}{r['emails']:>8}{r['floor_s']:>10.2f}"
          f"{floor_rate:>12.0f}   (runs: {r['floor_runs_s'][0]:.2f}s, "
          f"{r['floor_runs_s'][1]:.2f}s)")
    print(f"ratio email / floor: {email_rate / floor_rate:.3f}")
    print(json.dumps({"benchmark": "outbox", "db": args.db, "inapp_per_s": round(inapp_rate, 1),
                      "email_per_s": round(email_rate, 1),
                      "floor_email_per_s": round(floor_rate, 1),
                      "ratio": round(email_rate / floor_rate, 3)}))


if __name__ == "__main__":
    main()
