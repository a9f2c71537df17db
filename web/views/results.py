"""Results (成绩): scores, grades and rankings per category; compute and publish."""

from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.clock import local_today
from engine.exceptions import NotFound
from engine.results import compute_results, publish_results, read_results

from .common import actor, get_db, roles_required

bp = Blueprint("results", __name__, url_prefix="/results")
READ_ALL = ("office", "committee", "leader", "auditor", "admin")


def _year() -> int:
    return request.values.get("year", type=int) or local_today().year


@bp.route("/")
@login_required
def index():
    """Results of a year by category; unit users see published results only."""
    year = _year()
    try:
        rows = read_results(get_db(), year)
    except NotFound:
        rows = []
    if not current_user.has_any(*READ_ALL):
        rows = [r for r in rows if r.get("published_at")]
    by_category = defaultdict(list)
    for row in rows:
        by_category[row["category"]].append(row)
    return render_template("results/index.html", year=year, by_category=dict(by_category),
                           published=any(r.get("published_at") for r in rows))


@bp.route("/compute", methods=("POST",))
@roles_required("office")
def compute():
    """Compute (or recompute) the year's results."""
    year = _year()
    results = compute_results(get_db(), year, actor())
    flash(_("已计算 %(n)d 个单位的结果。", n=len(results)), "ok")
    return redirect(url_for("results.index", year=year))


@bp.route("/publish", methods=("POST",))
@roles_required("office")
def publish():
    """Publish the year's results."""
    year = _year()
    n = publish_results(get_db(), year, actor())
    flash(_("已公布 %(n)d 个单位的结果。", n=n), "ok")
    return redirect(url_for("results.index", year=year))
