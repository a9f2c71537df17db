"""Verify and export the hash-chained history.

:func:`verify` re-reads every instance (in id order) and every entry (in instance, seq
order) as two streams merged side by side, and checks, per instance:

- sequence numbers run 1, 2, 3… without gaps; each entry's ``prev_hash`` is the
  previous entry's ``hash`` (``GENESIS`` for the first); each ``hash`` recomputes from
  the entry's fields; each ``data_hash`` recomputes from the stored ``data_patch``;
- the instance row's ``last_hash``, ``version``, ``state`` and definition version match
  the newest entry (which catches a removed tail);
- the instance row's ``data`` equals the replay of its history: start from ``{}`` and
  apply, in seq order, the ``data_patch`` of every entry that is not a *fact*
  (:func:`engine.instances.is_fact`: a fact's patch is an evaluation fact, never merged
  into the instance's data).

- each entry's ``definition_hash`` is the content hash of the definition version the
  entry names, and each stored definition source still hashes to its content hash.

It reports the first bad entry per instance. Then it looks for instances that other
tables still name but that no longer exist (:data:`REFERENCES`) and asks
:func:`engine.facts_audit.check_projections` whether the score and result tables agree
with the facts in the chains. :func:`verify_on` runs the same checks on a connection
the caller holds (the anchor of :mod:`engine.anchor` reads its chain heads in the same
snapshot) and can compare each chain with an anchored head on the way.
"""

from __future__ import annotations

import csv
import io
import json
from hashlib import sha256
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from typing import IO, Any, Iterable, Iterator, Mapping

from sqlalchemy import Connection, column, exists, func, inspect, select, table

from workflow import load_definition_text
from workflow.errors import DefinitionInvalid

from .db import Database
from .facts_audit import check_projections
from .hashing import EMPTY_DATA_HASH, GENESIS, HASHED_FIELDS, canonical, format_time
from .instances import is_fact
from .models import DefinitionVersion, HistoryEntry, Instance

_i, _h, _dv = Instance.__table__, HistoryEntry.__table__, DefinitionVersion.__table__
STREAM_BATCH = 2000

#: (table, column) pairs that name an instance; one that names a missing instance means
#: the instance was deleted behind the engine's back. Tables absent from the database
#: (a feature migration not applied) are skipped.
REFERENCES = (("instances", "parent_id"), ("cycles", "instance_id"),
              ("timers", "instance_id"), ("outbox", "instance_id"),
              ("result_changes", "appeal_id"), ("attachments", "instance_id"),
              ("notification_inbox", "instance_id"))


@dataclass(frozen=True)
class Problem:
    """The first inconsistency found in one instance's chain (``seq`` 0: about the
    instance as a whole; ``instance_id`` None: about the database or an anchor)."""

    instance_id: int | None
    seq: int
    reason: str

    def __str__(self) -> str:
        if self.instance_id is None:
            return self.reason
        if not self.seq:
            return f"instance {self.instance_id}: {self.reason}"
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

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (CLI ``--json`` and the API)."""
        return {"ok": self.ok, "instances": self.instances, "entries": self.entries,
                "problems": [{"instance_id": p.instance_id, "seq": p.seq, "reason": p.reason}
                             for p in self.problems]}


def _check_entry(row, expected_seq: int, prev_hash: str, versions: Mapping[int, str]
                 ) -> str | None:
    if row.seq != expected_seq:
        return f"sequence gap or reorder: expected seq {expected_seq}, found {row.seq}"
    if row.prev_hash != prev_hash:
        return "prev_hash does not match the previous entry (entry removed or reordered)"
    # entry_hash(), inlined: the stream's first columns are HASHED_FIELDS, in order
    if sha256(canonical(dict(zip(HASHED_FIELDS, row)))).hexdigest() != row.hash:
        return "hash mismatch (entry altered)"
    patch = row.data_patch  # data_hash(), inlined: this runs once per entry
    if (sha256(canonical(patch)).hexdigest() if patch else EMPTY_DATA_HASH) != row.data_hash:
        return ("数据变更被改动 — data_patch altered: its SHA-256 no longer matches the "
                "entry's data_hash")
    if versions.get(row.definition_version_id) != row.definition_hash:
        return ("流程定义版本被改动 — definition_version_id altered: that version's content "
                "hash is not the entry's definition_hash")
    return None


def _check_tail(inst, last, count: int) -> str | None:
    if last is None:
        return "instance has no history"
    if inst.last_hash != last.hash or inst.version != count:
        return (f"instance is at version {inst.version} with hash {inst.last_hash[:12]}…, "
                f"history ends at seq {count} (entries removed)")
    if inst.state != last.to_state:
        return f"instance state {inst.state!r} differs from history {last.to_state!r}"
    if inst.definition_version_id != last.definition_version_id:
        return ("事项的流程定义版本与历史不符 — instance's definition version differs from "
                "the version its newest entry was written under")
    return None


def replay(entries: Iterable) -> dict[str, Any]:
    """An instance's data as its history builds it: ``{}``, then every non-fact
    entry's ``data_patch`` applied in order."""
    data: dict[str, Any] = {}
    for row in entries:
        if row.data_patch and not is_fact(row.trigger):
            data.update(row.data_patch)
    return data


