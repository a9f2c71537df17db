"""The ``audit_anchors`` table (migration ``0009``): every signed anchor written.

``document`` is the anchor file exactly as written (its signature covers the canonical
form of its body, see :mod:`engine.anchor`); the other columns repeat what the list
pages show. The table is a convenience for listing and download: an anchor's worth is
the copy an auditor keeps outside the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, IdType


class AuditAnchor(Base):
    """One signed checkpoint of every chain head (``origin``: ``cli`` or ``daily``)."""

    __tablename__ = "audit_anchors"
    __table_args__ = (Index("ix_audit_anchors_moment", "moment"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    moment: Mapped[datetime] = mapped_column(DateTime)
    instances: Mapped[int] = mapped_column(Integer)
    entries: Mapped[int] = mapped_column(Integer)
    merkle_root: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))
    document: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
