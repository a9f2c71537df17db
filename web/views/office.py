"""The performance office's dashboard: units × processes, completion, overdue,
scheduler heartbeat, calendar warnings, and bulk deadline extension."""

from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine.dashboard import calendar_warnings, matrix, overdue, scheduler_status
from engine.extensions import extend_deadline

from .common import OFFICE_ROLES, actor, get_db, roles_required

bp = Blueprint("office", __name__, url_prefix="/office")


@bp.route("/")
@roles_required(*OFFICE_ROLES)
def dashboard():
    """The dashboard (a fixed number of queries, whatever the number of units)."""
    db = get_db()
    category = request.args.get("category") or None
    key = request.args.get("key") or None
    m = matrix(db, category=category, keys=(key,) if key else None)
    categories = sorted({u["category"] or "—" for u in m.units})
    return render_template("office/dashboard.html", m=m, overdue=overdue(db),
                           beats=scheduler_status(db), warnings=calendar_warnings(db),
                           category=category, key=key, categories=categories)


@bp.route("/extend", methods=("POST",))
@roles_required("office")
def extend():
    """Extend the deadline of the selected instances by working days, with a reason."""
    ids = [int(i) for i in request.form.getlist("instance") if i.isdigit()]
    reason = request.form.get("reason", "").strip()
    days = request.form.get("working_days", type=int)
    if not ids or not reason or not days or days < 1:
        flash(_("请选择事项,并填写延期工作日数和理由。"), "error")
        return redirect(url_for("office.dashboard"))
    for instance_id in ids:
        extend_deadline(get_db(), instance_id, actor(), reason=reason, working_days=days)
    flash(_("已为 %(n)d 个事项延期。", n=len(ids)), "ok")
    return redirect(url_for("office.dashboard"))


@bp.route("/export.xlsx")
@roles_required(*OFFICE_ROLES)
def export_xlsx():
    """The matrix as an Excel workbook."""
    from openpyxl import Workbook

    from .. import i18n

    m = matrix(get_db())
    book = Workbook()
    sheet = book.active
    sheet.append([_("单位编码"), _("单位名称"), _("类别")]
                 + [i18n.label(t) for t in m.processes.values()])
    for unit in m.units:
        cells = [m.cells.get((unit["id"], k)) for k in m.processes]
        sheet.append([unit["code"], unit["name"], unit["category"]]
                     + [i18n.label(c.label) if c else "" for c in cells])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return send_file(out, as_attachment=True, download_name="dashboard.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument."
                              "spreadsheetml.sheet")
