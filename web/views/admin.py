"""Administration: units, users (roles, unit, active flag, password reset), imports,
sign-in records and the change log, calendar overrides, definitions (versions,
diagrams), dead letters.

Every write goes through an engine function that checks the ``admin`` role itself
(:mod:`engine.people`, :mod:`engine.calendar_admin`); the decorator only keeps other
users off the pages. A change of a user's roles, unit or active flag, and a password
reset, end that user's open sessions (their session token is rotated) and are written
to ``admin_events``.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename

from engine import InvalidInput, NotFound, import_units
from engine.calendar_admin import ADMIN_SOURCE, coverage, list_overrides, remove_override, \
    set_override
from engine.clock import local_today
from engine.models import Unit, User
from engine.paging import page_count
from engine.people import (UserEdit, get_user, import_users, list_users, reset_password,
                           update_user)
from engine.registry import compiled, list_versions
from engine.signins import OUTCOMES, list_admin_events, list_login_events, log_admin_event
from workflow import mermaid
from workflow.roles import ROLES

from .common import ADMIN_ROLES, actor, get_db, roles_required

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
    return render_template("admin/index.html", units=units, users=users, codes=codes,
                           roles=ROLES)


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
    """Import units or users from an uploaded CSV/XLSX file (all or nothing); a file
    with bad rows imports nothing and the page lists every error (row, column, reason)."""
    if kind not in ("units", "users"):
        abort(404)
    path = _upload()
    if path is None:
        flash(_("请上传 .csv 或 .xlsx 文件。"), "error")
        return redirect(url_for("admin.index"))
    try:
        if kind == "units":
            report = import_units(get_db(), path)
        else:
            report = import_users(get_db(), path,
                                  initial_password=request.form.get("password") or None)
    except InvalidInput as exc:
        return render_template("admin/import.html", kind=kind, errors=[], problem=exc.message,
                               filename=request.files["file"].filename), 422
    finally:
        path.unlink(missing_ok=True)
    if report.errors:
        return render_template("admin/import.html", kind=kind, errors=report.errors,
                               problem=None, filename=request.files["file"].filename), 422
    log_admin_event(get_db(), actor_id=current_user.id, actor=current_user.username,
                    action=f"import_{kind}", target=request.files["file"].filename or "",
                    details={"created": report.created, "updated": report.updated})
    flash(_("导入成功:新增 %(n)d 条,更新 %(m)d 条。", n=report.created, m=report.updated), "ok")
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


# --- users ------------------------------------------------------------------------------

PER_PAGE = 50
MAX_PAGE = 1_000_000  # far beyond any real list
ASSIGNABLE = tuple(r for r in ROLES if r != "system")


def _page() -> int:
    """The page asked for, from 1 to ``MAX_PAGE`` (a larger number would overflow the
    database's integer as a row offset)."""
    return min(max(1, request.args.get("page", 1, type=int) or 1), MAX_PAGE)


def _units() -> list:
    with get_db().read() as conn:
        return conn.execute(select(Unit.id, Unit.code, Unit.name).order_by(Unit.code)).all()


@bp.route("/users")
@roles_required(*ADMIN_ROLES)
def users():
    """Users, filtered by unit and/or role, one page at a time."""
    units = _units()
    unit_code, role = request.args.get("unit", ""), request.args.get("role", "")
    unit_id = next((u.id for u in units if u.code == unit_code), None)
    if unit_code and unit_id is None:
        unit_id = -1  # an unknown unit code lists nobody
    page = _page()
    rows, total = list_users(get_db(), unit_id=unit_id, role=role if role in ROLES else "",
                             page=page, per_page=PER_PAGE)
    return render_template("admin/users.html", users=rows, total=total, page=page,
                           pages=page_count(total, PER_PAGE), units=units,
                           codes={u.id: u.code for u in units}, roles=ROLES,
                           unit=unit_code, role=role)


def _edit_from_form() -> UserEdit:
    form = request.form
    return UserEdit(roles=tuple(r for r in form.getlist("roles") if r in ASSIGNABLE),
                    unit_code=form.get("unit") or None,
                    display_name=form.get("display_name", "").strip()[:200],
                    email=form.get("email", "").strip() or None,
                    active=form.get("active") == "1")


def _render_user(user_id: int, status: int = 200, **extra):
    try:
        user = get_user(get_db(), user_id)
    except NotFound:
        abort(404)
    return render_template("admin/user_edit.html", user=user, units=_units(),
                           roles={r: ROLES[r] for r in ASSIGNABLE},
                           events=list_admin_events(get_db(), target_user_id=user_id,
                                                    per_page=20).rows, **extra), status


@bp.route("/users/<int:user_id>", methods=("GET", "POST"))
@roles_required(*ADMIN_ROLES)
def user_edit(user_id: int):
    """One user: roles, unit, display name, email, active flag."""
    if request.method == "GET":
        return _render_user(user_id)
    try:
        changes = update_user(get_db(), actor(), user_id, _edit_from_form())
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        return _render_user(user_id, 422, error=exc.message)
    if user_id == current_user.id and {"roles", "unit_id"} & changes.keys():
        _resume_own_session()
    if changes:
        flash(_("已保存:%(fields)s。", fields=", ".join(changes)), "ok")
    else:
        flash(_("没有修改。"), "ok")
    return redirect(url_for("admin.user_edit", user_id=user_id))


def _resume_own_session() -> None:
    """Keep the administrator's own session after their token was rotated."""
    from ..auth import load_web_user, start_session

    start_session(load_web_user(get_db(), current_user.id), keep_lang=session.get("lang"))


@bp.route("/users/<int:user_id>/password", methods=("POST",))
@roles_required(*ADMIN_ROLES)
def user_password(user_id: int):
    """Reset a user's password: the one entered, or a temporary one shown once."""
    chosen = request.form.get("password", "")
    try:
        password = reset_password(get_db(), actor(), user_id, chosen or None)
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        return _render_user(user_id, 422, error=exc.message)
    if user_id == current_user.id:
        _resume_own_session()
    return _render_user(user_id, temporary=None if chosen else password, reset_done=True)


# --- sign-in records and the change log ----------------------------------------------------


@bp.route("/signins")
@roles_required(*ADMIN_ROLES)
def signins():
    """Sign-in records, newest first; filter by user name and outcome."""
    username = request.args.get("username", "").strip()
    outcome = request.args.get("outcome", "")
    outcome = outcome if outcome in OUTCOMES else ""
    page = list_login_events(get_db(), username=username, outcome=outcome, page=_page(),
                             per_page=PER_PAGE)
    return render_template("admin/signins.html", page=page, username=username,
                           outcome=outcome, outcomes=OUTCOMES)


@bp.route("/changes")
@roles_required(*ADMIN_ROLES)
def changes():
    """The administrators' change log, newest first."""
    page = list_admin_events(get_db(), page=_page(), per_page=PER_PAGE)
    return render_template("admin/changes.html", page=page)


# --- calendar ------------------------------------------------------------------------------


def _year() -> int:
    year = request.values.get("year", type=int)
    return year if year and 1990 <= year <= 2200 else local_today().year


@bp.route("/calendar")
@roles_required(*ADMIN_ROLES)
def calendar():
    """Overrides of one year, the add form, and which years have official data."""
    year = _year()
    today = local_today().year
    years = range(min(year, today) - 1, max(year, today) + 3)
    return render_template("admin/calendar.html", year=year,
                           overrides=list_overrides(get_db(), year),
                           coverage=coverage(get_db(), years), admin_source=ADMIN_SOURCE,
                           recomputed=request.args.get("recomputed", type=int))


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(_("日期无效,应为 YYYY-MM-DD。")) from None


@bp.route("/calendar", methods=("POST",))
@roles_required(*ADMIN_ROLES)
def calendar_add():
    """Set one day as a working day or a holiday; pending timers are recomputed."""
    kind = request.form.get("kind", "")
    if kind not in ("workday", "holiday"):
        abort(400)
    try:
        day = _day(request.form.get("day", ""))
        recomputed = set_override(get_db(), actor(), day, kind == "workday",
                                  request.form.get("reason", ""))
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.calendar", year=_year()))
    flash(_("已设置 %(day)s;重算 %(n)d 个期限。", day=day.isoformat(), n=recomputed), "ok")
    return redirect(url_for("admin.calendar", year=day.year, recomputed=recomputed))


@bp.route("/calendar/remove", methods=("POST",))
@roles_required(*ADMIN_ROLES)
def calendar_remove():
    """Remove one day's override; pending timers are recomputed."""
    try:
        day = _day(request.form.get("day", ""))
        recomputed = remove_override(get_db(), actor(), day)
    except (InvalidInput, NotFound) as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.calendar", year=_year()))
    flash(_("已删除 %(day)s 的调整;重算 %(n)d 个期限。", day=day.isoformat(), n=recomputed),
          "ok")
    return redirect(url_for("admin.calendar", year=day.year, recomputed=recomputed))
