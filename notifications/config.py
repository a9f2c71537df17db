"""Dispatcher settings: retries, backoff, leases, batches, digest hour, links, locale.

Every setting has a working default and an environment variable (read by
:meth:`DispatchConfig.from_env`, which the CLI uses); tests pass a config directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

LOCALES = ("zh_CN", "en")


def normalize_locale(value: str | None) -> str:
    """``en``, ``en_US``, ``en-GB`` → ``en``; anything else → ``zh_CN`` (the default)."""
    return "en" if (value or "").lower().startswith("en") else "zh_CN"


def default_locale() -> str:
    """The organisation's locale (``PERFEVAL_LOCALE``, default ``zh_CN``)."""
    return normalize_locale(os.environ.get("PERFEVAL_LOCALE", "zh_CN"))


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


@dataclass(frozen=True)
class DispatchConfig:
    """How the dispatcher retries and batches.

    A failed send is retried after ``backoff_base * 2**(attempts-1)`` (capped at
    ``backoff_max``); after ``max_attempts`` tries the delivery becomes a dead letter.
    With the defaults (12 tries, 1 min doubling to at most 6 h) a message keeps being
    retried for about 21 hours — a mail server down overnight loses nothing.
    """

    max_attempts: int = 12
    backoff_base: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)
    batch: int = 200
    digest_hour: int = 17
    base_url: str = "http://localhost:5000"
    worker: str = field(default_factory=lambda: f"{os.uname().nodename}:{os.getpid()}")

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed try (1-based)."""
        seconds = self.backoff_base.total_seconds() * 2 ** max(attempts - 1, 0)
        return min(timedelta(seconds=seconds), self.backoff_max)

    @classmethod
    def from_env(cls) -> "DispatchConfig":
        """Settings from ``PERFEVAL_NOTIFY_*`` and ``PERFEVAL_BASE_URL``."""
        base = cls()
        return cls(
            max_attempts=_env_int("PERFEVAL_NOTIFY_MAX_ATTEMPTS", base.max_attempts),
            backoff_base=timedelta(seconds=_env_int(
                "PERFEVAL_NOTIFY_BACKOFF_S", int(base.backoff_base.total_seconds()))),
            backoff_max=timedelta(seconds=_env_int(
                "PERFEVAL_NOTIFY_BACKOFF_MAX_S", int(base.backoff_max.total_seconds()))),
            lease=timedelta(seconds=_env_int(
                "PERFEVAL_NOTIFY_LEASE_S", int(base.lease.total_seconds()))),
            batch=_env_int("PERFEVAL_NOTIFY_BATCH", base.batch),
            digest_hour=_env_int("PERFEVAL_NOTIFY_DIGEST_HOUR", base.digest_hour),
            base_url=os.environ.get("PERFEVAL_BASE_URL", base.base_url).rstrip("/"))
