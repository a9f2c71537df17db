"""The auditor's pages: history search (paged, with labels), chain verification,
export, and the signed anchors (list, download, upload one to verify the database
against it: :mod:`engine.anchor`). Read-only. Also registers the ``trigger_label``
template global the instance page's history timeline uses too."""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _

from engine import export_history, verify_history
from engine.anchor import anchor_document, list_anchors, verify_anchor
from engine.exceptions import InvalidInput
from engine.history_pages import search_history_page
from engine.queries import trigger_label as _trigger_label

from .common import AUDIT_ROLES, get_db, roles_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.app_template_global("trigger_label")
def trigger_label(definition, trigger: str, from_state: str | None = None,
                  to_state: str | None = None):
    """The :class:`~workflow.spec.Label` a history entry's trigger reads as (pass it
    through the ``label`` filter); see :func:`engine.queries.trigger_label`."""
    return _trigger_label(definition, trigger, from_state, to_state)


@bp.route("/")
@roles_required(*AUDIT_ROLES)
def index():
    """History search by unit, actor, process, trigger and date range, 100 entries a
    page; the page links keep the filters."""
    filters = {k: (request.args.get(k) or "").strip() or None
               for k in ("unit_code", "actor", "key", "trigger")}
    result = search_history_page(get_db(), since=_day("since"), until=_day("until"),
                                 page=request.args.get("page", 1, type=int) or 1, **filters)
    kept = {k: v for k, v in request.args.items() if k != "page" and v.strip()}
    return render_template("audit/index.html", result=result, entries=result.entries,
                           args=request.args, kept=kept)


@bp.route("/verify")
@roles_required(*AUDIT_ROLES)
def verify():
    """Recompute every hash chain and show the result."""
    return render_template("audit/verify.html", report=verify_history(get_db()))


@bp.route("/export.<fmt>")
@roles_required(*AUDIT_ROLES)
def export(fmt: str):
    """The full history as CSV or JSONL, hashes included."""
    if fmt not in ("csv", "jsonl"):
        abort(404)
    out = io.StringIO()
    export_history(get_db(), out, fmt)
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return Response(out.getvalue().encode("utf-8"), mimetype=f"{mimetype}; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=history.{fmt}"})


#: Largest anchor or key file the upload form reads (an anchor holds ~90 bytes a chain).
UPLOAD_LIMIT = 64 * 1024 * 1024


def _uploaded(name: str) -> bytes | None:
    part = request.files.get(name)
    if part is None or not part.filename:
        return None
    return part.stream.read(UPLOAD_LIMIT + 1)


def _anchors_page(result=None, errors: dict | None = None, status: int = 200):
    return render_template("audit/anchors.html", anchors=list_anchors(get_db()),
                           result=result, errors=errors or {}), status


@bp.route("/anchors")
@roles_required(*AUDIT_ROLES)
def anchors():
    """The anchors written (moment, counts, Merkle root, download) and the form that
    verifies an uploaded anchor file."""
    return _anchors_page()


@bp.route("/anchors/verify", methods=["POST"])
@roles_required(*AUDIT_ROLES)
def anchors_verify():
    """Verify the database against an uploaded anchor (and, optionally, the public key
    it must be signed with); a bad file is answered next to its field (422)."""
    anchor_file, key_file = _uploaded("anchor"), _uploaded("public_key")
    if not anchor_file:
        return _anchors_page(errors={"anchor": _("请选择要校验的锚点文件。")}, status=422)
    if len(anchor_file) > UPLOAD_LIMIT or (key_file and len(key_file) > UPLOAD_LIMIT):
        return _anchors_page(errors={"anchor": _("文件过大。")}, status=422)
    try:
        result = verify_anchor(get_db(), anchor_file, key_file or None)
    except InvalidInput as exc:
        where = exc.context.get("field")
        return _anchors_page(errors={where if where in ("anchor", "public_key") else "general":
                                     exc.message}, status=422)
    return _anchors_page(result=result)


@bp.route("/anchors/<int:anchor_id>.json")
@roles_required(*AUDIT_ROLES)
def anchor_download(anchor_id: int):
    """One stored anchor file, as written."""
    text = anchor_document(get_db(), anchor_id)
    if text is None:
        abort(404)
    return Response(text.encode("utf-8"), mimetype="application/json; charset=utf-8",
                    headers={"Content-Disposition":
                             f"attachment; filename=perfeval-anchor-{anchor_id}.json"})
