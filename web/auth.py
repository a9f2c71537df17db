"""Signing in and out: Flask-Login users, throttling, sign-in records, fresh
authentication for approvals, the language switch.

``get_id()`` is ``"<user id>:<session token>"``; the loader refuses a cookie whose
token no longer matches the user's row, so rotating ``users.session_token`` (on a
password, role, unit or active-flag change, or "sign out everywhere") ends every
session of that user. There is no remember-me cookie.

Every sign-in attempt, password confirmation and sign-out is a ``login_events`` row
(:mod:`engine.signins`), written in its own transaction; a failure to write it is
logged and does not stop the sign-in. The lines also go to the ``perfeval.security``
logger (and the instance folder's ``security.log``).

Throttling is derived from those rows, so it holds across several web workers and
restarts: after ``LOGIN_MAX_FAILURES`` failures of one (user name, address) pair within
``LOGIN_LOCK_SECONDS`` (and since that pair's last success) the pair is locked until
the oldest failure leaves the window; one address is also locked after
``LOGIN_MAX_FAILURES_PER_ADDRESS`` failures over all user names (password spraying).
A single account is not locked from every address, so nobody can lock an official
out by typing their name wrongly from elsewhere.

Fresh authentication: triggers matching ``FRESH_AUTH_TRIGGERS`` (approvals, filing,
publication, finalisation, forced steps, score confirmation) need a password entered
within ``FRESH_AUTH_SECONDS``; sign-in and :func:`confirm` stamp ``session["auth_at"]``,
and :func:`fresh_auth_redirect` sends a stale session to ``/auth/confirm``.
"""

from __future__ import annotations

import fnmatch
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField
from wtforms.validators import DataRequired

from engine import Actor
from engine.clock import utcnow
from engine.models import User
from engine.people import authenticate, rotate_session_token
from engine.signins import failures_since, record_login

from .extensions import login_manager
from .i18n import LOCALES
from .views.common import get_db

__all__ = ["WebUser", "bp", "fresh_auth_redirect", "init_app", "load_web_user",
           "needs_fresh_auth", "rotate_session_token", "stamp_auth", "start_session"]

security_log = logging.getLogger("perfeval.security")
bp = Blueprint("auth", __name__)
_users = User.__table__

FRESH_AUTH_TRIGGERS = ("approve*", "file*", "publish*", "finalise*", "finalize*", "force*",
                       "confirm_scores", "record_result", "submit_results", "apply_results",
                       "adjust", "uphold", "decide", "put_in_force")
SETTINGS = {"LOGIN_MAX_FAILURES": 5, "LOGIN_LOCK_SECONDS": 15 * 60,
            "LOGIN_MAX_FAILURES_PER_ADDRESS": 20, "FRESH_AUTH_SECONDS": 15 * 60,
            "FRESH_AUTH_TRIGGERS": FRESH_AUTH_TRIGGERS}


@dataclass
class WebUser(UserMixin):
    """The signed-in user as the web layer sees it."""

    id: int
    username: str
    display_name: str
    unit_id: int | None
    roles: tuple[str, ...]
    session_token: str

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def actor(self) -> Actor:
        """The engine actor for this user."""
        return Actor(self.id, self.username, self.unit_id, frozenset(self.roles))

    def has_any(self, *roles: str) -> bool:
        """True when the user holds one of ``roles``."""
        return any(r in self.roles for r in roles)


def load_web_user(db, user_id: int) -> WebUser | None:
    """The active user ``user_id``, or None."""
    with db.read() as conn:
        row = conn.execute(select(_users.c.id, _users.c.username, _users.c.display_name,
                                  _users.c.unit_id, _users.c.roles, _users.c.session_token,
                                  _users.c.active).where(_users.c.id == user_id)).first()
    if row is None or not row.active:
        return None
    return WebUser(row.id, row.username, row.display_name or row.username, row.unit_id,
                   tuple(row.roles or ()), row.session_token or "")


