"""Helpers of the time tests: the test definitions, local times, timer and outbox rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from freezegun import freeze_time

from sqlalchemy import select

from engine import start
from engine.clock import local_to_utc, to_local
from engine.models import OutboxMessage, Timer
from engine.setup import load_definitions

DATA = Path(__file__).parent / "data" / "time"


def load_time_definitions(db) -> None:
    """Register half_year_report (due 07-31) and annual_report (due 12-10)."""
    load_definitions(db, DATA)


def local(text: str) -> datetime:
    """``"2026-07-28 09:00"`` in Shanghai as naive UTC."""
    moment = datetime.fromisoformat(text)
    return local_to_utc(moment.date(), moment.hour, moment.minute)


def shown(moment: datetime) -> str:
    """Naive UTC as local ``YYYY-MM-DD HH:MM``."""
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def timers(db, instance_id: int, *statuses: str) -> list:
    """The instance's timers (optionally of these statuses) in time order."""
    query = select(Timer.__table__).where(Timer.instance_id == instance_id)
    if statuses:
        query = query.where(Timer.status.in_(statuses))
    with db.read() as conn:
        return conn.execute(query.order_by(Timer.due_at, Timer.id)).all()


def events(db, instance_id: int | None = None) -> list:
    """Timer outbox events (remind/due/escalate/deadline_extended), oldest first."""
    query = select(OutboxMessage.__table__).where(OutboxMessage.kind.in_(
        ("remind", "due", "escalate", "deadline_extended")))
    if instance_id is not None:
        query = query.where(OutboxMessage.instance_id == instance_id)
    with db.read() as conn:
        return conn.execute(query.order_by(OutboxMessage.id)).all()


@pytest.fixture
def plans(db, actors):
    """Half-year reports of units 101, 102 and 201, started on 2026-07-13 10:00 local."""
    load_time_definitions(db)
    with freeze_time(local("2026-07-13 10:00")):
        return {code: start(db, "half_year_report", actors["office"], unit_code=code,
                            data={"year": 2026}).instance_id for code in ("101", "102", "201")}
