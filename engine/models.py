"""SQLAlchemy 2 typed models: the persisted shape of perfeval.

The schema itself is created and upgraded by Alembic (``engine/migrations``); these
classes describe it for queries. ``history`` is append-only: the database refuses
UPDATE and DELETE on it (triggers created by the initial migration), and the mapper
refuses them too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint, event)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .clock import utcnow

JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of every perfeval table."""


class Unit(Base):
    """An evaluated unit (被评估单位) or an organisational node; ``category`` is the
    county category (乡镇场/县直单位/驻县单位) or the city series (系列Ⅰ/Ⅱ/Ⅲ)."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    """A person who signs in; ``roles`` is a list of catalogue role names."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    roles: Mapped[list[str]] = mapped_column(JsonType, default=list)
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_token: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DefinitionVersion(Base):
    """One loaded version of a process definition, identified by key + content hash."""

    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("key", "version"), UniqueConstraint("key", "content_hash"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(String(500), default="")
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Instance(Base):
    """A running (or finished) process instance.

    ``version`` is the optimistic-lock counter and equals the number of history
    entries; ``last_hash`` is the hash of the newest history entry.
    """

    __tablename__ = "instances"
    __table_args__ = (Index("ix_instances_key_state", "definition_key", "state"),
                      Index("ix_instances_unit", "subject_unit_id"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    definition_key: Mapped[str] = mapped_column(String(64))
    subject_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    state: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    last_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __mapper_args__ = {"version_id_col": version}


class HistoryEntry(Base):
    """One append-only, hash-chained entry of an instance's history (creation included)."""

    __tablename__ = "history"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    seq: Mapped[int] = mapped_column(Integer)
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    data_patch: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    data_hash: Mapped[str] = mapped_column(String(64))
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    definition_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Timer(Base):
    """A deadline timer row (reminder, due, escalation); the scheduler sweeps due rows.

    ``status``: ``pending`` (waiting for ``due_at``), ``paused`` (deadline clock
    stopped), ``done`` (took effect: ``outcome`` says how), ``collapsed`` (a passed
    reminder folded into a later notice), ``cancelled`` (state left, or replaced by a
    recomputation), ``failed`` (gave up after too many attempts). The time columns
    (0002) keep what a recomputation needs: when the state was entered, the extensions
    and pauses applied since (``adjustments``), the calendar version used, and the
    first year without official calendar data the deadline depends on.
    """

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_status_due", "status", "due_at"),
                      Index("ix_timers_instance", "instance_id", "status"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    instance_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    notify: Mapped[list[str]] = mapped_column(JsonType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    slot: Mapped[str | None] = mapped_column(String(16))  # due | remind:N | escalate:N
    entered_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_date: Mapped[date | None] = mapped_column(Date)
    adjustments: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    fire_trigger: Mapped[str | None] = mapped_column(String(64))
    calendar_version: Mapped[str | None] = mapped_column(String(16))
    uncovered_year: Mapped[int | None] = mapped_column(Integer)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime)
    retry_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    fired_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(64))


class CalendarOverride(Base):
    """One day whose working status an administrator set (from the State Council's
    yearly notice or a local notice); it beats the holiday library."""

    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CalendarYear(Base):
    """A year an imported notice declared complete (official data beyond the library)."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(200), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SchedulerHeartbeat(Base):
    """One scheduler process: when it started, last beat and sweep, what it did."""

    __tablename__ = "scheduler_heartbeats"
    worker: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    beat_at: Mapped[datetime] = mapped_column(DateTime)
    interval_s: Mapped[int] = mapped_column(Integer)
    sweeps: Mapped[int] = mapped_column(Integer, default=0)
    last_report: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    last_error: Mapped[str | None] = mapped_column(Text)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)


class OutboxMessage(Base):
    """A notification written in the transition's transaction, delivered after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipients: Mapped[dict[str, Any]] = mapped_column(JsonType)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


@event.listens_for(HistoryEntry, "before_update")
@event.listens_for(HistoryEntry, "before_delete")
def _history_is_append_only(mapper, connection, target):  # noqa: ARG001
    raise RuntimeError("history is append-only")
