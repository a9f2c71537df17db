"""Results (成绩): scores, grades and rankings per category; entering and importing
scores, vetoes (and withdrawing one), computing, publishing (the committee's approval of
the results) and exporting; corrections after publication; filing appeals and deciding
them by an adjustment (old and new composite, grade and rank shown after
re-publication); the history of the year's score and result facts.

Every action goes through the engine, which checks the actor's role (and, for an
expert, that the indicator's verifying unit is theirs) and the cycle's stage; the page
shows only the actions :func:`engine.evaluation_steps.allowed_steps` allows now, and a
step refused by the stage (:class:`StageClosed`) comes back to this page with the
message. Unit users see their own unit's result only, and only once it is published.
"""

from __future__ import annotations

import functools
import io
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

from flask import (Blueprint, abort, flash, redirect, render_template, request, send_file,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.appeals import appeal_deadline, file_appeal, item_label
from engine.clock import local_today
from engine.cycle_views import (appeal_changes, appeals_of, default_result_year, entry_items,
                                items_by_unit, result_years, scope_units, unit_items,
                                veto_rows, vetoes_of)
from engine.cycles import cycle_for_year
from engine.evaluation_steps import allowed_steps, fact_history
from engine.exceptions import Conflict, InvalidInput, NotFound, StageClosed
from engine.results import (adjust_for_appeal, compute_results, correct_result, enter_scores,
                            export_results, import_scores, publish_results, read_results,
                            record_veto, remove_veto)

from ..api.results import READ_ALL, visible_rows
from ..i18n import label, lang
from .common import YEARS, actor, get_db, roles_required

bp = Blueprint("results", __name__, url_prefix="/results")
ENTRY_ROLES = ("office", "expert", "leader")
APPEAL_READERS = ("office", "committee", "auditor", "admin")
HISTORY_READERS = ("office", "committee", "auditor", "admin")
CORRECT_ROLES = ("office", "committee")
UNIT_ROLES = ("unit_staff", "unit_head")
UPLOADS = (".xlsx", ".csv")


def _year() -> int:
    """The year asked for, else the one the user most likely wants: the newest cycle in
    scoring or with results (organisation-wide readers), the newest published year
    (everyone else)."""
    asked = request.values.get("year", type=int)
    if asked:
        if asked not in YEARS:
            abort(404)
        return asked
    return default_result_year(result_years(get_db()), org_wide=actor().is_org_wide,
                               today_year=local_today().year)


def _cycle_open(year: int) -> bool:
    try:
        cycle_for_year(get_db(), year)
    except NotFound:
        return False
    return True


def _on_results_page(view: Callable) -> Callable:
    """A step the cycle's stage refuses comes back to the results page with the
    engine's message (which names the stages it needs), not an error page."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except StageClosed as exc:
            flash(exc.message, "error")
            return redirect(url_for("results.index", year=_year()), 303)

    return wrapper


def _visible(rows: list[dict]) -> list[dict]:
    """Everything for the organisation-wide readers; published results for experts;
    the own unit's published result for a unit user (the API's rule)."""
    return visible_rows(rows, current_user)


def _tables(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows by category, each marked ``tied`` when another unit shares its rank."""
    by_category: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_category[row["category"]].append(row)
    for rows_ in by_category.values():
        shared = Counter(r["rank"] for r in rows_ if r["rank"] is not None)
        for r in rows_:
            r["tied"] = r["rank"] is not None and shared[r["rank"]] > 1
    return dict(by_category)


def _appeal_context(year: int, rows: list[dict]) -> dict:
    """What a unit user needs to appeal: the deadline, the items, its appeals."""
    me = actor()
    if not current_user.has_any(*UNIT_ROLES) or me.unit_id is None:
        return {}
    mine = next((r for r in rows if r["unit_id"] == me.unit_id and r.get("published_at")), None)
    if mine is None:
        return {}
    db = get_db()
    deadline = appeal_deadline(db, year, me.unit_id)
    window = (cycle_for_year(db, year)["config"] or {}).get("appeal_window_working_days", 5)
    items = unit_items(db, me.unit_id, overall=True, year=year)
    cycle_instance = cycle_for_year(db, year)["instance_id"]
    with db.read() as conn:  # 'K1 县委县政府重点工作', not the bare code
        labels = {i: item_label(conn, me.unit_id, i, cycle_instance) for i in items}
    return {"deadline": deadline, "window": window, "late": local_today() > deadline,
            "items": items, "item_labels": labels,
            "draft": session.pop("appeal_draft", None) or {},
            "appeals": [a for a in appeals_of(db, year) if a["unit_id"] == me.unit_id]}


