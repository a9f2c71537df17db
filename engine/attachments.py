"""Attachments: files uploaded to an instance, their SHA-256 in the hash chain.

:func:`attach` checks, in this order: the file name has an allowed extension → the
actor may act on the instance (the roles that edit its data in the current state or
fire a transition from it; unit roles only on their own unit; auditors never) → the
upload, streamed to a temporary file while its SHA-256 is computed, stays within the
size limit → its content matches its extension (magic bytes; executables refused).
Then ONE write transaction records a same-state history entry with the reserved
trigger ``attach`` whose comment carries the file name, size, type and SHA-256 (so
the hash chain covers the file's content) and the ``attachments`` row, and moves the
temporary file to its content-addressed place ``<sha256[:2]>/<sha256>`` (an atomic
rename: a crash never leaves a half file under the final name). A failure anywhere
writes no row; a file already renamed into place when the commit fails stays as an
unreferenced, complete file (content-addressed, so a later upload reuses it).

The client's declared content type is not trusted: the stored type is the one of the
verified extension. Downloads (:func:`open_attachment`) re-hash the stored file and
refuse a missing or altered one with :class:`AttachmentUnavailable`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import (BigInteger, Column, DateTime, Integer, MetaData, String, Table,
                        insert, select)

from .authz import Actor, can_read, denial, usable_role
from .clock import utcnow
from .db import Database, instance_path
from .exceptions import InvalidInput, NotFound, NotPermitted, WorkflowError
from .instances import _load_for_write, _write
from .models import Instance
from .registry import compiled

log = logging.getLogger(__name__)

ATTACH_TRIGGER = "attach"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
_CHUNK = 64 * 1024
_ID = BigInteger().with_variant(Integer(), "sqlite")
_meta = MetaData()
attachments = Table(
    "attachments", _meta,
    Column("id", _ID, primary_key=True),
    Column("instance_id", _ID, nullable=False),
    Column("history_seq", Integer, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(80), nullable=False),
    Column("uploaded_by_id", _ID),
    Column("uploaded_by", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
)
_a, _i = attachments, Instance.__table__

#: extension → (content kind checked by magic bytes, stored MIME type)
ALLOWED_TYPES: dict[str, tuple[str, str]] = {
    ".pdf": ("pdf", "application/pdf"),
    ".docx": ("docx", "application/vnd.openxmlformats-officedocument."
                      "wordprocessingml.document"),
    ".xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".pptx": ("pptx", "application/vnd.openxmlformats-officedocument."
                      "presentationml.presentation"),
    ".doc": ("ole", "application/msword"),
    ".xls": ("ole", "application/vnd.ms-excel"),
    ".jpg": ("jpeg", "image/jpeg"),
    ".jpeg": ("jpeg", "image/jpeg"),
    ".png": ("png", "image/png"),
    ".txt": ("text", "text/plain; charset=utf-8"),
    ".csv": ("text", "text/csv; charset=utf-8"),
}
_MAGIC = {"pdf": (b"%PDF-",), "ole": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
          "jpeg": (b"\xff\xd8\xff",), "png": (b"\x89PNG\r\n\x1a\n",),
          "docx": (b"PK\x03\x04",), "xlsx": (b"PK\x03\x04",), "pptx": (b"PK\x03\x04",)}
_OOXML_PART = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
_EXECUTABLE = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe",
               b"\xce\xfa\xed\xfe", b"#!")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


class AttachmentUnavailable(WorkflowError):
    """The stored file of an attachment is missing or no longer matches its SHA-256."""

    code = "attachment_unavailable"
    http_status = 500
    exit_code = 10


@dataclass(frozen=True)
class AttachmentSettings:
    """Where files are stored and how big one may be."""

    directory: Path
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_env(cls) -> "AttachmentSettings":
        """``PERFEVAL_ATTACHMENT_DIR`` (default ``<instance folder>/attachments``) and
        ``PERFEVAL_ATTACHMENT_MAX_BYTES`` (default 20 MB)."""
        folder = os.environ.get("PERFEVAL_ATTACHMENT_DIR") or instance_path() / "attachments"
        size = os.environ.get("PERFEVAL_ATTACHMENT_MAX_BYTES")
        return cls(Path(folder), int(size) if size else DEFAULT_MAX_BYTES)


@dataclass(frozen=True)
class Attachment:
    """One attachment as listed (the file itself is read with :func:`open_attachment`)."""

    id: int
    instance_id: int
    history_seq: int
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    uploaded_by_id: int | None
    uploaded_by: str
    at: datetime


def human_size(size: int) -> str:
    """``20 MB``, ``1.5 KB``, ``12 B``."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"


