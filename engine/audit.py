"""Verify and export the hash-chained history.

:func:`verify` re-reads every entry in (instance, seq) order and checks, per instance:
sequence numbers run 1, 2, 3… without gaps; each entry's ``prev_hash`` is the previous
entry's ``hash`` (``GENESIS`` for the first); each ``hash`` recomputes from the entry's
fields; and the instance row's ``last_hash``, ``version`` and ``state`` match the newest
entry (which catches a removed tail). It reports the first bad entry per instance.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from itertools import groupby
from typing import IO, Iterator

from sqlalchemy import select

from .db import Database
from .hashing import GENESIS, entry_hash, format_time
from .models import HistoryEntry, Instance

_i, _h = Instance.__table__, HistoryEntry.__table__


@dataclass(frozen=True)
class Problem:
    """The first inconsistency found in one instance's chain."""

    instance_id: int
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"instance {self.instance_id} seq {self.seq}: {self.reason}"


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`."""

    instances: int = 0
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every chain verified."""
        return not self.problems


def _check_entry(row, expected_seq: int, prev_hash: str) -> str | None:
    if row.seq != expected_seq:
        return f"sequence gap or reorder: expected seq {expected_seq}, found {row.seq}"
    if row.prev_hash != prev_hash:
        return "prev_hash does not match the previous entry (entry removed or reordered)"
    if entry_hash(row._mapping) != row.hash:
        return "hash mismatch (entry altered)"
    return None


def _check_tail(inst, last, count: int) -> str | None:
    if last is None:
        return "instance has no history"
    if inst.last_hash != last.hash or inst.version != count:
        return (f"instance is at version {inst.version} with hash {inst.last_hash[:12]}…, "
                f"history ends at seq {count} (entries removed)")
    if inst.state != last.to_state:
        return f"instance state {inst.state!r} differs from history {last.to_state!r}"
    return None


def _check_chain(inst, entries) -> Problem | None:
    prev, count, last = GENESIS, 0, None
    for row in entries:
        count += 1
        reason = _check_entry(row, count, prev)
        if reason:
            return Problem(inst.id, count, reason)
        prev, last = row.hash, row
    reason = _check_tail(inst, last, count)
    return Problem(inst.id, count + 1, reason) if reason else None


def verify(db: Database) -> VerifyReport:
    """Check every instance's chain (streaming, so years of history fit in memory);
    see the module docstring for what is checked."""
    report = VerifyReport()
    with db.read() as conn:
        instances = {r.id: r for r in conn.execute(
            select(_i.c.id, _i.c.version, _i.c.last_hash, _i.c.state))}
        rows = conn.execution_options(yield_per=2000).execute(
            select(_h).order_by(_h.c.instance_id, _h.c.seq))
        seen = set()
        for instance_id, group in groupby(rows, key=lambda r: r.instance_id):
            entries = list(group)
            report.entries += len(entries)
            seen.add(instance_id)
            inst = instances.get(instance_id)
            problem = (_check_chain(inst, entries) if inst is not None else
                       Problem(instance_id, entries[0].seq, "history of an unknown instance"))
            if problem:
                report.problems.append(problem)
    for instance_id in sorted(set(instances) - seen):
        report.problems.append(Problem(instance_id, 1, "instance has no history"))
    report.instances = len(instances)
    report.problems.sort(key=lambda p: (p.instance_id, p.seq))
    return report


EXPORT_COLUMNS = ("instance_id", "seq", "at", "from_state", "to_state", "trigger", "actor_id",
                  "actor", "role", "comment", "data_hash", "data_patch",
                  "definition_version_id", "definition_hash", "prev_hash", "hash")


EXPORT_BATCH = 1000


def iter_history(db: Database, instance_id: int | None = None,
                 batch: int = EXPORT_BATCH) -> Iterator[dict]:
    """Every history entry (or one instance's), in (instance, seq) order, as
    export-ready dicts; rows are fetched ``batch`` at a time (a server-side cursor on
    PostgreSQL), so exporting years of history does not load it into memory."""
    query = select(_h).order_by(_h.c.instance_id, _h.c.seq)
    if instance_id is not None:
        query = query.where(_h.c.instance_id == instance_id)
    with db.read() as conn:
        for row in conn.execution_options(yield_per=batch).execute(query):
            item = {c: getattr(row, c) for c in EXPORT_COLUMNS}
            item["at"] = format_time(row.at)
            yield item


def export_lines(db: Database, fmt: str = "jsonl", instance_id: int | None = None,
                 batch: int = EXPORT_BATCH) -> Iterator[str]:
    """The export as text lines (CSV: the header first), produced as the rows are read —
    what :func:`export` writes and what the API streams."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r}: expected csv or jsonl")
    if fmt == "jsonl":
        for item in iter_history(db, instance_id, batch):
            yield json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writeheader()
    yield flush()  # the header line alone, then one chunk per entry
    for item in iter_history(db, instance_id, batch):
        item["data_patch"] = json.dumps(item["data_patch"], ensure_ascii=False,
                                        sort_keys=True) if item["data_patch"] else ""
        writer.writerow(item)
        yield flush()


def export(db: Database, out: IO[str], fmt: str = "jsonl",
           instance_id: int | None = None) -> int:
    """Write the whole history (or one instance's) to ``out`` as ``csv`` or ``jsonl``;
    return the row count."""
    count = 0
    for line in export_lines(db, fmt, instance_id):
        out.write(line)
        count += 1
    return count - 1 if fmt == "csv" and count else count