def _page(year: int, errors: list[dict]) -> str:
    """The results page of ``year`` (``errors``: the bad rows of a refused entry)."""
    db = get_db()
    opened = _cycle_open(year)
    rows = read_results(db, year) if opened else []
    visible = _visible(rows)
    can_enter = opened and current_user.has_any(*ENTRY_ROLES)
    steps = allowed_steps(db, year) if opened else None
    return render_template(
        "results/index.html", year=year, opened=opened, by_category=_tables(visible),
        stage_names=lambda states: ("、" if lang() == "zh" else ", ").join(
            label(steps.labels.get(s, s)) for s in states),
        published=any(r.get("published_at") for r in visible),
        vetoes=vetoes_of(db, year) if opened and visible else {},
        veto_rows=veto_rows(db, year) if opened and can_enter else [],
        items=entry_items(db, actor(), year) if can_enter else [],
        units=scope_units(db, year) if opened else [],
        appeal=_appeal_context(year, rows) if opened and not errors else {},
        steps=steps,
        history=fact_history(db, year) if opened and current_user.has_any(*HISTORY_READERS)
        else [], years=[y["year"] for y in result_years(db)], errors=errors)


@bp.route("/")
@login_required
def index():
    """Results of a year by category, with the actions the user's roles and the
    cycle's stage allow, and the history of the year's score and result facts."""
    return _page(_year(), [])


def _row_errors(year: int, errors, labels: list[str] | None = None):
    """The results page again, listing every bad row (nothing was recorded)."""
    shown = [{"row": e.row, "column": e.column, "reason": e.reason,
              "unit": labels[e.row - 2] if labels and 0 <= e.row - 2 < len(labels) else None}
             for e in errors]
    flash(_("有 %(n)d 处错误,未录入任何数据。", n=len(shown)), "error")
    return _page(year, shown), 422


@bp.route("/scores", methods=("POST",))
@roles_required(*ENTRY_ROLES)
@_on_results_page
def scores():
    """Record one item's values for the units filled in (blank: left as it is)."""
    year = _year()
    item = request.form.get("item", "").strip()
    codes = [u["code"] for u in scope_units(get_db(), year)]
    rows = [(code, item, request.form.get(f"value_{code}", "").strip()) for code in codes
            if request.form.get(f"value_{code}", "").strip()]
    if not rows:
        raise InvalidInput(_("请至少填写一个单位的得分。"))
    errors = enter_scores(get_db(), year, actor(), rows)
    if errors:
        return _row_errors(year, errors, [code for code, _i, _v in rows])
    flash(_("已录入 %(item)s 的 %(n)d 个得分。", item=item, n=len(rows)), "ok")
    return redirect(url_for("results.index", year=year))


