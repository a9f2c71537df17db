"""The web UI's application factory (server-rendered pages, no build step).

``create_app(test_config=None)`` reads its settings from the environment
(``PERFEVAL_DATABASE_URL``, ``PERFEVAL_SECRET_KEY``, ``PERFEVAL_SECURE_COOKIES``,
``PERFEVAL_LOCALE``), binds the extensions, registers one blueprint per surface and
the error pages. Nothing is created at import time.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask

from engine import Database

from . import auth, errors, i18n
from .extensions import csrf, login_manager
from .api import bp as api_bp
from .views import admin, audit, cycles, instances, office, results, systems, tasks
from .views import account
from .views import tokens as token_views

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                "script-src 'self'; object-src 'none'; base-uri 'self'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def default_config() -> dict:
    """Settings from the environment, with working (secure) defaults."""
    secret = os.environ.get("PERFEVAL_SECRET_KEY")
    secure = _flag("PERFEVAL_SECURE_COOKIES", True)
    return {
        "SECRET_KEY": secret,
        "DATABASE_URL": os.environ.get("PERFEVAL_DATABASE_URL"),
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "perfeval_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        "BABEL_DEFAULT_LOCALE": os.environ.get("PERFEVAL_LOCALE", "zh_CN"),
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("PERFEVAL_TIMEZONE", "Asia/Shanghai"),
        # attachments (engine.attachments): folder (default <instance>/attachments) and
        # size limit; MAX_CONTENT_LENGTH follows the limit (+1 MiB for the form) unless set
        "ATTACHMENT_DIR": os.environ.get("PERFEVAL_ATTACHMENT_DIR"),
        "ATTACHMENT_MAX_BYTES": int(os.environ.get("PERFEVAL_ATTACHMENT_MAX_BYTES")
                                    or 20 * 1024 * 1024),
        "MAX_CONTENT_LENGTH": None,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_SECONDS": 15 * 60,
        # personal API tokens (web.api.tokens): validity when none is asked for, and the cap
        "API_TOKEN_DEFAULT_DAYS": int(os.environ.get("PERFEVAL_API_TOKEN_DEFAULT_DAYS") or 90),
        "API_TOKEN_MAX_DAYS": int(os.environ.get("PERFEVAL_API_TOKEN_MAX_DAYS") or 365),
        "DB": None,  # an engine.Database to use instead of DATABASE_URL (tests, demo)
    }


def create_app(test_config: dict | None = None) -> Flask:
    """Build the perfeval web application."""
    app = Flask(__name__, instance_path=os.environ.get("PERFEVAL_INSTANCE_PATH")
                or str(Path.cwd() / "instance"))
    app.config.update(default_config())
    if test_config:
        app.config.update(test_config)
    if app.config["MAX_CONTENT_LENGTH"] is None:
        app.config["MAX_CONTENT_LENGTH"] = app.config["ATTACHMENT_MAX_BYTES"] + 1024 * 1024
    if not app.config["SECRET_KEY"]:
        log.warning("PERFEVAL_SECRET_KEY is not set: using a random key (sessions end "
                    "when the process restarts; set it when running several workers)")
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.extensions["perfeval.db"] = app.config["DB"] or Database(app.config["DATABASE_URL"])
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    for blueprint in (auth.bp, tasks.bp, instances.bp, office.bp, results.bp, audit.bp,
                      admin.bp, api_bp, cycles.bp, account.bp, token_views.bp, systems.bp):
        app.register_blueprint(blueprint)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
