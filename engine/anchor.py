"""Signed anchors: a checkpoint of every chain head that an auditor keeps outside the
database, and its verification.

An anchor file is JSON ``{"body": …, "signature": …}``. The body::

    {"format": "perfeval-anchor", "format_version": 2,
     "moment": "2026-12-03T18:00:00.000000Z",      # engine.clock.utcnow, UTC
     "instances": 606, "entries": 2717,             # counts at that moment
     "heads": [[instance_id, seq, hash, ident], …], # every chain head, by instance id
     "merkle_root": "<64 hex>",
     "units": {"count": 31, "digest": "<64 hex>", "rows": [[unit_id, "<64 hex>"], …]},
     "cycles": {"count": 2, "digest": "<64 hex>", "rows": [[cycle_id, "<64 hex>"], …]}}

``ident`` is :func:`engine.audit.identity`: the SHA-256 of the canonical JSON
``{definition_key, subject_unit_id, parent_id}`` of the instance row. Each row of
``units`` is the SHA-256 of the canonical JSON ``{id, code, category, parent_id}`` of a
unit, each of ``cycles`` that of ``{id, year, instance_id, config}`` of a cycle (by id);
a section's ``digest`` is the SHA-256 of the canonical JSON of its ``rows``. The
moment is taken when the anchor's read snapshot begins. Format 1 (heads
``[instance_id, seq, hash]``, no ``units`` or ``cycles``) is still verified, as before.

The signature is Ed25519 (``cryptography``) over the canonical JSON of the body (sorted
keys, no whitespace, UTF-8: :func:`engine.hashing.canonical`)::

    {"algorithm": "Ed25519", "key_id": "<16 hex>", "public_key": "<base64, 32 bytes>",
     "value": "<base64, 64 bytes>"}

**Merkle root** (SHA-256, pairwise): each head ``[id, seq, hash, ident]`` is a leaf
``SHA-256(0x00 ‖ canonical JSON of the head)``; a level is reduced by hashing
neighbours left to right, ``SHA-256(0x01 ‖ left ‖ right)`` over the raw 32-byte digests;
an odd last node moves up unchanged; the root of no heads is ``SHA-256("")``. The
0x00/0x01 prefixes keep a leaf from passing for an inner node.

:func:`anchor` verifies the database first (a broken chain is never anchored) and reads
the heads in the same snapshot. :func:`verify_anchor` checks the signature (against a
pinned public key, else the configured key's, else — with a warning — the embedded
one), the Merkle root, that every anchored head is still in its chain with the same
hash at the same seq and the same identity, that no entry appended since (to an
anchored chain or a new one) is dated before the anchor's moment (less
:data:`engine.audit.BACKDATE_GRACE`), that every anchored unit and cycle row still
has its digest, that every chain verifies from genesis to its current head and that the
counts did not go down: so a rewrite with recomputed hashes, a truncated tail with the
instance row rolled back, a deleted instance, an instance moved to another unit, parent
or definition, a backdated entry, an edited unit or cycle and edited data are all found.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)
from sqlalchemy import Connection, insert, select

from .anchor_keys import configured_key_path, key_id, load_private_key, load_public_key, raw_public
from .anchor_models import AuditAnchor
from .audit import Anchored, Problem, verify_on
from .clock import utcnow
from .db import Database
from .exceptions import InvalidInput, WorkflowError
from .hashing import canonical, format_time
from .models import Unit
from .scoring_models import Cycle

FORMAT, FORMAT_VERSION = "perfeval-anchor", 2
FORMAT_VERSIONS = (1, 2)
_u, _c = Unit.__table__, Cycle.__table__
_a = AuditAnchor.__table__
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class InvalidAnchor(InvalidInput):
    """An anchor file that is not a well-formed perfeval anchor."""

    code = "invalid_anchor"


class ChainsBroken(WorkflowError):
    """The database does not verify, so it is not anchored."""

    code = "audit_failed"
    http_status = 409
    exit_code = 1


def merkle_root(heads: list[list]) -> str:
    """The Merkle root of ``heads`` (see the module docstring), as hex."""
    level = [hashlib.sha256(b"\x00" + canonical(list(h))).digest() for h in heads]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        paired = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
                  for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0].hex()


@contextmanager
def snapshot(db: Database) -> Iterator[Connection]:
    """A read transaction that sees one moment of the database (REPEATABLE READ on
    PostgreSQL; a SQLite read transaction already does)."""
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as tx:
            yield conn
            tx.rollback()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def table_rows(conn: Connection) -> dict[str, dict[int, dict[str, Any]]]:
    """The anchored fields of every unit and cycle row: ``{"units": {id: fields},
    "cycles": {id: fields}}``."""
    units = {r.id: dict(r._mapping) for r in conn.execute(
        select(_u.c.id, _u.c.code, _u.c.category, _u.c.parent_id).order_by(_u.c.id))}
    cycles = {r.id: dict(r._mapping) for r in conn.execute(
        select(_c.c.id, _c.c.year, _c.c.instance_id, _c.c.config).order_by(_c.c.id))}
    return {"units": units, "cycles": cycles}


def section(rows: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The anchor section of ``rows`` (id → fields): count, digest and per-row digests."""
    digests = [[row_id, _digest(fields)] for row_id, fields in sorted(rows.items())]
    return {"count": len(digests), "digest": _digest(digests), "rows": digests}