@bp.route("/import", methods=("POST",))
@roles_required(*ENTRY_ROLES)
@_on_results_page
def import_():
    """Import 单位编码 / 指标 / 得分 rows from an XLSX or CSV upload; all or nothing."""
    year = _year()
    upload = request.files.get("file")
    suffix = Path(upload.filename).suffix.lower() if upload and upload.filename else ""
    if suffix not in UPLOADS:
        raise InvalidInput(_("请上传 .xlsx 或 .csv 文件。"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"scores{suffix}"
        upload.save(path)
        errors = import_scores(get_db(), year, actor(), path, source=Path(upload.filename).name)
    if errors:
        return _row_errors(year, errors)
    flash(_("已导入得分。"), "ok")
    return redirect(url_for("results.index", year=year))


@bp.route("/veto", methods=("POST",))
@roles_required("office")
@_on_results_page
def veto():
    """Record a one-vote veto (一票否决) against a unit, with the item and reason."""
    year = _year()
    code = request.form.get("unit", "").strip()
    record_veto(get_db(), year, actor(), code, request.form.get("item", "").strip(),
                request.form.get("reason", "").strip())
    flash(_("已记录对 %(unit)s 的一票否决,重新计算后生效。", unit=code), "ok")
    return redirect(url_for("results.index", year=year))


@bp.route("/veto/<int:veto_id>/remove", methods=("POST",))
@roles_required("office")
@_on_results_page
def remove_veto_(veto_id: int):
    """Withdraw a veto recorded in error (before publication), with the reason."""
    year = _year()
    remove_veto(get_db(), year, actor(), veto_id, request.form.get("reason", "").strip())
    flash(_("已撤销该一票否决,重新计算后生效。"), "ok")
    return redirect(url_for("results.index", year=year))


@bp.route("/compute", methods=("POST",))
@roles_required("office")
@_on_results_page
def compute():
    """Compute (or recompute) the year's results, with the reason recorded."""
    year = _year()
    reason = request.form.get("reason", "").strip()
    if not reason:
        raise InvalidInput(_("计算结果须填写理由。"))
    results = compute_results(get_db(), year, actor(), reason)
    flash(_("已计算 %(n)d 个单位的结果。", n=len(results)), "ok")
    return redirect(url_for("results.index", year=year))


@bp.route("/publish", methods=("POST",))
@roles_required("committee")
@_on_results_page
def publish():
    """Approve and publish the year's results (the committee, from 结果审定: the
    cycle's ``approve_results`` transition, whose effect publishes them)."""
    year = _year()
    from ..auth import fresh_auth_redirect  # publication needs a recent password

    if (stale := fresh_auth_redirect("approve_results", url_for("results.index", year=year))):
        return stale
    n = publish_results(get_db(), year, actor(),
                        comment=request.form.get("comment", "").strip() or None)
    flash(_("已审定并公布 %(n)d 个单位的结果。", n=n), "ok")
    return redirect(url_for("results.index", year=year))


@bp.route("/correct", methods=("POST",))
@roles_required(*CORRECT_ROLES)
@_on_results_page
def correct():
    """Correct one value of a published year, with the reason: recomputed, the changed
    results re-published, the units told."""
    year = _year()
    form = {k: request.form.get(k, "").strip() for k in ("unit", "item", "value", "reason")}
    if not all(form.values()):
        raise InvalidInput(_("请选择单位和项目,填写更正后的得分和理由。"))
    from ..auth import fresh_auth_redirect  # a correction re-publishes: recent password

    if (stale := fresh_auth_redirect("publish_correction", url_for("results.index", year=year))):
        return stale
    changes = correct_result(get_db(), year, actor(), form["unit"], form["item"],
                             form["value"], form["reason"])
    flash(_("已更正并重新公布,%(n)d 个单位的结果发生变化。", n=len(changes)), "ok")
    return redirect(url_for("results.index", year=year, _anchor="fact-history"))


@bp.route("/export.<fmt>")
@roles_required(*READ_ALL)
def export(fmt: str):
    """The year's results as XLSX (one sheet per category) or CSV."""
    if fmt not in ("xlsx", "csv"):
        abort(404)
    year = _year()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_results(get_db(), year, Path(tmp) / f"results-{year}.{fmt}")
        data = io.BytesIO(path.read_bytes())
    mimetype = ("text/csv" if fmt == "csv" else
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return send_file(data, as_attachment=True, download_name=f"results-{year}.{fmt}",
                     mimetype=mimetype)


@bp.route("/appeal", methods=("POST",))
@roles_required(*UNIT_ROLES)
@_on_results_page
def appeal():
    """A unit appeals its published result (one item, with grounds)."""
    year = _year()
    item = request.form.get("item", "").strip()
    grounds = request.form.get("grounds", "").strip()
    if not item or not grounds:
        raise InvalidInput(_("请选择申诉的指标或项目,并填写申诉理由。"))
    try:
        result = file_appeal(get_db(), year, actor(), grounds, item=item)
    except (Conflict, InvalidInput) as exc:  # a second appeal on the item, an unknown one
        session["appeal_draft"] = {"item": item, "grounds": grounds}
        flash(exc.message, "error")
        return redirect(url_for("results.index", year=year) + "#appeal", 303)
    if local_today() > appeal_deadline(get_db(), year, actor().unit_id):
        flash(_("申诉已提交,但已超过申诉期限,绩效办将不予受理。"), "warning")
    else:
        flash(_("申诉已提交。"), "ok")
    return redirect(url_for("instances.show", instance_id=result.instance_id))


@bp.route("/appeals")
@roles_required(*APPEAL_READERS)
def appeals():
    """The year's appeals, with the adjustment form for those under review."""
    year = _year()
    db = get_db()
    if not _cycle_open(year):
        return render_template("results/appeals.html", year=year, appeals=[], changes={},
                               items={})
    rows = appeals_of(db, year)
    pending = [a for a in rows if a["state"] == "under_review"]
    by_unit = items_by_unit(db, [a["unit_id"] for a in pending], year=year)
    items = {a["id"]: by_unit[a["unit_id"]] for a in pending}
    return render_template("results/appeals.html", year=year, appeals=rows,
                           changes=appeal_changes(db, year), items=items)


@bp.route("/appeals/<int:appeal_id>/adjust", methods=("POST",))
@roles_required("office")
def adjust(appeal_id: int):
    """Decide an appeal by correcting one value: recompute, re-rank, re-publish."""
    year = _year()
    item = request.form.get("item", "").strip()
    decision = request.form.get("decision", "").strip()
    if not item or not decision:
        raise InvalidInput(_("请选择调整的项目,并填写复核结论。"))
    from ..auth import fresh_auth_redirect  # an adjustment re-publishes: recent password

    if (stale := fresh_auth_redirect("adjust", url_for("results.appeals", year=year))):
        return stale
    changes = adjust_for_appeal(get_db(), appeal_id, actor(), item,
                                request.form.get("value", "").strip(), decision)
    flash(_("已调整并重新公布,%(n)d 个单位的结果发生变化。", n=len(changes)), "ok")
    return redirect(url_for("results.appeals", year=year, _anchor=f"appeal-{appeal_id}"))