@login_manager.user_loader
def _load_user(user_key: str) -> WebUser | None:
    user_id, _sep, token = user_key.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = load_web_user(get_db(), int(user_id))
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


# --- records and throttling ------------------------------------------------------------


def _address() -> str:
    return request.remote_addr or "-"


def _record(kind: str, outcome: str, username: str, user_id: int | None) -> None:
    level = logging.INFO if outcome in ("success", "logout") else logging.WARNING
    word = {"success": "ok", "bad_password": "failed", "unknown_user": "failed",
            "inactive": "failed"}.get(outcome, outcome)
    security_log.log(level, "%s %s user=%s addr=%s reason=%s", kind, word, username,
                     _address(), outcome)
    record_login(get_db(), kind=kind, outcome=outcome, username=username, user_id=user_id,
                 address=_address(), user_agent=request.user_agent.string)


def is_locked(username: str, address: str) -> bool:
    """True when the pair, or the address as a whole, has used up its failures in the
    window (counted from ``login_events``). A database error counts as not locked:
    the password check that follows fails the same way."""
    cfg = current_app.config
    since = utcnow() - timedelta(seconds=cfg["LOGIN_LOCK_SECONDS"])
    try:
        db = get_db()
        return (failures_since(db, since, address=address, username=username)
                >= cfg["LOGIN_MAX_FAILURES"]
                or failures_since(db, since, address=address)
                >= cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"])
    except Exception:  # noqa: BLE001 - logged; the sign-in itself will report the outage
        security_log.exception("could not read login_events for the throttle")
        return False


# --- fresh authentication ----------------------------------------------------------------


def _now_ts() -> float:
    return utcnow().replace(tzinfo=timezone.utc).timestamp()


def stamp_auth() -> None:
    """Record in the session that the user has just entered their password."""
    session["auth_at"] = _now_ts()


def needs_fresh_auth(trigger: str) -> bool:
    """True when ``trigger`` matches a ``FRESH_AUTH_TRIGGERS`` pattern and the session's
    password stamp is older than ``FRESH_AUTH_SECONDS`` (or missing)."""
    patterns = current_app.config["FRESH_AUTH_TRIGGERS"]
    if not any(fnmatch.fnmatchcase(trigger, p) for p in patterns):
        return False
    stamped = session.get("auth_at")
    return not isinstance(stamped, (int, float)) or \
        _now_ts() - stamped > current_app.config["FRESH_AUTH_SECONDS"]


#: Fields of the confirmation form itself, never carried over from the held action.
_OWN_FIELDS = frozenset({"csrf_token", "password", "next", "resume"})


def fresh_auth_redirect(trigger: str, back: str):
    """When ``trigger`` needs a fresh password: the confirmation page, holding the
    posted action (its comment and fields ride along as hidden inputs, so nothing typed
    is lost; on a correct password :func:`confirm` re-posts them to the same URL with a
    307). None when the action may go ahead."""
    held = session.pop("fresh_pass", None)  # the one action just confirmed goes through
    if not needs_fresh_auth(trigger) or (held == request.path and request.method == "POST"):
        return None
    flash(_("此操作需要再次输入密码确认身份。"), "error")
    if request.method != "POST":
        return redirect(url_for("auth.confirm", next=back))
    carry = [(k, v) for k, v in request.form.items(multi=True) if k not in _OWN_FIELDS]
    return render_template("auth/confirm.html", form=ConfirmForm(), next=back,
                           resume=request.path, carry=carry, trigger=trigger), 200


class ConfirmForm(FlaskForm):
    """Re-enter the password (fresh authentication)."""

    password = PasswordField(validators=[DataRequired()])


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else My tasks. Browsers read ``\\`` as
    ``/`` and drop tabs and newlines, so ``/\\evil.example`` would leave the site too."""
    if target and not any(c == "\\" or ord(c) < 0x20 or c == "\x7f" for c in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//"):
            return target
    return url_for("tasks.index")


def _user_locale(db, user_id: int) -> str | None:
    try:
        from notifications import get_preferences

        return get_preferences(db, user_id).locale
    except Exception:  # noqa: BLE001 - no preference table yet: default language
        return None


# --- pages -------------------------------------------------------------------------------


def start_session(user: WebUser, *, keep_lang: str | None = None) -> None:
    """Sign ``user`` in on a fresh session (stamped as freshly authenticated)."""
    session.clear()
    login_user(user, remember=False)
    session.permanent = True
    if keep_lang:
        session["lang"] = keep_lang
    stamp_auth()


@bp.route("/login", methods=("GET", "POST"))
def login():
    """The sign-in form."""
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    if is_locked(username, _address()):
        _record("login", "locked", username, None)
        flash(_("登录失败次数过多,请稍后再试。"), "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), 429
    db = get_db()
    outcome, actor = authenticate(db, username, password) if username else ("unknown_user", None)
    user = load_web_user(db, actor.user_id) if actor else None
    if user is None:
        _record("login", outcome if actor is None else "inactive", username,
                actor.user_id if actor else None)
        flash(_("用户名或密码错误。"), "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), 401
    _record("login", "success", username, user.id)
    start_session(user, keep_lang=session.get("lang") or _user_locale(db, user.id)
                  or current_app.config["BABEL_DEFAULT_LOCALE"])
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/auth/confirm", methods=("GET", "POST"))
@login_required
def confirm():
    """Re-enter the password before an approval (fresh authentication)."""
    form = ConfirmForm()
    target = request.values.get("next", "")
    resume = request.form.get("resume", "")
    resume = resume if resume and _safe_next(resume) == resume else ""
    carry = [(k, v) for k, v in request.form.items(multi=True) if k not in _OWN_FIELDS] \
        if resume else []
    if request.method == "POST":
        if is_locked(current_user.username, _address()):
            _record("confirm", "locked", current_user.username, current_user.id)
            flash(_("登录失败次数过多,请稍后再试。"), "error")
            return render_template("auth/confirm.html", form=form, next=target), 429
        if form.validate_on_submit():
            outcome, actor = authenticate(get_db(), current_user.username, form.password.data)
            _record("confirm", outcome, current_user.username, current_user.id)
            if actor is not None:
                stamp_auth()
                if resume:  # carry out the held action: the browser re-posts its fields
                    session["fresh_pass"] = resume  # once, whatever FRESH_AUTH_SECONDS
                    return redirect(resume, code=307)
                return redirect(_safe_next(target))
        flash(_("密码错误。"), "error")
        return render_template("auth/confirm.html", form=form, next=target, resume=resume,
                               carry=carry), 401
    return render_template("auth/confirm.html", form=form, next=target)


@bp.route("/logout", methods=("POST",))
def logout():
    """Sign out (POST, with the CSRF token)."""
    if current_user.is_authenticated:
        _record("logout", "logout", current_user.username, current_user.id)
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))


@bp.route("/lang", methods=("POST",))
def set_language():
    """Switch the language for this session (and remember it for a signed-in user)."""
    choice = request.form.get("lang", "")
    if choice in LOCALES:
        session["lang"] = choice
        if current_user.is_authenticated:
            try:
                from notifications import set_preferences

                set_preferences(get_db(), current_user.id, locale=choice)
            except Exception:  # noqa: BLE001 - the session choice still applies
                security_log.warning("could not store locale for %s", current_user.username)
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/account/sessions", methods=("POST",))
@login_required
def end_sessions():
    """Sign out everywhere: rotate the session token."""
    rotate_session_token(get_db(), current_user.id)
    logout_user()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Default settings, and sign-in lines in the instance folder's security.log."""
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    if app.config.get("TESTING"):
        return
    try:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(Path(app.instance_path) / "security.log", encoding="utf-8")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    if not any(isinstance(h, logging.FileHandler) for h in security_log.handlers):
        security_log.addHandler(handler)
        security_log.setLevel(logging.INFO)
    else:
        handler.close()
