"""The one clock every part of perfeval reads.

Stored times are naive UTC datetimes; calendar dates and displayed times are in
``PERFEVAL_TIMEZONE`` (Asia/Shanghai). Tests freeze time with freezegun, which patches
``datetime.now`` used here.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

_pinned: ContextVar[datetime | None] = ContextVar("perfeval_pinned_clock", default=None)


def utcnow() -> datetime:
    """The current time as a naive UTC datetime (what the database stores)."""
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextmanager
def pinned(moment: datetime) -> Iterator[datetime]:
    """Make :func:`utcnow` answer ``moment`` (naive UTC) in this context — for
    ``perfeval simulate``, which replays a year on a throwaway database."""
    token = _pinned.set(moment)
    try:
        yield moment
    finally:
        _pinned.reset(token)


def local_zone() -> ZoneInfo:
    """The zone calendar dates are counted in (``PERFEVAL_TIMEZONE``, default Asia/Shanghai)."""
    return ZoneInfo(os.environ.get("PERFEVAL_TIMEZONE", "Asia/Shanghai"))


def to_local(moment: datetime) -> datetime:
    """Convert a naive-UTC (or aware) datetime to an aware local datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(local_zone())


def local_today(moment: datetime | None = None) -> date:
    """The local calendar date at ``moment`` (default: now)."""
    return to_local(moment or utcnow()).date()


def local_to_utc(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A local wall-clock time on ``day`` as a naive UTC datetime."""
    aware = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=local_zone())
    return aware.astimezone(timezone.utc).replace(tzinfo=None)
