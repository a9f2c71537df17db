"""``/api/v1/instances/{id}/attachments``: list, upload (multipart) and download files.

The same engine calls as the instance page (``web/views/instances.py``) with the same
settings (``ATTACHMENT_DIR``, ``ATTACHMENT_MAX_BYTES``): :func:`engine.attachments.attach`
checks the type, the role, the size and the content and records the file's SHA-256 in
a same-state history entry (trigger ``attach``); a download re-hashes the stored file
first, so an altered or missing one is a JSON error (``attachment_unavailable``), never
the wrong bytes. Another unit's instance is a 404, as everywhere in the API.
"""

from __future__ import annotations

import base64
import os
import re
import unicodedata
from urllib.parse import quote

from flask import send_file, url_for

from engine import InvalidInput
from engine.attachments import (ALLOWED_TYPES, attach, human_size, list_attachments,
                                open_attachment)

from ..views.instances import attachment_settings
from . import bp, schemas, serialize
from .auth import api_actor
from .errors import ApiError
from .instances import _db, visible
from .spec import operation

#: Every stored content type, without parameters (the download's possible media types).
MEDIA_TYPES = tuple(dict.fromkeys(mime.split(";")[0] for _kind, mime in ALLOWED_TYPES.values()))
ALLOWED_EXTENSIONS = tuple(dict.fromkeys(ext.lstrip(".") for ext in ALLOWED_TYPES))
_NOT_TOKEN = re.compile(r'[^\x20-\x7e]|["\\%]')


def download_url(att) -> str:
    """The API path of an attachment's bytes."""
    return url_for("api.attachment_content", instance_id=att.instance_id,
                   attachment_id=att.id)


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback ``filename`` and the exact UTF-8 name as an
    RFC 5987 ``filename*`` (which every current client prefers)."""
    stem, ext = os.path.splitext(filename)
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = _NOT_TOKEN.sub("_", ascii_stem).strip(" _") or "attachment"
    fallback = ascii_stem + _NOT_TOKEN.sub("_", ext)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _refused(exc: InvalidInput, max_bytes: int) -> ApiError:
    """The engine's refusal of a file as the API answers it: over the size limit a 413,
    anything else (type, content, empty file, a final state) a 422; the engine's
    message, and the limits in ``details``."""
    details = {**exc.context, "max_bytes": max_bytes, "max_size": human_size(max_bytes),
               "allowed_types": list(ALLOWED_EXTENSIONS)}
    if "max_bytes" in exc.context:
        return ApiError(413, "payload_too_large", exc.message, details)
    return ApiError(422, exc.code, exc.message, details)


@operation(bp, "GET", "/instances/<int:instance_id>/attachments", summary="List attachments",
           tag="attachments", response="AttachmentList")
def instance_attachments(instance_id: int):
    """The instance's files, oldest first: name, type, size, SHA-256, who uploaded it
    and when, the history entry that records it and where to download it. Whoever may
    read the instance (another unit's: 404)."""
    db = _db()
    visible(db, instance_id)
    return {"items": [serialize.attachment(a, download_url(a))
                      for a in list_attachments(db, instance_id, api_actor())]}


@operation(bp, "POST", "/instances/<int:instance_id>/attachments",
           summary="Upload an attachment", tag="attachments", form=schemas.ATTACH,
           status=201, response="NewAttachment", errors=(403, 409, 413, 422))
def upload_attachment(instance_id: int, form: dict):
    """Attach ``file`` (multipart/form-data; its file name's extension decides the type:
    pdf, docx, xlsx, pptx, doc, xls, jpg, jpeg, png, txt, csv; the content must match
    it). Records a same-state history entry (trigger ``attach``) with the file's
    SHA-256 and ``comment``; answers the attachment and the instance's new ``version``.
    Who may: the roles that edit or act in the current state (unit roles on their own
    unit; auditors never) — else 403 naming them. ``expected_version`` (optional): a
    stale one is a 409 ``conflict``. Larger than ``ATTACHMENT_MAX_BYTES``: 413
    ``payload_too_large``; a refused type or content, an empty file: 422; the limits
    are in ``details`` (``max_bytes``, ``allowed_types``)."""
    db = _db()
    visible(db, instance_id)
    upload, settings = form["file"], attachment_settings()
    try:
        att = attach(db, instance_id, api_actor(), upload.filename, upload.stream,
                     upload.mimetype, expected_version=form.get("expected_version"),
                     comment=form.get("comment"), settings=settings)
    except InvalidInput as exc:
        raise _refused(exc, settings.max_bytes) from None
    return {**serialize.attachment(att, download_url(att)), "version": att.history_seq}


@operation(bp, "GET", "/instances/<int:instance_id>/attachments/<int:attachment_id>/content",
           summary="Download an attachment", tag="attachments", media=MEDIA_TYPES,
           binary=True, errors=(500,),
           headers={"Content-Disposition": "attachment; filename*=UTF-8''<the file name>",
                    "X-Content-SHA256": "the file's SHA-256 (hex), as recorded in history",
                    "Repr-Digest": "sha-256=:<base64 SHA-256>: (RFC 9530)",
                    "ETag": "the SHA-256 (hex), quoted"})
def attachment_content(instance_id: int, attachment_id: int):
    """The file's bytes, always as a download (``nosniff``), after re-hashing the stored
    file: one missing or no longer matching its SHA-256 is a 500
    ``attachment_unavailable`` (JSON), never wrong bytes. Whoever may read the instance
    (another unit's: 404; an attachment of another instance: 404)."""
    db = _db()
    visible(db, instance_id)
    att, path = open_attachment(db, instance_id, attachment_id, api_actor(),
                                attachment_settings())
    response = send_file(path, mimetype=att.content_type, as_attachment=True,
                         download_name=att.filename, max_age=0, etag=att.sha256)
    digest = base64.b64encode(bytes.fromhex(att.sha256)).decode()
    response.headers.update({
        "Content-Disposition": content_disposition(att.filename),
        "X-Content-SHA256": att.sha256, "Repr-Digest": f"sha-256=:{digest}:",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store"})
    return response
