"""Canonical serialisation and the SHA-256 hash chain of history entries.

An entry's hash covers every field an auditor relies on plus the previous entry's
hash, so editing, deleting or reordering any entry breaks the chain from that point.
The first entry of an instance chains from :data:`GENESIS`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Mapping

GENESIS = "0" * 64

HASHED_FIELDS = ("instance_id", "seq", "from_state", "to_state", "trigger", "actor_id",
                 "actor", "role", "at", "comment", "data_hash", "definition_hash",
                 "prev_hash")


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8, datetimes as ISO 8601."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_default).encode("utf-8")


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def format_time(moment: datetime) -> str:
    """A stored (naive UTC) time as fixed-width ISO 8601 with microseconds and 'Z'."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def data_hash(patch: Mapping[str, Any] | None) -> str:
    """SHA-256 of the canonical form of a data change (``{}`` when nothing changed)."""
    return hashlib.sha256(canonical(dict(patch or {}))).hexdigest()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical serialisation of an entry's :data:`HASHED_FIELDS`."""
    return hashlib.sha256(canonical({k: entry[k] for k in HASHED_FIELDS})).hexdigest()
