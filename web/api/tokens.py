"""Personal API tokens: created once (shown once), stored as a SHA-256 hash, revocable.

A token is ``pe_`` + ``secrets.token_urlsafe(32)``; only its SHA-256 (hex) and its
first characters (to tell tokens apart in a list) are stored. A token acts as its
user with the user's *current* roles and unit — removing a role or deactivating the
user takes effect on the token at once. Each use records ``last_used_at`` (at most
once a minute, so reads do not all become writes).

Every token expires: it is issued for a number of days (``DEFAULT_DAYS`` unless the
caller says otherwise, at most ``MAX_DAYS``; the web app passes its
``API_TOKEN_DEFAULT_DAYS``/``API_TOKEN_MAX_DAYS``). Presenting an expired token raises
:class:`TokenExpired` so the API can say so (401 ``token_expired``) rather than
"invalid".
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (BigInteger, Column, DateTime, Integer, MetaData, String, Table, insert,
                        select, update)

from engine.clock import utcnow
from engine.db import Database
from engine.exceptions import InvalidInput, NotFound
from engine.models import User

PREFIX = "pe_"
DEFAULT_DAYS = 90
MAX_DAYS = 365
TOUCH_EVERY = timedelta(minutes=1)
_meta = MetaData()
api_tokens = Table(
    "api_tokens", _meta,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("user_id", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime),
    Column("revoked_at", DateTime),
    Column("expires_at", DateTime),
)
_t, _u = api_tokens, User.__table__


@dataclass(frozen=True)
class TokenInfo:
    """One token as listed (never the secret)."""

    id: int
    user_id: int
    username: str
    name: str
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None

    def expired(self, now: datetime | None = None) -> bool:
        """True once the token's expiry has passed."""
        return self.expires_at is not None and (now or utcnow()) >= self.expires_at

    def status(self, now: datetime | None = None) -> str:
        """``revoked``, ``expired`` or ``active``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired(now) else "active"


class TokenExpired(Exception):
    """A known, unrevoked token whose expiry has passed."""

    def __init__(self, token_id: int, expires_at: datetime) -> None:
        super().__init__(f"token {token_id} expired at {expires_at:%Y-%m-%d %H:%M} UTC")
        self.token_id, self.expires_at = token_id, expires_at


def check_days(days: int | None, max_days: int = MAX_DAYS,
               default_days: int = DEFAULT_DAYS) -> int:
    """The validity in days a creation asks for: ``default_days`` when None, otherwise
    1 to ``max_days`` (InvalidInput beyond). Settings can lower the cap, never raise it
    above ``MAX_DAYS`` (the API schema's maximum)."""
    max_days = max(1, min(max_days, MAX_DAYS))
    if days is None:
        return max(1, min(default_days, max_days))
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= max_days:
        raise InvalidInput(f"有效期须为 1–{max_days} 天 — a token is valid for 1 to "
                           f"{max_days} days", field="expires_days")
    return days


def settings(config) -> dict[str, int]:
    """``default_days`` and ``max_days`` from an app config (``API_TOKEN_DEFAULT_DAYS``,
    ``API_TOKEN_MAX_DAYS``), the cap never above ``MAX_DAYS``, the default within it."""
    max_days = max(1, min(int(config.get("API_TOKEN_MAX_DAYS") or MAX_DAYS), MAX_DAYS))
    default = int(config.get("API_TOKEN_DEFAULT_DAYS") or DEFAULT_DAYS)
    return {"default_days": max(1, min(default, max_days)), "max_days": max_days}


def digest(secret: str) -> str:
    """The stored form of a token: SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(db: Database, username: str, name: str, *, created_by: str,
                 days: int | None = None, max_days: int = MAX_DAYS,
                 default_days: int = DEFAULT_DAYS) -> tuple[TokenInfo, str]:
    """A new token for ``username``, valid for ``days`` (see :func:`check_days`);
    returns its info and the secret (shown only now)."""
    days = check_days(days, max_days, default_days)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("令牌名称须为 1–100 个字符 — a token name has 1–100 characters",
                           field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    with db.write() as conn:
        user_id = conn.execute(select(_u.c.id).where(_u.c.username == username)).scalar()
        if user_id is None:
            raise NotFound(f"没有用户 {username} — no user {username!r}", user=username)
        now = utcnow()
        token_id = conn.execute(insert(_t).values(
            user_id=user_id, name=name, token_hash=digest(secret), prefix=secret[:10],
            created_by=created_by, created_at=now,
            expires_at=now + timedelta(days=days)).returning(_t.c.id)).scalar_one()
    return get_token(db, token_id), secret


def _select():
    return (select(_t.c.id, _t.c.user_id, _u.c.username, _t.c.name, _t.c.prefix,
                   _t.c.created_by, _t.c.created_at, _t.c.last_used_at, _t.c.revoked_at,
                   _t.c.expires_at)
            .select_from(_t.join(_u, _u.c.id == _t.c.user_id)))


def get_token(db: Database, token_id: int) -> TokenInfo:
    """One token by id (NotFound otherwise)."""
    with db.read() as conn:
        row = conn.execute(_select().where(_t.c.id == token_id)).first()
    if row is None:
        raise NotFound(f"没有编号为 {token_id} 的令牌 — no token {token_id}", token=token_id)
    return TokenInfo(*row)


def list_tokens(db: Database, user_id: int | None = None) -> list[TokenInfo]:
    """Every token (or one user's), oldest first, revoked ones included."""
    query = _select().order_by(_t.c.id)
    if user_id is not None:
        query = query.where(_t.c.user_id == user_id)
    with db.read() as conn:
        return [TokenInfo(*row) for row in conn.execute(query)]


def revoke_token(db: Database, token_id: int) -> TokenInfo:
    """Revoke a token (idempotent); it stops working at once."""
    with db.write() as conn:
        found = conn.execute(select(_t.c.id).where(_t.c.id == token_id)).scalar()
        if found is None:
            raise NotFound(f"没有编号为 {token_id} 的令牌 — no token {token_id}", token=token_id)
        conn.execute(update(_t).where(_t.c.id == token_id, _t.c.revoked_at.is_(None))
                     .values(revoked_at=utcnow()))
    return get_token(db, token_id)


def authenticate(db: Database, secret: str) -> int | None:
    """The user id a live token belongs to (recording its use), or None for an unknown
    or revoked one; :class:`TokenExpired` for an expired one (its use is not recorded)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    hashed = digest(secret)
    with db.read() as conn:
        row = conn.execute(select(_t.c.id, _t.c.user_id, _t.c.token_hash, _t.c.last_used_at,
                                  _t.c.expires_at)
                           .where(_t.c.token_hash == hashed, _t.c.revoked_at.is_(None))).first()
    if row is None or not secrets.compare_digest(row.token_hash, hashed):
        return None
    now = utcnow()
    if row.expires_at is not None and now >= row.expires_at:
        raise TokenExpired(row.id, row.expires_at)
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        with db.write() as conn:
            conn.execute(update(_t).where(_t.c.id == row.id).values(last_used_at=now))
    return row.user_id
