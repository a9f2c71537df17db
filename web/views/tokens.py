"""Personal API tokens in the web UI: each user's own (``/account/tokens``) and, for
admins, everyone's (``/admin/tokens``).

Creating a token happens here (or in the CLI), never with a token: the secret is shown
once, on the page that answers the creating POST, and never again (only its SHA-256 is
stored). Revoking asks for confirmation (a page with a POST form). A user's token that
belongs to someone else is a 404 — the page does not confirm it exists.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from engine.exceptions import InvalidInput, NotFound
from engine.models import User

from ..api import tokens
from ..api.me import token_days
from .common import ADMIN_ROLES, get_db, roles_required

bp = Blueprint("tokens", __name__)


def _days(raw: str | None) -> int | None:
    """The form's validity in days (None: the default); InvalidInput if not a number."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 6:
        raise InvalidInput(_("有效期须为天数。"), field="expires_days")
    return int(raw)


def _create(username: str, *, admin: bool):
    """Create from the posted form; the page showing the secret once, or the list
    again with the error (422)."""
    try:
        info, secret = tokens.create_token(
            get_db(), username, request.form.get("name", ""), created_by=current_user.username,
            days=_days(request.form.get("expires_days")), **token_days())
    except (InvalidInput, NotFound) as exc:
        flash(exc.message, "error")
        return _listing(admin=admin, status=404 if isinstance(exc, NotFound) else 422)
    return render_template("tokens/created.html", info=info, secret=secret, admin=admin)


def _listing(*, admin: bool, status: int = 200):
    db = get_db()
    rows = tokens.list_tokens(db, None if admin else current_user.id)
    usernames = []
    if admin:
        with db.read() as conn:
            usernames = list(conn.execute(select(User.username).where(User.active.is_(True))
                                          .order_by(User.username)).scalars())
    return render_template("tokens/list.html", tokens=rows, admin=admin, usernames=usernames,
                           **token_days()), status


def _own_token(token_id: int):
    """The signed-in user's token ``token_id`` (404 for anyone else's, or none)."""
    try:
        info = tokens.get_token(get_db(), token_id)
    except NotFound:
        abort(404)
    if info.user_id != current_user.id:
        abort(404)
    return info


def _any_token(token_id: int):
    try:
        return tokens.get_token(get_db(), token_id)
    except NotFound:
        abort(404)


@bp.route("/account/tokens")
@login_required
def mine():
    """The signed-in user's tokens, and the form to create one."""
    return _listing(admin=False)


@bp.route("/account/tokens", methods=("POST",))
@login_required
def create_mine():
    """Create a token for the signed-in user; its secret is shown once."""
    return _create(current_user.username, admin=False)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=("GET", "POST"))
@login_required
def revoke_mine(token_id: int):
    """Confirm (GET), then revoke (POST) one of the signed-in user's tokens."""
    return _revoke(_own_token(token_id), admin=False)


@bp.route("/admin/tokens")
@roles_required(*ADMIN_ROLES)
def admin_index():
    """Every user's tokens; create one for a user; revoke any."""
    return _listing(admin=True)


@bp.route("/admin/tokens", methods=("POST",))
@roles_required(*ADMIN_ROLES)
def admin_create():
    """Create a token for the chosen user; its secret is shown once."""
    return _create(request.form.get("username", ""), admin=True)


@bp.route("/admin/tokens/<int:token_id>/revoke", methods=("GET", "POST"))
@roles_required(*ADMIN_ROLES)
def admin_revoke(token_id: int):
    """Confirm (GET), then revoke (POST) any user's token."""
    return _revoke(_any_token(token_id), admin=True)


def _revoke(info, *, admin: bool):
    back = url_for("tokens.admin_index" if admin else "tokens.mine")
    if request.method == "GET":
        return render_template("tokens/revoke.html", info=info, admin=admin, back=back)
    tokens.revoke_token(get_db(), info.id)
    flash(_("令牌 %(prefix)s… 已撤销,立即失效。", prefix=info.prefix), "ok")
    return redirect(back)
