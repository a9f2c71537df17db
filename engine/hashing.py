"""Canonical serialisation and the SHA-256 hash chain of history entries.

An entry's hash covers every field an auditor relies on plus the previous entry's
hash, so editing, deleting or reordering any entry breaks the chain from that point.
The first entry of an instance chains from :data:`GENESIS`.

The encoder is built once (``json.dumps`` with options builds a new ``JSONEncoder`` on
every call) and the hash of an empty data change is a constant; the bytes hashed are
exactly those of ``json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``.
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


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=_default).encode


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8, datetimes as ISO 8601."""
    return _encode(value).encode("utf-8")


def format_time(moment: datetime) -> str:
    """A stored (naive UTC) time as fixed-width ISO 8601 with microseconds and 'Z'."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


EMPTY_DATA_HASH = hashlib.sha256(b"{}").hexdigest()


def data_hash(patch: Mapping[str, Any] | None) -> str:
    """SHA-256 of the canonical form of a data change (``{}`` when nothing changed)."""
    if not patch:
        return EMPTY_DATA_HASH
    return hashlib.sha256(canonical(dict(patch))).hexdigest()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical serialisation of an entry's :data:`HASHED_FIELDS`."""
    return hashlib.sha256(_encode({k: entry[k] for k in HASHED_FIELDS}).encode("utf-8")
                          ).hexdigest()