_ABSENT = object()


def _data_problem(inst, entries: list, built: dict[str, Any]) -> Problem:
    """The instance's data is not what its history built: name the fields and the
    newest entry that wrote the first of them."""
    stored = inst.data or {}
    differing = sorted(k for k in stored.keys() | built.keys()
                       if stored.get(k, _ABSENT) != built.get(k, _ABSENT))
    seq = next((row.seq for row in reversed(entries) if row.data_patch
                and not is_fact(row.trigger) and differing[0] in row.data_patch),
               entries[-1].seq)
    return Problem(inst.id, seq, "事项数据与其历史不符 — instance data differs from its "
                                 f"history (fields: {', '.join(differing)})")


def _check_chain(inst, entries: list, versions: Mapping[int, str]) -> Problem | None:
    prev, count, last, data = GENESIS, 0, None, {}
    for row in entries:
        count += 1
        reason = _check_entry(row, count, prev, versions)
        if reason:
            return Problem(inst.id, count, reason)
        if row.data_patch and not is_fact(row.trigger):
            data.update(row.data_patch)  # the replay of :func:`replay`, in the same pass
        prev, last = row.hash, row
    reason = _check_tail(inst, last, count)
    if reason:
        return Problem(inst.id, count + 1, reason)
    return None if (inst.data or {}) == data else _data_problem(inst, entries, data)


def _against_anchor(instance_id: int, inst, entries: list, seq: int, hash_: str
                    ) -> Problem | None:
    """The chain of ``instance_id`` must still hold the anchored head: entry ``seq``
    with hash ``hash_``."""
    if inst is None and not entries:
        return Problem(instance_id, 0, "事项在锚点之后被删除 — instance deleted after the "
                                       f"anchor (its history and row are gone; it was at "
                                       f"seq {seq})")
    found = entries[seq - 1] if 0 < seq <= len(entries) else None
    if found is None or found.seq != seq:
        found = next((row for row in entries if row.seq == seq), None)
    if found is None:
        end = entries[-1].seq if entries else 0
        return Problem(instance_id, seq, "历史在锚点之后被截断 — history truncated after the "
                                         f"anchor: seq {seq} (anchored hash {hash_[:12]}…) "
                                         f"is gone, the chain now ends at seq {end}")
    if found.hash != hash_:
        return Problem(instance_id, seq, "锚定的记录被改写 — entry rewritten after the anchor: "
                                         f"seq {seq} was {hash_[:12]}…, now "
                                         f"{found.hash[:12]}… (a rewrite with recomputed hashes)")
    return None


def _pairs(instances: Iterator, groups: Iterator) -> Iterator[tuple[int, Any, list]]:
    """Merge the instance stream (by id) with the history stream grouped by instance:
    ``(id, instance row or None, entries)``."""
    inst, group = next(instances, None), next(groups, None)
    while inst is not None or group is not None:
        if group is None or (inst is not None and inst.id < group[0]):
            yield inst.id, inst, []
            inst = next(instances, None)
        elif inst is None or group[0] < inst.id:
            yield group[0], None, group[1]
            group = next(groups, None)
        else:
            yield inst.id, inst, group[1]
            inst, group = next(instances, None), next(groups, None)


def _streams(conn: Connection) -> tuple[Iterator, Iterator]:
    streaming = conn.execution_options(yield_per=STREAM_BATCH)
    instances = iter(streaming.execute(select(
        _i.c.id, _i.c.version, _i.c.last_hash, _i.c.state, _i.c.data,
        _i.c.definition_version_id).order_by(_i.c.id)))
    rows = streaming.execute(select(*(_h.c[name] for name in HASHED_FIELDS), _h.c.data_patch,
                                    _h.c.hash, _h.c.definition_version_id)
                             .order_by(_h.c.instance_id, _h.c.seq))
    groups = ((key, list(group)) for key, group in groupby(rows, key=attrgetter("instance_id")))
    return instances, groups


