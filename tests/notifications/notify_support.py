"""Fixtures and helpers of the notification tests: people with mail addresses, a plan,
a fake channel, a real SMTP server (aiosmtpd on a pre-picked port), a flaky webhook
receiver, the outbox rows the timer sweep writes.

Test modules import the fixtures they use from here (``from notify_support import
plan, staff``): a second ``conftest.py`` would shadow ``tests/conftest.py`` for the
modules that import it by name. The ``db`` fixture (tests/conftest.py) runs each test
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import email
import email.policy
import socket
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from engine import actor_for, start
from engine.models import Instance, OutboxMessage, Timer, Unit, User
from engine.registry import compiled
from notifications import Channel, DeliveryError

MAIL_FROM = "绩效办 <jxb@perfeval.test>"
PEOPLE = (  # username, roles, unit, display name
    ("zhang", ("unit_staff",), "101", "张明"),
    ("chen", ("unit_head",), "101", "陈刚"),
    ("liu", ("unit_head",), "102", "刘洋"),
    ("wang", ("office",), None, "王主任"),
    ("li", ("leader",), None, "李书记"),
)

def free_port() -> int:
    """A TCP port nobody listens on right now (aiosmtpd cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeChannel(Channel):
    """Records what it is asked to send; ``fail(message)`` may return an error."""

    def __init__(self, name: str = "email", fail=None) -> None:
        self.name, self.fail, self.sent = name, fail, []

    def send(self, message) -> None:
        error = self.fail(message) if self.fail else None
        if error is not None:
            raise error
        self.sent.append(message)


def flaky(times: int, *, permanent: bool = False):
    """A ``fail`` function that refuses every message ``times`` times."""
    seen: dict[int, int] = {}

    def fail(message):
        seen[message.delivery_id] = seen.get(message.delivery_id, 0) + 1
        if seen[message.delivery_id] <= times:
            return DeliveryError("451 try again later", permanent=permanent)
        return None

    return fail


class Mailbox:
    """aiosmtpd handler keeping every message it accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def message_ids(self) -> list[str]:
        """The Message-ID of every accepted message, in arrival order."""
        return [m["Message-ID"] for _, m in self.messages]


class SmtpServer:
    """A real SMTP server on a fixed local port that can go down and come back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.box = Mailbox()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        """``PERFEVAL_SMTP_URL`` for this server."""
        return f"smtp://127.0.0.1:{self.port}?from={quote(MAIL_FROM)}&timeout=5"

    def start(self) -> None:
        """Listen (again) on the same port."""
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def timer_event(db, instance_id: int, kind: str, *, nth: int = 0, notify=()) -> int:
    """Write the outbox row the timer sweep (issue 4) writes when the ``nth`` timer of
    ``kind`` of the instance's current state fires: kind remind/due/escalate, payload
    {definition, instance_id, state, due_at, notify}, created at the timer's due time."""
    with db.write() as conn:
        inst = conn.execute(select(Instance.__table__).where(
            Instance.id == instance_id)).first()
        timer = conn.execute(select(Timer.__table__).where(
            Timer.instance_id == instance_id, Timer.kind == kind, Timer.state == inst.state)
            .order_by(Timer.due_at, Timer.id)).all()[nth]
        roles = list(compiled(db, inst.definition_version_id).next_roles.get(inst.state, ()))
        return conn.execute(insert(OutboxMessage).values(
            instance_id=instance_id, kind=kind, dedupe_key=f"{kind}:{timer.id}",
            recipients={"roles": roles, "unit_id": inst.subject_unit_id},
            payload={"definition": inst.definition_key, "instance_id": instance_id,
                     "state": inst.state, "due_at": timer.due_at.isoformat(),
                     "notify": list(notify or timer.notify)},
            status="pending", attempts=0, created_at=timer.due_at)
            .returning(OutboxMessage.id)).scalar_one()


class WebhookReceiver:
    """A real local HTTP endpoint (http.server in a thread) that fails intermittently.

    ``answer(n)`` gives the HTTP status of the n-th request (1-based); every request
    is kept with its headers, body, query and whether its signature verified.
    """

    def __init__(self, secret: str, answer=lambda n: 200, reply: bytes = b'{"ok":true}'):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlsplit

        from notifications.channels.webhook import verify

        receiver = self
        self.requests: list[dict] = []
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signature = self.headers.get("X-Perfeval-Signature", "")
                with receiver._lock:
                    status = answer(len(receiver.requests) + 1)
                    receiver.requests.append({
                        "status": status, "headers": dict(self.headers), "body": body,
                        "path": urlsplit(self.path).path,
                        "query": {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()},
                        "verified": bool(signature) and verify(
                            secret, self.headers["X-Perfeval-Timestamp"], body, signature)})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(reply if status < 300 else b'{"error":"busy"}')

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        """The URL of this receiver."""
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def accepted(self) -> list[dict]:
        """Requests answered with 2xx."""
        return [r for r in self.requests if 200 <= r["status"] < 300]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def people(db):
    """Users with e-mail addresses (on top of the seeded, address-less ones): ids.
    Inserted directly: these users never sign in, so no slow password hashing."""
    with db.write_session() as session:
        units = dict(session.execute(select(Unit.code, Unit.id)).all())
        users = [User(username=name, password_hash="!", roles=list(roles),
                      unit_id=units.get(unit), display_name=display,
                      email=f"{name}@perfeval.test") for name, roles, unit, display in PEOPLE]
        session.add_all(users)
        session.flush()
        return {u.username: u.id for u in users}


@pytest.fixture
def staff(db, people):
    """Actors of the mail users, by username."""
    return {name: actor_for(db, name) for name in people}


@pytest.fixture
def plan(db, staff):
    """A performance plan of unit 101 in ``draft`` with its fields filled in."""
    return start(db, "performance_plan", staff["zhang"], unit_code="101",
                 data={"goals": "全年固定资产投资增长8%", "measures": "项目清单化"}).instance_id


@pytest.fixture
def fake():
    """A fake email channel that accepts everything."""
    return FakeChannel()


@pytest.fixture
def smtp():
    """A running SMTP server (stopped at the end of the test)."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
