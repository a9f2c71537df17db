"""Indicator systems (指标体系) by year and category: state, edition, the cycle each is
bound to and when; copying last year's systems into a new year, exporting one to Excel
and importing one from Excel or CSV (the office).

The engine decides who may copy and import (:mod:`engine.indicator_systems`,
:mod:`engine.indicator_excel`); a refusal is shown next to the field it concerns, the
form keeps what was typed, and a file's bad rows are listed all at once (422).
"""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine.exceptions import InvalidInput, NotFound
from engine.indicator_excel import EDITABLE_STATES, HEADERS, export_system, import_system
from engine.indicator_systems import copy_year, list_systems

from ..i18n import lang
from .common import YEARS, actor, get_db, roles_required

bp = Blueprint("systems", __name__, url_prefix="/systems")
READERS = ("office", "committee", "leader", "auditor", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UPLOADS = (".xlsx", ".csv")


def in_language(message: str) -> str:
    """One side of an engine message ``中文 — English`` (or ``中文 (English)``)."""
    zh, sep, en = message.partition(" — ")
    if not sep and message.endswith(")") and " (" in message:
        zh, _sep, en = message[:-1].rpartition(" (")
        sep = _sep
    if not sep:
        return message
    return en.strip() if lang() == "en" else zh.strip()


def _column(name: str) -> str:
    """A sheet column's name in the page's language."""
    return next((en for _f, zh, en in HEADERS if zh == name), name) if lang() == "en" else name


def _page(status: int = 200, **context):
    """The list, grouped by year, with the forms' state in ``context``."""
    rows = list_systems(get_db())
    by_year: dict = {}
    for s in rows:
        by_year.setdefault(s["year"], []).append(s)
    years = sorted({s["year"] for s in rows if s["year"] is not None}, reverse=True)
    if context.get("form") is None:  # the copy form's defaults: the newest year onwards
        context["form"] = {"from_year": years[0], "to_year": years[0] + 1} if years else {}
    context.setdefault("errors", {})
    categories = sorted({s["category"] for s in rows if s["category"]})
    return render_template("systems/index.html", by_year=by_year, years=years,
                           categories=categories, editable=EDITABLE_STATES,
                           **context), status


@bp.route("/")
@roles_required(*READERS)
def index():
    """Every indicator system by year, with the office's copy, export and import."""
    return _page()


def _year_field(name: str, errors: dict) -> int | None:
    text = request.form.get(name, "").strip()
    value = int(text) if text.isdigit() and len(text) <= 4 else None
    if value is None or value not in YEARS:
        errors[name] = _("请填写四位数的年度。")
    return value


@bp.route("/copy", methods=("POST",))
@roles_required(*READERS)
def copy():
    """Copy one year's systems (all categories or one) into a new year, as drafts."""
    form = {k: request.form.get(k, "").strip() for k in ("from_year", "to_year", "category")}
    errors: dict = {}
    from_year, to_year = _year_field("from_year", errors), _year_field("to_year", errors)
    if not errors and from_year == to_year:
        errors["to_year"] = _("新年度须不同于来源年度。")
    if errors:
        return _page(422, form=form, errors=errors)
    try:
        ids = copy_year(get_db(), from_year, to_year, actor(), category=form["category"] or None)
    except NotFound as exc:
        return _page(422, form=form, errors={"from_year": in_language(exc.message)})
    except InvalidInput as exc:
        return _page(422, form=form, errors={"to_year": in_language(exc.message)})
    flash(_("已将 %(source)d 年度的 %(n)d 个指标体系复制到 %(year)d 年度(起草状态)。",
            source=from_year, n=len(ids), year=to_year), "ok")
    return redirect(url_for("systems.index", _anchor=f"year-{to_year}"))


@bp.route("/<int:system_id>/export.xlsx")
@roles_required(*READERS)
def export(system_id: int):
    """The system's indicators as an .xlsx download."""
    try:
        data = export_system(get_db(), system_id, actor())
    except NotFound:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=f"indicator-system-{system_id}.xlsx")


@bp.route("/<int:system_id>/import", methods=("POST",))
@roles_required(*READERS)
def import_(system_id: int):
    """Replace a draft, returned or adjusting system's indicators with a file's rows."""
    upload = request.files.get("file")
    suffix = Path(upload.filename).suffix.lower() if upload and upload.filename else ""
    if suffix not in UPLOADS:
        return _page(422, import_for=system_id, import_error=_("请上传 .xlsx 或 .csv 文件。"))
    try:
        errors = import_system(get_db(), system_id, actor(), upload.read(), upload.filename)
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        return _page(422, import_for=system_id, import_error=in_language(exc.message))
    if errors:
        rows = [{"row": e.row, "column": _column(e.column), "reason": in_language(e.reason)}
                for e in errors]
        return _page(422, import_for=system_id, row_errors=rows,
                     import_error=_("有 %(n)d 处错误,未导入任何指标。", n=len(rows)))
    flash(_("已从 %(file)s 导入指标体系 #%(id)d 的指标。", file=upload.filename, id=system_id),
          "ok")
    return redirect(url_for("systems.index", _anchor=f"system-{system_id}"))