def build(db: Database, key: Ed25519PrivateKey) -> dict[str, Any]:
    """A signed anchor of the database as it is now (ChainsBroken when it does not
    verify); nothing is stored."""
    heads: list[list] = []
    with snapshot(db) as conn:
        moment = utcnow()  # the snapshot begins with the next statement
        report = verify_on(conn, heads=heads)
        tables = table_rows(conn)
    if not report.ok:
        raise ChainsBroken(f"历史链校验未通过,不能签发锚点:{report.problems[0]} 等 "
                           f"{len(report.problems)} 处 — the history does not verify "
                           f"({len(report.problems)} problem(s), first: "
                           f"{report.problems[0]}); run `perfeval audit verify`",
                           problems=len(report.problems))
    body = {"format": FORMAT, "format_version": FORMAT_VERSION,
            "moment": format_time(moment), "instances": report.instances,
            "entries": report.entries, "heads": heads, "merkle_root": merkle_root(heads),
            **{name: section(rows) for name, rows in tables.items()}}
    public = key.public_key()
    return {"body": body, "signature": {
        "algorithm": "Ed25519", "key_id": key_id(public), "public_key": _b64(raw_public(public)),
        "value": _b64(key.sign(canonical(body)))}}


def document_text(doc: dict[str, Any]) -> str:
    """The anchor file's text: canonical JSON and a newline."""
    return canonical(doc).decode("utf-8") + "\n"


def store(conn: Connection, doc: dict[str, Any], *, origin: str, created_by: str) -> int:
    """Insert ``doc`` into ``audit_anchors`` on ``conn``; return its id."""
    body = doc["body"]
    moment = datetime.fromisoformat(body["moment"].rstrip("Z"))
    return conn.execute(insert(_a).returning(_a.c.id), {
        "moment": moment, "instances": body["instances"], "entries": body["entries"],
        "merkle_root": body["merkle_root"], "key_id": doc["signature"]["key_id"],
        "origin": origin, "document": document_text(doc), "created_by": created_by,
    }).scalar_one()


def anchor(db: Database, key: Ed25519PrivateKey, *, origin: str = "cli",
           created_by: str = "cli") -> dict[str, Any]:
    """Write a signed anchor of every chain head (see the module docstring), store it
    in ``audit_anchors`` and return it (``id`` is its row)."""
    doc = build(db, key)
    with db.write() as conn:
        anchor_id = store(conn, doc, origin=origin, created_by=created_by)
    return {**doc, "id": anchor_id}


