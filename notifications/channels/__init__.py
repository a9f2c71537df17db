"""Delivery channels: small adapters behind one interface (email, webhook).

The dispatcher hands a channel one :class:`Outgoing` message at a time between
:meth:`Channel.open` and :meth:`Channel.close` (so a channel can keep one connection
for a whole batch). ``send`` returns when the receiving side has accepted the message
and raises :class:`DeliveryError` otherwise — ``permanent`` when retrying cannot help
(a mailbox that does not exist, a webhook answering 404). In-app delivery is not a
channel: inbox rows are written when the event is expanded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping


def message_key(delivery_key: str) -> str:
    """The stable idempotency key of a delivery (hex SHA-256 of its unique key, 32
    characters): the same on every retry and after any crash."""
    return hashlib.sha256(delivery_key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Outgoing:
    """One claimed delivery, ready to send."""

    delivery_id: int
    key: str
    channel: str
    address: str
    template: str
    locale: str
    params: Mapping[str, Any]
    attempt: int
    now: datetime
    recipient_name: str = ""
    endpoint: Mapping[str, Any] = field(default_factory=dict)
    tries: int = 1  # attempts since the last manual retry (the retry budget used)

    @property
    def idempotency_key(self) -> str:
        """See :func:`message_key`."""
        return message_key(self.key)


class DeliveryError(Exception):
    """A send that did not succeed; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel:
    """The interface every channel implements."""

    name = "channel"

    def open(self) -> None:
        """Prepare for a batch of sends (default: nothing)."""

    def send(self, message: Outgoing) -> None:
        """Deliver ``message``, or raise :class:`DeliveryError`."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what :meth:`open` or the sends acquired (default: nothing)."""
