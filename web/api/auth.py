"""Who is calling: a bearer token, or the browser session (then CSRF applies).

The API blueprint is exempt from the application-wide CSRF check; instead, a request
without ``Authorization`` that rides on the session cookie is CSRF-checked here when
its method is unsafe (send the token as ``X-CSRFToken``). Bearer requests carry no
ambient credentials, so they need no CSRF token. Anything else is a 401 (an expired
token: code ``token_expired``).

Some operations need the session itself (:func:`require_session`): a token cannot
mint tokens, so a leaked token cannot be used to keep access beyond its own expiry
or revocation.
"""

from __future__ import annotations

from flask import g, request
from flask_login import current_user

from engine import Actor

from ..auth import WebUser, load_web_user
from ..extensions import csrf
from ..views.common import get_db
from . import tokens
from .errors import ApiError
from .serialize import iso

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
PUBLIC = ("/api/openapi.json",)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def authenticate() -> None:
    """Resolve ``g.api_user`` and ``g.api_auth`` for this request (before the view)."""
    if request.path in PUBLIC:
        return
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _sep, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise _unauthorized("Authorization 须为 Bearer 令牌 — use Authorization: Bearer <token>")
        db = get_db()
        try:
            user_id = tokens.authenticate(db, secret.strip())
        except tokens.TokenExpired as exp:
            raise ApiError(401, "token_expired", "令牌已过期,请新建令牌 — the token has "
                           "expired; create a new one", {"token_id": exp.token_id,
                                                         "expired_at": iso(exp.expires_at)}
                           ) from None
        user = load_web_user(db, user_id) if user_id is not None else None
        if user is None:
            raise _unauthorized("令牌无效或已撤销 — the token is invalid or revoked")
        g.api_user, g.api_auth = user, "token"
        return
    if not current_user.is_authenticated:
        raise _unauthorized("请先登录或使用 API 令牌 — sign in, or send a bearer token")
    if request.method not in SAFE_METHODS:
        csrf.protect()
    g.api_user, g.api_auth = current_user._get_current_object(), "session"


def api_user() -> WebUser:
    """The calling user."""
    return g.api_user


def api_actor() -> Actor:
    """The calling user's engine actor (their current roles and unit)."""
    return g.api_user.actor


def require(*roles: str) -> None:
    """403 unless the caller holds one of ``roles``."""
    if not api_user().has_any(*roles):
        raise ApiError(403, "forbidden", "无权访问 — this needs one of the roles: "
                       + ", ".join(roles), {"needed_roles": list(roles)})


def require_session() -> None:
    """403 ``session_required`` unless the caller signed in with the browser session."""
    if g.get("api_auth") != "session":
        raise ApiError(403, "session_required", "此操作须在网页登录后进行,令牌不能创建令牌 — "
                       "sign in to the web UI (session with CSRF) or use the CLI: a token "
                       "cannot create tokens", {"auth": g.get("api_auth")})