def sanitise_filename(name: str) -> str:
    """The display name: the last path component, NFC, without control or reserved
    characters and leading dots, at most 200 characters (the extension kept)."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip().lstrip(". ")
    stem, ext = os.path.splitext(base)
    if len(base) > 200:
        base = stem[:200 - len(ext)] + ext
    return base


def _extension(filename: str) -> str:
    ext = os.path.splitext(filename)[1].lower()
    if ext not in ALLOWED_TYPES:
        allowed = "、".join(sorted(e.lstrip(".") for e in ALLOWED_TYPES))
        raise InvalidInput(f"不支持的文件类型“{ext or filename}”,仅允许:{allowed} — file type "
                           f"{ext or '(none)'} is not allowed", filename=filename)
    return ext


def _allowed_roles(comp, state: str) -> tuple[str, ...]:
    """Who may attach in ``state``: its editors (``editable_by`` and ``editable``) and the
    roles of its transitions."""
    roles = comp.definition.states[state].editors + tuple(
        r for t in comp.definition.transitions_from(state) for r in t.roles)
    return tuple(r for r in dict.fromkeys(roles) if r != "system")


def _check_permitted(comp, row, actor: Actor, instance_id: int) -> str:
    allowed = _allowed_roles(comp, row.state)
    if not allowed:
        raise InvalidInput(f"状态 {row.state} 下不能上传附件 — no one acts in state "
                           f"{row.state!r}, so nothing can be attached",
                           instance=instance_id, state=row.state)
    used = usable_role(actor, allowed, row.subject_unit_id)
    if used is None:
        raise denial(actor, allowed, row.subject_unit_id, ATTACH_TRIGGER,
                     instance=instance_id, state=row.state)
    return used


def can_attach(db: Database, instance_id: int, actor: Actor) -> bool:
    """Whether ``actor`` may attach a file to the instance now (to show the form)."""
    with db.read() as conn:
        row = _load_for_write(conn, instance_id, None)
    comp = compiled(db, row.definition_version_id)
    return usable_role(actor, _allowed_roles(comp, row.state), row.subject_unit_id) is not None


def _receive(stream: BinaryIO, settings: AttachmentSettings) -> tuple[Path, int, str]:
    """Copy ``stream`` to a temporary file in the storage directory (same file system,
    so the final rename is atomic), hashing it; refuse it past the size limit."""
    tmp_dir = settings.directory / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > settings.max_bytes:
                    raise InvalidInput(f"文件过大:附件不得超过 {human_size(settings.max_bytes)} — "
                                       f"the file exceeds {settings.max_bytes} bytes",
                                       max_bytes=settings.max_bytes)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise InvalidInput("文件为空 — the file is empty")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, digest.hexdigest()


def _is_text(path: Path) -> bool:
    data = path.read_bytes()
    if b"\x00" in data:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False


def _sniff(path: Path, ext: str, filename: str) -> None:
    """Refuse executables and content that does not match ``ext``."""
    kind = ALLOWED_TYPES[ext][0]
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(_EXECUTABLE):
        raise InvalidInput(f"不允许上传可执行文件:{filename} — executable content refused",
                           filename=filename)
    if kind == "text":
        ok = _is_text(path)
    else:
        ok = head.startswith(_MAGIC[kind])
        if ok and kind in _OOXML_PART:
            try:
                with zipfile.ZipFile(path) as archive:
                    names = archive.namelist()
            except zipfile.BadZipFile:
                names = []
            ok = "[Content_Types].xml" in names and any(
                n.startswith(_OOXML_PART[kind]) for n in names)
    if not ok:
        raise InvalidInput(f"文件内容与扩展名 {ext} 不符:{filename} — the content is not a "
                           f"{ext} file", filename=filename)


def storage_path(settings: AttachmentSettings, sha256: str) -> Path:
    """Where the file with this SHA-256 is stored."""
    return settings.directory / sha256[:2] / sha256


def _comment(filename: str, size: int, content_type: str, sha256: str,
             comment: str | None) -> str:
    text = (f"上传附件:{filename};大小 {size} 字节;类型 {content_type};"
            f"SHA-256 {sha256}")
    return text + ("\n" + comment.strip() if comment and comment.strip() else "")


def _precheck(db: Database, instance_id: int, actor: Actor) -> None:
    """Refuse an unpermitted upload before its bytes are read."""
    with db.read() as conn:
        row = _load_for_write(conn, instance_id, None)
    _check_permitted(compiled(db, row.definition_version_id), row, actor, instance_id)


def attach(db: Database, instance_id: int, actor: Actor, filename: str, stream: BinaryIO,
           content_type: str | None = None, *, expected_version: int | None = None,
           comment: str | None = None,
           settings: AttachmentSettings | None = None) -> Attachment:
    """Store the file read from ``stream`` and record it on the instance (see the module
    docstring for the checks and the order); all or nothing.

    Raises NotFound, NotPermitted, InvalidInput or Conflict and then writes no row.
    ``content_type`` (the client's claim) is ignored in favour of the extension's.
    """
    settings = settings or AttachmentSettings.from_env()
    name = sanitise_filename(filename)
    ext = _extension(name)
    if not os.path.splitext(name)[0]:
        name = "附件" + ext
    _precheck(db, instance_id, actor)
    tmp, size, sha256 = _receive(stream, settings)
    try:
        _sniff(tmp, ext, name)
        mime = ALLOWED_TYPES[ext][1]
        with db.write() as conn:
            row = _load_for_write(conn, instance_id, expected_version)
            comp = compiled(db, row.definition_version_id)
            role = _check_permitted(comp, row, actor, instance_id)
            result = _write(conn, comp, row, instance_id, actor, ATTACH_TRIGGER, role,
                            row.state, _comment(name, size, mime, sha256, comment), {})
            values = {"instance_id": instance_id, "history_seq": result.version,
                      "filename": name, "content_type": mime, "size": size,
                      "sha256": sha256, "storage_key": f"{sha256[:2]}/{sha256}",
                      "uploaded_by_id": actor.user_id, "uploaded_by": actor.username,
                      "at": utcnow()}
            new_id = conn.execute(insert(_a).returning(_a.c.id), values).scalar_one()
            final = storage_path(settings, sha256)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("instance %s: %s attached %s (%s bytes, sha256 %s)", instance_id,
             actor.username, name, size, sha256)
    return Attachment(id=new_id, **values)


def _visible(conn, instance_id: int, actor: Actor | None) -> None:
    unit = conn.execute(select(_i.c.subject_unit_id).where(_i.c.id == instance_id)).first()
    if unit is None:
        raise NotFound(f"没有编号为 {instance_id} 的事项 — no instance {instance_id}",
                       instance=instance_id)
    if actor is not None and not can_read(actor, unit.subject_unit_id):
        raise NotPermitted("单位用户只能查看本单位的事项 — unit users see only their own "
                           "unit's instances", instance=instance_id)


def list_attachments(db: Database, instance_id: int,
                     actor: Actor | None = None) -> list[Attachment]:
    """The instance's attachments, oldest first (``actor``: NotPermitted outside reach)."""
    with db.read() as conn:
        _visible(conn, instance_id, actor)
        rows = conn.execute(select(_a).where(_a.c.instance_id == instance_id)
                            .order_by(_a.c.id)).all()
    return [Attachment(**r._mapping) for r in rows]


def get_attachment(db: Database, instance_id: int, attachment_id: int,
                   actor: Actor | None = None) -> Attachment:
    """One attachment of one instance (NotFound when it belongs to another)."""
    with db.read() as conn:
        _visible(conn, instance_id, actor)
        row = conn.execute(select(_a).where(_a.c.id == attachment_id,
                                            _a.c.instance_id == instance_id)).first()
    if row is None:
        raise NotFound(f"没有编号为 {attachment_id} 的附件 — no attachment {attachment_id}",
                       instance=instance_id, attachment=attachment_id)
    return Attachment(**row._mapping)


def open_attachment(db: Database, instance_id: int, attachment_id: int, actor: Actor | None,
                    settings: AttachmentSettings | None = None) -> tuple[Attachment, Path]:
    """The attachment and its stored file, after re-hashing the file: a missing file
    or one whose size or SHA-256 changed raises :class:`AttachmentUnavailable`."""
    settings = settings or AttachmentSettings.from_env()
    att = get_attachment(db, instance_id, attachment_id, actor)
    path = settings.directory / att.storage_key
    context = {"instance": instance_id, "attachment": attachment_id}
    try:
        if path.stat().st_size != att.size:
            raise AttachmentUnavailable(f"附件“{att.filename}”已损坏(大小不符),请联系系统管理员 — "
                                        "the stored file's size changed", **context)
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError as exc:
        log.error("attachment %s: file %s is missing", attachment_id, path)
        raise AttachmentUnavailable(f"附件“{att.filename}”的文件缺失,请联系系统管理员 — the "
                                    "stored file is missing", **context) from exc
    if digest.hexdigest() != att.sha256:
        log.error("attachment %s: file %s fails its SHA-256", attachment_id, path)
        raise AttachmentUnavailable(f"附件“{att.filename}”已损坏(SHA-256 不符),请联系系统管理员 — "
                                    "the stored file no longer matches its SHA-256", **context)
    return att, path