def list_anchors(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` anchors written (without their documents), newest first."""
    with db.read() as conn:
        rows = conn.execute(select(
            _a.c.id, _a.c.moment, _a.c.instances, _a.c.entries, _a.c.merkle_root,
            _a.c.key_id, _a.c.origin, _a.c.created_by
        ).order_by(_a.c.moment.desc(), _a.c.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def anchor_document(db: Database, anchor_id: int) -> str | None:
    """The stored text of anchor ``anchor_id`` (None when there is none)."""
    with db.read() as conn:
        return conn.execute(select(_a.c.document).where(_a.c.id == anchor_id)).scalar()


def _fail(reason: str) -> InvalidAnchor:
    return InvalidAnchor(f"锚点文件无效 — not a valid perfeval anchor: {reason}",
                         field="anchor")


def _count(body: dict, name: str) -> int:
    value = body.get(name)
    if type(value) is not int or value < 0:
        raise _fail(f"body.{name} must be a non-negative integer")
    return value


def _hex64(value: Any) -> bool:
    return isinstance(value, str) and bool(_HEX64.match(value))


def _heads(value: Any, version: int) -> list[list]:
    shape = "[instance_id, seq, hash]" if version == 1 else "[instance_id, seq, hash, ident]"
    if not isinstance(value, list):
        raise _fail(f"body.heads must be a list of {shape}")
    previous = 0
    for head in value:
        if not (isinstance(head, list) and len(head) == (3 if version == 1 else 4)
                and all(type(n) is int and n > 0 for n in head[:2])
                and all(_hex64(h) for h in head[2:])):
            raise _fail(f"body.heads: {str(head)[:80]} is not {shape}")
        if head[0] <= previous:
            raise _fail("body.heads must be sorted by instance id, each id once")
        previous = head[0]
    return value


def _section(body: dict, name: str) -> dict[str, Any]:
    """``body[name]`` checked: ``{count, digest, rows: [[id, digest], …]}``, by id."""
    value = body.get(name)
    rows = value.get("rows") if isinstance(value, dict) else None
    if not (isinstance(rows, list) and all(
            isinstance(r, list) and len(r) == 2 and type(r[0]) is int and r[0] > 0
            and _hex64(r[1]) for r in rows)):
        raise _fail(f"body.{name} must be {{count, digest, rows: [[id, digest], …]}}")
    ids = [r[0] for r in rows]
    if ids != sorted(set(ids)) or value.get("count") != len(rows) \
            or value.get("digest") != _digest(rows):
        raise _fail(f"body.{name}: rows must be sorted by id, counted and digested")
    return value


def _b64_bytes(value: Any, size: int, name: str) -> bytes:
    try:
        data = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        data = b""
    if len(data) != size:
        raise _fail(f"signature.{name} must be base64 of {size} bytes")
    return data


def parse_anchor(value: Any) -> dict[str, Any]:
    """``value`` (anchor file text or bytes, or its parsed JSON) checked to be a
    well-formed anchor; InvalidAnchor (422, CLI exit 8) says what is wrong."""
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise _fail(f"not JSON ({str(exc)[:200]})") from None
    if not isinstance(value, dict) or not isinstance(value.get("body"), dict) \
            or not isinstance(value.get("signature"), dict):
        raise _fail("expected an object with \"body\" and \"signature\"")
    body, sig = value["body"], value["signature"]
    version = body.get("format_version")
    if body.get("format") != FORMAT or type(version) is not int \
            or version not in FORMAT_VERSIONS:
        raise _fail(f"format must be {FORMAT!r} version 1 or {FORMAT_VERSION}")
    if not isinstance(body.get("moment"), str) or not _MOMENT.match(body["moment"]):
        raise _fail("body.moment must be a UTC time like 2026-12-03T18:00:00.000000Z")
    if not isinstance(body.get("merkle_root"), str) or not _HEX64.match(body["merkle_root"]):
        raise _fail("body.merkle_root must be 64 hex digits")
    if version > 1:
        _section(body, "units"), _section(body, "cycles")
    if len(_heads(body.get("heads"), version)) != _count(body, "instances") or \
            _count(body, "entries") < len(body["heads"]):
        raise _fail("body.instances must count the heads, body.entries at least that")
    if sig.get("algorithm") != "Ed25519":
        raise _fail("signature.algorithm must be Ed25519")
    _b64_bytes(sig.get("public_key"), 32, "public_key")
    _b64_bytes(sig.get("value"), 64, "value")
    return {"body": body, "signature": sig}


@dataclass
class AnchorReport:
    """Outcome of :func:`verify_anchor`."""

    key_source: str  # pinned | configured | embedded
    key_id: str
    signature_ok: bool
    anchored: dict[str, Any]
    current: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the signature holds and nothing changed behind the anchor."""
        return self.signature_ok and not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (CLI ``--json``, the API)."""
        return {"ok": self.ok, "signature_ok": self.signature_ok, "key_source": self.key_source,
                "key_id": self.key_id, "anchored": self.anchored, "current": self.current,
                "warnings": list(self.warnings),
                "problems": [{"instance_id": p.instance_id, "seq": p.seq, "reason": p.reason}
                             for p in self.problems]}


EMBEDDED_WARNING = ("未固定公钥:签名只证明文件自身一致,不证明由本单位密钥签发;请用 --public-key "
                    "指定保存在库外的公钥 — no public key pinned: the signature only shows the "
                    "file is self-consistent, not who signed it; pass the public key kept "
                    "outside the database (--public-key)")


def _verifying_key(public_key: Any, sig: dict) -> tuple[Ed25519PublicKey, str]:
    if public_key is not None:
        if isinstance(public_key, Ed25519PublicKey):
            return public_key, "pinned"
        return load_public_key(public_key), "pinned"
    path = configured_key_path()
    if path:
        return load_private_key(path).public_key(), "configured"
    raw = _b64_bytes(sig["public_key"], 32, "public_key")
    return Ed25519PublicKey.from_public_bytes(raw), "embedded"


def _signature_problem(doc: dict, key: Ed25519PublicKey) -> Problem | None:
    sig = doc["signature"]
    try:
        key.verify(base64.b64decode(sig["value"]), canonical(doc["body"]))
        return None
    except InvalidSignature:
        pass
    embedded = _b64_bytes(sig["public_key"], 32, "public_key")
    other = "" if embedded == raw_public(key) else (
        f"; the file names key {sig.get('key_id')!s:.16}, not {key_id(key)}")
    return Problem(None, 0, "锚点签名无效,文件被改动或非本密钥签发 — the anchor's signature does "
                            f"not verify: the file was altered or signed by another key{other}")


#: the report of a changed section: (message, one row's name)
_CHANGED = {"units": ("单位信息自锚点以来被修改 — units changed since the anchor", "unit #{id}",
                      "code {code}"),
            "cycles": ("考评周期信息自锚点以来被修改 — cycles changed since the anchor",
                       "cycle #{id}", "year {year}")}


def section_problem(name: str, anchored: dict[str, Any], rows: dict[int, dict[str, Any]]
                    ) -> Problem | None:
    """The anchored rows of section ``name`` that no longer have their digest (altered or
    deleted); rows added since are not a change."""
    current = section(rows)
    if current["digest"] == anchored["digest"]:
        return None
    now = {row_id: digest for row_id, digest in current["rows"]}
    message, row_name, detail = _CHANGED[name]
    changed = [row_name.format(id=row_id) + (
        f" ({detail.format(**rows[row_id])}) altered" if row_id in rows else " deleted")
        for row_id, digest in anchored["rows"] if now.get(row_id) != digest]
    return Problem(None, 0, f"{message}: {', '.join(changed)}") if changed else None


def _check_chains(db: Database, body: dict, report: AnchorReport) -> None:
    """The chains, and (format 2) the unit and cycle rows, against ``body``."""
    v2 = body["format_version"] > 1
    anchored = Anchored({h[0]: tuple(h[1:]) for h in body["heads"]},
                        datetime.fromisoformat(body["moment"].rstrip("Z")) if v2 else None)
    with snapshot(db) as conn:
        chains = verify_on(conn, anchored=anchored)
        tables = table_rows(conn) if v2 else {}
    report.current = {"instances": chains.instances, "entries": chains.entries}
    report.problems += chains.problems
    for name, rows in tables.items():
        report.current[name] = len(rows)
        problem = section_problem(name, body[name], rows)
        if problem:
            report.problems.append(problem)


def verify_anchor(db: Database, anchor: Any, public_key: Any = None) -> AnchorReport:
    """Check the database against ``anchor`` (see the module docstring); ``public_key``
    pins the key it must be signed with (PEM, base64 raw bytes or a key object)."""
    doc = parse_anchor(anchor)
    body = doc["body"]
    key, source = _verifying_key(public_key, doc["signature"])
    report = AnchorReport(source, key_id(key), True, {
        "format_version": body["format_version"],
        **{k: body[k] for k in ("moment", "instances", "entries", "merkle_root")},
        **{k: body[k]["count"] for k in ("units", "cycles") if k in body}})
    if source == "embedded":
        report.warnings.append(EMBEDDED_WARNING)
    bad = _signature_problem(doc, key)
    if bad:
        report.signature_ok = False
        report.problems.append(bad)
        return report
    if merkle_root(body["heads"]) != body["merkle_root"]:
        report.problems.append(Problem(None, 0, "默克尔根与锚定的链头不符 — the Merkle root does "
                                                "not recompute from the anchored heads"))
    _check_chains(db, body, report)
    for name, label in (("instances", "事项数"), ("entries", "历史记录数")):
        if report.current[name] < body[name]:
            report.problems.append(Problem(None, 0, f"{label}减少 — the {name} count went down "
                                                    f"from {body[name]} to {report.current[name]}"))
    return report
