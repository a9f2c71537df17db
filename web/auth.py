"""Signing in and out: Flask-Login users, throttling, login records, the language switch.

``get_id()`` is ``"<user id>:<session token>"``; the loader refuses a cookie whose
token no longer matches the user's row, so rotating ``users.session_token`` (on a
password or role change, or "sign out everywhere") ends every session of that user.
There is no remember-me cookie. Failed sign-ins are counted per account and per
client address; too many in the window lock that pair for a while. Every sign-in,
failure and lock is logged to the ``perfeval.security`` logger (and the instance
folder's ``security.log``).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from sqlalchemy import select, update

from engine import Actor, check_password
from engine.models import User

from .extensions import login_manager
from .i18n import LOCALES
from .views.common import get_db

security_log = logging.getLogger("perfeval.security")
bp = Blueprint("auth", __name__)
_users = User.__table__


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


def rotate_session_token(db, user_id: int) -> str:
    """Give the user a new session token: every existing session of theirs ends."""
    token = secrets.token_hex(16)
    with db.write() as conn:
        conn.execute(update(_users).where(_users.c.id == user_id).values(session_token=token))
    return token


class Throttle:
    """Failed sign-ins per (account, address) in a sliding window (per process)."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key, window: float) -> deque:
        entries = self._failures[key]
        while entries and time.monotonic() - entries[0] > window:
            entries.popleft()
        return entries

    def locked(self, username: str, address: str) -> bool:
        """True when the pair has used up its failures in the window."""
        cfg = current_app.config
        with self._lock:
            return len(self._recent((username, address), cfg["LOGIN_LOCK_SECONDS"])) \
                >= cfg["LOGIN_MAX_FAILURES"]

    def fail(self, username: str, address: str) -> None:
        """Count one failure."""
        with self._lock:
            self._failures[(username, address)].append(time.monotonic())

    def clear(self, username: str, address: str) -> None:
        """Forget the pair's failures (after a successful sign-in)."""
        with self._lock:
            self._failures.pop((username, address), None)


def _safe_next(target: str | None) -> str:
    if target:
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


@bp.route("/login", methods=("GET", "POST"))
def login():
    """The sign-in form."""
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr or "-"
    throttle: Throttle = current_app.extensions["perfeval.throttle"]
    if throttle.locked(username, address):
        security_log.warning("login locked user=%s addr=%s", username, address)
        flash(_("登录失败次数过多,请稍后再试。"), "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), 429
    db = get_db()
    actor = check_password(db, username, password) if username else None
    if actor is None:
        throttle.fail(username, address)
        security_log.warning("login failed user=%s addr=%s", username, address)
        flash(_("用户名或密码错误。"), "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), 401
    throttle.clear(username, address)
    user = load_web_user(db, actor.user_id)
    session.clear()
    login_user(user, remember=False)
    session.permanent = True
    session["lang"] = session.get("lang") or _user_locale(db, user.id) or \
        current_app.config["BABEL_DEFAULT_LOCALE"]
    security_log.info("login ok user=%s addr=%s", username, address)
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=("POST",))
def logout():
    """Sign out (POST, with the CSRF token)."""
    if current_user.is_authenticated:
        security_log.info("logout user=%s", current_user.username)
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
    """The throttle, and login records in the instance folder's security.log."""
    app.extensions["perfeval.throttle"] = Throttle()
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
