"""Administration: units, users, imports, definitions (versions, diagrams), dead letters."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.utils import secure_filename

from engine import import_units
from engine.models import Unit, User
from engine.people import import_users
from engine.registry import compiled, list_versions
from workflow import mermaid

from .common import ADMIN_ROLES, get_db, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
UPLOAD_TYPES = (".csv", ".xlsx")


@bp.route("/")
@roles_required(*ADMIN_ROLES)
def index():
    """Units and users."""
    with get_db().read() as conn:
        units = conn.execute(select(Unit.__table__).order_by(Unit.code)).all()
        users = conn.execute(select(User.id, User.username, User.display_name, User.roles,
                                    User.unit_id, User.active).order_by(User.username)).all()
    codes = {u.id: u.code for u in units}
    return render_template("admin/index.html", units=units, users=users, codes=codes)


def _upload() -> Path | None:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    suffix = Path(secure_filename(upload.filename) or "x").suffix.lower()
    if suffix not in UPLOAD_TYPES:
        return None
    handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)
    upload.save(handle)
    handle.close()
    return Path(handle.name)


@bp.route("/import/<kind>", methods=("POST",))
@roles_required(*ADMIN_ROLES)
def import_file(kind: str):
    """Import units or users from an uploaded CSV/XLSX file (all or nothing)."""
    path = _upload()
    if path is None or kind not in ("units", "users"):
        flash(_("请上传 .csv 或 .xlsx 文件。"), "error")
        return redirect(url_for("admin.index"))
    try:
        if kind == "units":
            report = import_units(get_db(), path)
        else:
            report = import_users(get_db(), path,
                                  initial_password=request.form.get("password") or None)
    finally:
        path.unlink(missing_ok=True)
    if report.errors:
        for error in report.errors[:20]:
            flash(str(error), "error")
    else:
        flash(_("导入成功:新增 %(n)d 条。", n=report.created), "ok")
    return redirect(url_for("admin.index"))


@bp.route("/definitions")
@roles_required(*ADMIN_ROLES, "office")
def definitions():
    """Every stored definition version with its diagram source."""
    from .. import i18n

    db = get_db()
    versions = list_versions(db)
    for v in versions:
        definition = compiled(db, v["id"]).definition
        v["title"] = definition.title
        v["diagram"] = mermaid(definition, i18n.lang())
    return render_template("admin/definitions.html", versions=versions)


@bp.route("/outbox")
@roles_required(*ADMIN_ROLES)
def outbox():
    """Dead letters: deliveries that gave up, and events that could not be expanded."""
    from notifications import counts, list_dead_events, list_deliveries

    db = get_db()
    return render_template("admin/outbox.html", dead=list_deliveries(db, dead=True),
                           events=list_dead_events(db), counts=counts(db))


@bp.route("/outbox/retry", methods=("POST",))
@roles_required(*ADMIN_ROLES)
def outbox_retry():
    """Requeue one dead delivery, or all of them."""
    from notifications import retry

    ident = request.form.get("id", "")
    n = retry(get_db(), [int(ident)]) if ident.isdigit() else retry(get_db(), all_dead=True)
    flash(_("已重新排队 %(n)d 条。", n=n), "ok")
    return redirect(url_for("admin.outbox"))
