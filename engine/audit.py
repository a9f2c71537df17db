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
  entry names, and each stored definition source still hashes to its content hash;
- the instance's ``definition_key`` is the key of its definition version and of the
  version every entry was written under;
- each ``attachments`` row's SHA-256, size, file name and type are the ones its
  ``attach`` entry recorded (in the entry's comment, which the hash covers).

It reports the first bad entry per instance. Then it looks for instances that other
tables still name but that no longer exist (:data:`REFERENCES`) and asks
:func:`engine.facts_audit.check_projections` whether the score and result tables agree
with the facts in the chains. :func:`verify_on` runs the same checks on a connection
the caller holds (the anchor of :mod:`engine.anchor` reads its chain heads in the same
snapshot) and can compare each chain with an anchored head on the way: the entry at
the anchored seq, the instance's identity (:func:`identity`) and the dates of the entries
appended since.
"""

from __future__ import annotations

import csv
import io
import json
import re
from hashlib import sha256
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from operator import attrgetter
from typing import IO, Any, Iterable, Iterator, Mapping

from sqlalchemy import Connection, column, exists, func, inspect, select, table

from workflow import load_definition_text
from workflow.errors import DefinitionInvalid

from .attachments import ATTACH_TRIGGER, attachments as _att
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


def _key_problem(inst, row, keys: Mapping[int, str]) -> str | None:
    """``inst.definition_key`` must be the key of the version ``row`` was written under."""
    key = keys.get(row.definition_version_id)
    if key == inst.definition_key:
        return None
    return (f"事项的流程定义键被改动 — definition_key altered: the instance's "
            f"{inst.definition_key!r} is not the key {key!r} of the definition version "
            "this entry was written under")


def _check_chain(inst, entries: list, versions: Mapping[int, str], keys: Mapping[int, str]
                 ) -> Problem | None:
    prev, count, last, data = GENESIS, 0, None, {}
    for row in entries:
        count += 1
        reason = _check_entry(row, count, prev, versions) or _key_problem(inst, row, keys)
        if reason:
            return Problem(inst.id, count, reason)
        if row.data_patch and not is_fact(row.trigger):
            data.update(row.data_patch)  # the replay of :func:`replay`, in the same pass
        prev, last = row.hash, row
    reason = _check_tail(inst, last, count) or _key_problem(inst, inst, keys)
    if reason:
        return Problem(inst.id, count + 1, reason)
    return None if (inst.data or {}) == data else _data_problem(inst, entries, data)


def identity(inst) -> str:
    """The SHA-256 of what an instance is about — its definition key, subject unit and
    parent (canonical JSON) — which an anchored head carries."""
    return sha256(canonical({"definition_key": inst.definition_key,
                             "subject_unit_id": inst.subject_unit_id,
                             "parent_id": inst.parent_id})).hexdigest()


#: an entry stamped this shortly before an anchor's moment may have committed after the
#: anchor's snapshot began (a transaction in flight), so it is not called backdated
BACKDATE_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class Anchored:
    """What an anchor holds for :func:`verify_on`: instance id → ``(seq, hash)`` or
    ``(seq, hash, identity)``, and (format 2 on) its moment, before which no entry
    beyond an anchored head may be dated."""

    heads: Mapping[int, tuple]
    moment: datetime | None = None


def _backdated(instance_id: int, entries: list, after: int, moment: datetime | None
               ) -> Problem | None:
    """The first entry after seq ``after`` dated before the anchor's ``moment``."""
    if moment is None:
        return None
    limit = moment - BACKDATE_GRACE
    row = next((r for r in entries if r.seq > after and r.at < limit), None)
    if row is None:
        return None
    return Problem(instance_id, row.seq, "锚点之后追加的记录时间早于锚点 — entry appended after "
                                         f"the anchor is dated before it: {format_time(row.at)}"
                                         f", the anchor's moment is {format_time(moment)}")


def _identity_changed(instance_id: int, inst, ident: str | None) -> Problem | None:
    if ident is None or inst is None or identity(inst) == ident:
        return None
    return Problem(instance_id, 0, "事项的归属自锚点以来被修改 — the instance's identity changed "
                                   "since the anchor (its definition_key, subject_unit_id or "
                                   "parent_id)")


def _anchor_problems(instance_id: int, inst, entries: list, anchored: Anchored,
                     expected: dict) -> list[Problem]:
    """What the anchor says about one chain (``expected``: the heads not yet met)."""
    head = expected.pop(instance_id, None)
    if head is None:  # begun after the anchor: every entry was appended since
        found = _backdated(instance_id, entries, 0, anchored.moment)
        return [found] if found else []
    seq, hash_, *ident = head
    problems = [_against_anchor(instance_id, inst, entries, seq, hash_),
                _identity_changed(instance_id, inst, ident[0] if ident else None),
                _backdated(instance_id, entries, seq, anchored.moment)]
    return [p for p in problems if p]


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
        _i.c.definition_version_id, _i.c.definition_key, _i.c.subject_unit_id,
        _i.c.parent_id).order_by(_i.c.id)))
    rows = streaming.execute(select(*(_h.c[name] for name in HASHED_FIELDS), _h.c.data_patch,
                                    _h.c.hash, _h.c.definition_version_id)
                             .order_by(_h.c.instance_id, _h.c.seq))
    groups = ((key, list(group)) for key, group in groupby(rows, key=attrgetter("instance_id")))
    return instances, groups