def _check_one(instance_id: int, inst, entries: list, versions: Mapping[int, str]
               ) -> Problem | None:
    if inst is None:
        return Problem(instance_id, entries[0].seq, "history of an unknown instance")
    if not entries:
        return Problem(instance_id, 1, "instance has no history")
    return _check_chain(inst, entries, versions)


#: sha256 of a definition source -> its content hash (None: it no longer loads); parsing
#: and validating a source costs ~15 ms, and the sources rarely change.
_CONTENT_HASHES: dict[str, str | None] = {}


def _content_hash(source: str, path: str) -> str | None:
    key = sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    if key not in _CONTENT_HASHES:
        try:
            _CONTENT_HASHES[key] = load_definition_text(source, path).content_hash
        except DefinitionInvalid:
            _CONTENT_HASHES[key] = None
    return _CONTENT_HASHES[key]


def definition_hashes(conn: Connection) -> tuple[dict[int, str], list[Problem]]:
    """Each definition version's content hash, and a problem for every version whose
    stored source no longer hashes to it (a definition edited in the database)."""
    hashes, problems = {}, []
    for row in conn.execute(select(_dv.c.id, _dv.c.key, _dv.c.version, _dv.c.content_hash,
                                   _dv.c.source, _dv.c.path).order_by(_dv.c.id)):
        hashes[row.id] = row.content_hash
        if _content_hash(row.source, row.path or f"<{row.key} v{row.version}>") != row.content_hash:
            problems.append(Problem(None, 0, f"流程定义被改动 — definition {row.key} v{row.version}: "
                                             "its stored source no longer hashes to its content "
                                             f"hash {row.content_hash[:12]}…"))
    return hashes, problems


def missing_instances(conn: Connection) -> list[Problem]:
    """Instances that another table (:data:`REFERENCES`) names but that do not exist."""
    present = set(inspect(conn).get_table_names())
    problems: dict[int, list[str]] = {}
    for name, col in REFERENCES:
        if name not in present:
            continue
        ref = table(name, column(col)).alias("ref")
        query = (select(ref.c[col], func.count()).where(
            ref.c[col].is_not(None), ~exists().where(_i.c.id == ref.c[col]))
            .group_by(ref.c[col]))
        for instance_id, count in conn.execute(query):
            problems.setdefault(instance_id, []).append(f"{name}.{col} ({count})")
    return [Problem(instance_id, 0, "事项已不存在,但仍被引用 — instance is missing (deleted) "
                                    f"but still referenced by {', '.join(where)}")
            for instance_id, where in problems.items()]


def verify_on(conn: Connection, *, anchored: Mapping[int, tuple[int, str]] | None = None,
              heads: list[list] | None = None) -> VerifyReport:
    """:func:`verify` on ``conn`` (the caller's read transaction). ``anchored``
    (instance id → (seq, hash)) also checks that each chain still holds that entry;
    ``heads`` receives ``[instance id, seq, hash]`` of every chain that verified."""
    report, expected = VerifyReport(), dict(anchored or {})
    versions, report.problems = definition_hashes(conn)
    instances, groups = _streams(conn)
    for instance_id, inst, entries in _pairs(instances, groups):
        report.instances += inst is not None
        report.entries += len(entries)
        problem = _check_one(instance_id, inst, entries, versions)
        if problem:
            report.problems.append(problem)
        elif heads is not None:
            heads.append([instance_id, entries[-1].seq, entries[-1].hash])
        if instance_id in expected:
            problem = _against_anchor(instance_id, inst, entries, *expected.pop(instance_id))
            if problem:
                report.problems.append(problem)
    for instance_id, (seq, hash_) in expected.items():
        report.problems.append(_against_anchor(instance_id, None, [], seq, hash_))
    report.problems += missing_instances(conn)
    report.problems += [Problem(*p) for p in check_projections(conn)]
    report.problems.sort(key=lambda p: (p.instance_id or 0, p.seq))
    return report


def verify(db: Database) -> VerifyReport:
    """Check every instance's chain and data (streaming, so years of history fit in
    memory); see the module docstring for what is checked."""
    with db.read() as conn:
        return verify_on(conn)


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
