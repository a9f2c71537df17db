"""Helpers every blueprint shares: the database, the actor, role checks, loaders."""

from __future__ import annotations

import functools
from typing import Callable

from flask import abort, current_app
from flask_login import current_user, login_required

from engine import Database, NotFound, NotPermitted, get_instance

OFFICE_ROLES = ("office", "committee", "leader", "admin")
AUDIT_ROLES = ("auditor", "office", "admin")
ADMIN_ROLES = ("admin",)
#: The years a page accepts (a larger number would not fit the database's integer).
YEARS = range(1, 10000)


def get_db() -> Database:
    """The application's :class:`engine.Database`."""
    return current_app.extensions["perfeval.db"]


def actor():
    """The signed-in user's engine actor."""
    return current_user.actor


def roles_required(*roles: str) -> Callable:
    """A view decorator: signed in, and holding one of ``roles`` (else 403)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.has_any(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def load_instance(instance_id: int):
    """The instance as the actor may see it; another unit's instance is a 404."""
    try:
        return get_instance(get_db(), instance_id, actor())
    except (NotFound, NotPermitted):
        abort(404)
