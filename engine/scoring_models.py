"""Tables of the evaluation year: cycles, entered scores, vetoes, results, result changes.

Created by migration ``0004``. Scores are stored as decimal *text* (exact, and the same
on SQLite and PostgreSQL); :mod:`engine.scoring` does all arithmetic in Decimal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .clock import utcnow
from .models import Base, IdType, JsonType


class Cycle(Base):
    """One evaluation year: its ``evaluation_cycle`` instance and frozen settings."""

    __tablename__ = "cycles"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    config: Mapped[dict[str, Any]] = mapped_column(JsonType)
    opened_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ScoreEntry(Base):
    """An entered value: an indicator's raw value, or the ``public``/``leadership`` score."""

    __tablename__ = "score_entries"
    __table_args__ = (UniqueConstraint("cycle_id", "unit_id", "item"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    item: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(40))
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(DateTime)


class Veto(Base):
    """A one-vote veto (一票否决) recorded against a unit in a cycle."""

    __tablename__ = "vetoes"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    item: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(DateTime)


class ResultRow(Base):
    """A unit's current result in a cycle (``revision`` counts recomputations)."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("cycle_id", "unit_id"),
                      Index("ix_results_cycle_category", "cycle_id", "category"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    category: Mapped[str] = mapped_column(String(64))
    indicator: Mapped[str] = mapped_column(String(40))
    public: Mapped[str] = mapped_column(String(40))
    leadership: Mapped[str] = mapped_column(String(40))
    composite: Mapped[str] = mapped_column(String(40))
    grade: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int | None] = mapped_column(Integer)
    vetoed: Mapped[bool] = mapped_column(Boolean)
    revision: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(DateTime)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)


class ResultChange(Base):
    """Old and new values of a result changed by a recomputation (an appeal adjustment)."""

    __tablename__ = "result_changes"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    revision: Mapped[int] = mapped_column(Integer)
    old: Mapped[dict[str, Any]] = mapped_column(JsonType)
    new: Mapped[dict[str, Any]] = mapped_column(JsonType)
    reason: Mapped[str] = mapped_column(Text)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
