"""Evaluation cycles (年度考评): the list, opening a year, one year's progress and its
next steps — advancing when the children are done, or forcing with a reason after the
units not done have been shown.

Who may do what is the engine's business (``open_cycle`` and the definition's roles);
the pages are for the organisation-wide roles — unit users get 403 here and follow
their own unit's instances on the instances and results pages.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.cycle_config import CycleConfig, config_from_mapping
from engine.cycle_views import cycle_overview, list_cycles
from engine.cycles import CYCLE_KEY, advance, cycle_for_year, force, open_cycle
from engine.exceptions import InvalidInput
from engine.registry import latest

from ..i18n import label
from .common import YEARS, actor, get_db, roles_required

bp = Blueprint("cycles", __name__, url_prefix="/cycles")
READERS = ("office", "committee", "leader", "auditor", "admin")


def _uploaded_config() -> CycleConfig:
    """The uploaded settings file (YAML or JSON), or the defaults when none was sent."""
    upload = request.files.get("config")
    if upload is None or not upload.filename:
        return CycleConfig()
    import yaml

    try:
        data = yaml.safe_load(upload.read().decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(_("无法读取设置文件:%(error)s", error=str(exc).splitlines()[0])) \
            from exc
    if data is not None and not isinstance(data, dict):
        raise InvalidInput(_("设置文件须为键值映射(YAML 或 JSON)。"))
    return config_from_mapping(data)


def _moved(result) -> str:
    """``筹备 → 制定绩效计划`` in the user's language."""
    definition = latest(get_db(), CYCLE_KEY).definition
    return " → ".join(label(definition.state_label(s))
                      for s in (result.from_state, result.to_state))


@bp.route("/")
@roles_required(*READERS)
def index():
    """Every cycle with its children per state; the office's form to open a year."""
    return render_template("cycles/index.html", cycles=list_cycles(get_db()),
                           defaults=CycleConfig().to_json())


@bp.route("/open", methods=("POST",))
@roles_required(*READERS)
def open_():
    """Open a year: the cycle and every unit's instances in one transaction."""
    year = request.form.get("year", type=int)
    if year not in YEARS:
        raise InvalidInput(_("请填写年度。"))
    opened = open_cycle(get_db(), year, actor(), _uploaded_config())
    flash(_("已开启 %(year)d 年度考评:%(units)d 个单位,%(children)d 个事项。", year=year,
            units=opened.units, children=opened.children), "ok")
    return redirect(url_for("cycles.show", year=year))


@bp.route("/<int(max=9999):year>")
@roles_required(*READERS)
def show(year: int):
    """One year: state, children progress, next steps."""
    return render_template("cycles/show.html", c=cycle_overview(get_db(), year, actor()))


@bp.route("/<int(max=9999):year>/advance", methods=("POST",))
@roles_required(*READERS)
def advance_(year: int):
    """Fire a step of the cycle (its ``when_children`` is checked by the engine)."""
    from ..auth import fresh_auth_redirect  # approvals need a recent password

    if (stale := fresh_auth_redirect(request.form.get("trigger", ""),
                                     url_for("cycles.show", year=year))):
        return stale
    instance_id = cycle_for_year(get_db(), year)["instance_id"]
    result = advance(get_db(), instance_id, request.form.get("trigger", ""), actor(),
                     comment=request.form.get("comment", "").strip() or None,
                     expected_version=request.form.get("version", type=int))
    flash(_("已推进:%(moved)s", moved=_moved(result)), "ok")
    return redirect(url_for("cycles.show", year=year))


@bp.route("/<int(max=9999):year>/force", methods=("POST",))
@roles_required(*READERS)
def force_(year: int):
    """Force a step with a reason: first a page listing the units not done, then (with
    ``confirm``) the engine's force, which records them in the history."""
    db = get_db()
    trigger = request.form.get("trigger", "")
    reason = request.form.get("reason", "").strip()
    if not reason:
        raise InvalidInput(_("强制推进须填写理由。"))
    if request.form.get("confirm") != "yes":
        view = cycle_overview(db, year, actor())
        step = next((s for s in view.steps if s.trigger == trigger and s.force), None)
        if step is None:
            raise InvalidInput(_("当前阶段不能执行该强制推进。"))
        return render_template("cycles/confirm_force.html", c=view, step=step, reason=reason)
    from ..auth import fresh_auth_redirect  # forcing a step needs a recent password

    if (stale := fresh_auth_redirect(trigger, url_for("cycles.show", year=year))):
        return stale
    result = force(db, cycle_for_year(db, year)["instance_id"], trigger, actor(), reason,
                   expected_version=request.form.get("version", type=int))
    flash(_("已强制推进:%(moved)s", moved=_moved(result)), "ok")
    return redirect(url_for("cycles.show", year=year))