def _check_one(instance_id: int, inst, entries: list, versions: Mapping[int, str],
               keys: Mapping[int, str]) -> Problem | None:
    if inst is None:
        return Problem(instance_id, entries[0].seq, "history of an unknown instance")
    if not entries:
        return Problem(instance_id, 1, "instance has no history")
    return _check_chain(inst, entries, versions, keys)


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


def definition_keys(conn: Connection) -> dict[int, str]:
    """Each definition version's key."""
    return dict(conn.execute(select(_dv.c.id, _dv.c.key)).all())


#: the first line of an ``attach`` entry's comment (:func:`engine.attachments._comment`)
_ATTACH_LINE = re.compile(r"^上传附件:(?P<filename>.*);大小 (?P<size>\d+) 字节;"
                          r"类型 (?P<content_type>[^;\n]*);SHA-256 (?P<sha256>[0-9a-f]{64})$")


def _attachment_differences(row) -> list[str]:
    if row.trigger != ATTACH_TRIGGER:
        return [f"its entry seq {row.history_seq} is {row.trigger!r}, not an attach entry"]
    found = _ATTACH_LINE.match((row.comment or "").split("\n", 1)[0])
    if found is None:
        return [f"its entry seq {row.history_seq} records no file"]
    recorded = {**found.groupdict(), "size": int(found["size"])}
    return [f"{name} {getattr(row, name)!r} ≠ {recorded[name]!r}"
            for name in ("sha256", "size", "filename", "content_type")
            if getattr(row, name) != recorded[name]]


def attachment_problems(conn: Connection, broken: frozenset[int] = frozenset()
                        ) -> list[Problem]:
    """Each ``attachments`` row against the ``attach`` entry that recorded it (its
    comment names the file, size, type and SHA-256; the entry's hash covers it); the
    instances in ``broken`` (a chain already reported) are skipped."""
    if "attachments" not in inspect(conn).get_table_names():
        return []
    rows = conn.execute(select(
        _att.c.id, _att.c.instance_id, _att.c.history_seq, _att.c.filename,
        _att.c.content_type, _att.c.size, _att.c.sha256, _h.c.trigger, _h.c.comment
    ).select_from(_att.outerjoin(_h, (_h.c.instance_id == _att.c.instance_id)
                                 & (_h.c.seq == _att.c.history_seq))).order_by(_att.c.id))
    problems = []
    for row in rows:
        if row.instance_id in broken:
            continue
        diffs = (_attachment_differences(row) if row.trigger is not None
                 else [f"its entry seq {row.history_seq} does not exist"])
        if diffs:
            problems.append(Problem(row.instance_id, row.history_seq,
                                    f"附件信息与历史记录不符 — attachment #{row.id} differs "
                                    f"from the attach entry that recorded it: "
                                    + "; ".join(diffs)))
    return problems


def verify_on(conn: Connection, *, anchored: Anchored | None = None,
              heads: list[list] | None = None) -> VerifyReport:
    """:func:`verify` on ``conn`` (the caller's read transaction). ``anchored`` also
    checks each chain against the anchor (:func:`_anchor_problems`); ``heads``
    receives ``[instance id, seq, hash, identity]`` of every chain that verified."""
    report, expected = VerifyReport(), dict(anchored.heads if anchored else {})
    versions, report.problems = definition_hashes(conn)
    keys = definition_keys(conn)
    instances, groups = _streams(conn)
    for instance_id, inst, entries in _pairs(instances, groups):
        report.instances += inst is not None
        report.entries += len(entries)
        problem = _check_one(instance_id, inst, entries, versions, keys)
        if problem:
            report.problems.append(problem)
        elif heads is not None:
            heads.append([instance_id, entries[-1].seq, entries[-1].hash, identity(inst)])
        if anchored is not None:
            report.problems += _anchor_problems(instance_id, inst, entries, anchored, expected)
    for instance_id, (seq, hash_, *_ident) in expected.items():
        report.problems.append(_against_anchor(instance_id, None, [], seq, hash_))
    report.problems += missing_instances(conn)
    report.problems += attachment_problems(conn, frozenset(
        p.instance_id for p in report.problems if p.instance_id is not None))
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
