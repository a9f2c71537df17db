"""The performance office's dashboard per cycle: units × processes, completion,
overdue, escalations, progress over the year, scheduler heartbeat, calendar warnings;
bulk actions (extend deadlines, remind now) and the Excel export."""

from __future__ import annotations

import io

from flask import (Blueprint, abort, flash, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _

from engine import WorkflowError
from engine.dashboard import (calendar_warnings, count_escalations, count_overdue, cycles,
                              escalations, matrix, overdue, progress, scheduler_status)
from engine.extensions import extend_many
from engine.reminders import remind_now

from .common import OFFICE_ROLES, actor, get_db, roles_required

bp = Blueprint("office", __name__, url_prefix="/office")
MATRIX_PAGE = 200
LIST_LIMIT = 100  # overdue and escalation rows shown (the counts are of all of them)
CHART = {"width": 960, "height": 260, "left": 44, "right": 16, "top": 12, "bottom": 28}
#: Dash patterns per series, so lines that run together (e.g. all at 0 %) stay
#: distinguishable; earlier series are also drawn wider, underneath the later ones.
DASHES = ("", "10 4", "4 3", "12 3 2 3", "2 2", "6 6")


def _cycle(db, year: str | None):
    """(every cycle, the selected one or None): the newest unless ``year`` says
    another, or ``all`` (every instance, no cycle)."""
    found = cycles(db)
    if year == "all" or not found:
        return found, None
    if year:
        chosen = next((c for c in found if str(c["year"]) == year), None)
        if chosen is None:
            abort(404)
        return found, chosen
    return found, found[0]


def chart(data) -> dict:
    """SVG geometry of the progress chart: a polyline per process (share of its
    instances done at each week's end), month ticks and a 0–100 % axis. Lines that
    coincide stay apart: each series has its own dash pattern, the earlier ones are
    drawn wider underneath, and each ends in a marker offset a little vertically."""
    c = CHART
    inner_w = c["width"] - c["left"] - c["right"]
    inner_h = c["height"] - c["top"] - c["bottom"]
    step = inner_w / max(len(data.weeks) - 1, 1) if data.weeks else 0
    lines, count = [], len(data.series)
    for n, (key, values) in enumerate(data.series.items()):
        total = max(data.totals.get(key, 0), 1)
        xy = [(c["left"] + i * step, c["top"] + inner_h * (1 - v / total))
              for i, v in enumerate(values)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        end = xy[-1] if xy else (c["left"], c["top"] + inner_h)
        lines.append({"key": key, "title": data.titles[key], "points": points,
                      "cls": f"series-{n % 6}", "dash": DASHES[n % len(DASHES)],
                      "stroke": 2 + (count - 1 - n), "marker_x": round(end[0], 1),
                      "marker_y": round(end[1] - 4 * (n - (count - 1) / 2), 1),
                      "done": values[-1] if values else 0,
                      "total": data.totals.get(key, 0)})
    ticks, seen = [], set()
    for i, week in enumerate(data.weeks):
        if week.month not in seen:
            seen.add(week.month)
            ticks.append({"x": round(c["left"] + i * step, 1), "label": week.month})
    grid = [{"y": round(c["top"] + inner_h * (1 - p / 100), 1), "label": f"{p}%"}
            for p in (0, 50, 100)]
    return {**c, "lines": lines, "ticks": ticks, "grid": grid, "x0": c["left"],
            "x1": c["width"] - c["right"], "y0": c["top"] + inner_h}


@bp.route("/")
@roles_required(*OFFICE_ROLES)
def dashboard():
    """The dashboard of one cycle (a fixed number of queries, whatever the number of
    units; the matrix is paged)."""
    db = get_db()
    category = request.args.get("category") or None
    key = request.args.get("key") or None
    page = request.args.get("page", 1, type=int) or 1
    all_cycles, cycle = _cycle(db, request.args.get("year") or None)
    parent = cycle["instance_id"] if cycle else None
    m = matrix(db, category=category, keys=(key,) if key else None, parent_id=parent,
               page=page, page_size=MATRIX_PAGE)
    year = str(cycle["year"]) if cycle else ("all" if all_cycles else None)
    svg = chart(progress(db, parent, cycle["year"])) if cycle else None
    return render_template("office/dashboard.html", m=m,
                           overdue=overdue(db, parent_id=parent, limit=LIST_LIMIT),
                           overdue_total=count_overdue(db, parent_id=parent),
                           escalations=escalations(db, parent_id=parent, limit=LIST_LIMIT),
                           escalation_total=count_escalations(db, parent_id=parent),
                           beats=scheduler_status(db), warnings=calendar_warnings(db),
                           category=category, key=key, categories=m.categories,
                           cycles=all_cycles, cycle=cycle, year=year, chart=svg)


def _selection():
    """The selected instance ids, and where to go back to."""
    ids = [int(i) for i in request.form.getlist("instance") if i.isdigit()]
    year = request.form.get("year") or None
    return ids, url_for("office.dashboard", year=year) if year else url_for("office.dashboard")


@bp.route("/extend", methods=("POST",))
@roles_required("office")
def extend():
    """Extend the deadline of the selected instances by working days, with a reason —
    all of them, or (when one is refused) none."""
    ids, back = _selection()
    reason = request.form.get("reason", "").strip()
    days = request.form.get("working_days", type=int)
    if not ids or not reason or not days or days < 1:
        flash(_("请选择事项,并填写延期工作日数和理由。"), "error")
        return redirect(back)
    try:
        changes = extend_many(get_db(), ids, actor(), reason=reason, working_days=days)
    except WorkflowError as exc:
        flash(_("未延期任何事项:%(reason)s", reason=exc.message), "error")
        return redirect(back)
    flash(_("已为 %(n)d 个事项延期。", n=len(changes)), "ok")
    return redirect(back)


@bp.route("/remind", methods=("POST",))
@roles_required("office")
def remind():
    """Send the selected instances' units an immediate reminder (optional message)."""
    ids, back = _selection()
    if not ids:
        flash(_("请选择要提醒的事项。"), "error")
        return redirect(back)
    try:
        sent = remind_now(get_db(), ids, actor(), message=request.form.get("message"))
    except WorkflowError as exc:
        flash(_("未发送任何提醒:%(reason)s", reason=exc.message), "error")
        return redirect(back)
    flash(_("已向 %(n)d 个事项的办理单位发送提醒。", n=len(sent)), "ok")
    return redirect(back)


@bp.route("/export.xlsx")
@roles_required(*OFFICE_ROLES)
def export_xlsx():
    """The matrix of the selected cycle (every unit) as an Excel workbook."""
    from openpyxl import Workbook

    from .. import i18n

    db = get_db()
    _cycles, cycle = _cycle(db, request.args.get("year") or None)
    m = matrix(db, parent_id=cycle["instance_id"] if cycle else None)
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
    name = f"dashboard-{cycle['year']}.xlsx" if cycle else "dashboard.xlsx"
    return send_file(out, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument."
                              "spreadsheetml.sheet")
