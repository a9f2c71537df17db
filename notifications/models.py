"""Tables of notification delivery (created by migration ``0003``).

The engine's ``outbox`` row is the notification *event*, written in the transition's
(or timer's) transaction. The dispatcher expands each event, in one transaction, into
in-app :class:`InboxEntry` rows (the delivery itself) and :class:`Delivery` rows for the
external channels (email, webhook), which it then sends with retries; every send is an
:class:`DeliveryAttempt`.

Delivery status, member by member:

- ``pending`` — waiting to be sent at ``next_attempt_at`` (first try or a retry);
- ``sending`` — claimed by a dispatcher until ``next_attempt_at`` (the lease); a claim
  whose lease ran out (the dispatcher died) is claimed again, the send repeated with
  the same Message-ID / idempotency key;
- ``sent`` — the channel accepted it (``sent_at``);
- ``dead`` — dead letter: attempts exhausted or a permanent error; ``perfeval outbox
  retry`` makes it ``pending`` again;
- ``held`` — a reminder kept back for the user's daily digest (``digest_day``);
- ``folded`` — a held reminder that went out inside digest ``digest_id``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from engine.clock import utcnow
from engine.models import Base, IdType, JsonType

DELIVERY_STATUSES = ("pending", "sending", "sent", "dead", "held", "folded")
ATTEMPT_OUTCOMES = ("started", "sent", "failed", "dead", "interrupted")


class Preference(Base):
    """One user's notification preferences; a user without a row gets the defaults
    (locale from ``PERFEVAL_LOCALE``, email and webhook on, no digest)."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    locale: Mapped[str] = mapped_column(String(16), default="zh_CN")
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebhookEndpoint(Base):
    """A webhook subscriber: a user's own endpoint (``user_id``), or a group-chat robot
    subscribed to events addressed to ``roles`` (of ``unit_id``, or organisation-wide).

    ``style`` is the payload shape: ``json`` (perfeval's own), ``dingtalk`` or ``wecom``.
    """

    __tablename__ = "notification_webhooks"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str] = mapped_column(String(200), default="")
    style: Mapped[str] = mapped_column(String(16), default="json")
    locale: Mapped[str] = mapped_column(String(16), default="zh_CN")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    roles: Mapped[list[str]] = mapped_column(JsonType, default=list)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class InboxEntry(Base):
    """One in-app notification of one user; unique per (event, user), inserted in the
    same transaction that marks the event dispatched, so it exists exactly once."""

    __tablename__ = "notification_inbox"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),
                      Index("ix_inbox_user_unread", "user_id", "read_at", "id"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    template: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(1000), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class Delivery(Base):
    """One message to one recipient over one external channel (``email``/``webhook``).

    ``key`` = event dedupe key + channel + recipient; the Message-ID (email) and the
    ``Idempotency-Key`` (webhook) are derived from it, so a repeated send is
    recognisable. ``address`` is the e-mail address, or the webhook URL (the endpoint's
    current URL and secret are used when sending). ``attempts`` counts every try ever
    made; ``retry_base`` is its value when the dead letter was last retried by hand,
    so the retry budget is ``attempts - retry_base``.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_deliveries_digest", "user_id", "status", "digest_day"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("notification_webhooks.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(1000), default="")
    template: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_base: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    digest_day: Mapped[date | None] = mapped_column(Date)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("notification_deliveries.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class DeliveryAttempt(Base):
    """One try at sending a delivery: when, over which channel, how it ended.

    ``outcome``: ``started`` (in flight), ``sent``, ``failed`` (will be retried),
    ``dead`` (failed for the last time, or permanently), ``interrupted`` (the
    dispatcher died during the try; the outcome is unknown and the send is repeated).
    """

    __tablename__ = "notification_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_deliveries.id"))
    number: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    worker: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
