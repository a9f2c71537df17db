"""The auditor's pages: history search (paged, with labels), chain verification,
export. Read-only. Also registers the ``trigger_label`` template global the instance
page's history timeline uses too."""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, Response, abort, render_template, request

from engine import export_history, verify_history
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
