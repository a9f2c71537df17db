"""The auditor's pages: history search, chain verification, export. Read-only."""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, Response, abort, render_template, request

from engine import export_history, verify_history
from engine.history_search import search_history

from .common import AUDIT_ROLES, get_db, roles_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/")
@roles_required(*AUDIT_ROLES)
def index():
    """History search by unit, actor, process, trigger and date range."""
    filters = {k: (request.args.get(k) or "").strip() or None
               for k in ("unit_code", "actor", "key", "trigger")}
    entries = search_history(get_db(), since=_day("since"), until=_day("until"), **filters)
    return render_template("audit/index.html", entries=entries, args=request.args)


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
