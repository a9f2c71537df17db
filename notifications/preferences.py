"""Per-user notification preferences and webhook endpoints.

Preferences: ``locale`` (``zh_CN`` default, or ``en``), ``email`` and ``webhook`` on
or off (the in-app inbox is always on), and ``digest`` (fold the day's reminder
emails into one). Endpoints: a user's own webhook, or a group-chat robot subscribed
to the events of some roles (optionally of one unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select, update

from engine.clock import utcnow
from engine.db import Database
from engine.exceptions import InvalidInput, NotFound
from engine.models import Unit, User
from workflow.roles import ROLES

from .channels.webhook import STYLES
from .config import LOCALES, default_locale, normalize_locale
from .models import Preference, WebhookEndpoint

_p, _w = Preference.__table__, WebhookEndpoint.__table__


@dataclass(frozen=True)
class Preferences:
    """One user's effective preferences (defaults when never saved)."""

    locale: str
    email: bool = True
    webhook: bool = True
    digest: bool = False


def get_preferences(db: Database, user_id: int) -> Preferences:
    """The user's preferences, or the defaults."""
    with db.read() as conn:
        row = conn.execute(select(_p).where(_p.c.user_id == user_id)).first()
    if row is None:
        return Preferences(default_locale())
    return Preferences(normalize_locale(row.locale), row.email, row.webhook, row.digest)


def set_preferences(db: Database, user_id: int, *, locale: str | None = None,
                    email: bool | None = None, webhook: bool | None = None,
                    digest: bool | None = None) -> Preferences:
    """Change some preferences (``None`` keeps the current value); returns them all."""
    if locale is not None and locale not in LOCALES:
        raise InvalidInput(f"不支持的语言 {locale} — locale must be one of {', '.join(LOCALES)}")
    current = get_preferences(db, user_id)
    new = Preferences(locale or current.locale, current.email if email is None else email,
                      current.webhook if webhook is None else webhook,
                      current.digest if digest is None else digest)
    with db.write() as conn:
        if conn.execute(select(User.id).where(User.id == user_id)).first() is None:
            raise NotFound(f"没有编号为 {user_id} 的用户 — no user {user_id}", user=user_id)
        values = {**new.__dict__, "updated_at": utcnow()}
        if conn.execute(update(_p).where(_p.c.user_id == user_id).values(**values)).rowcount == 0:
            conn.execute(_p.insert().values(user_id=user_id, **values))
    return new


def add_webhook(db: Database, name: str, url: str, *, secret: str = "", style: str = "json",
                roles: Iterable[str] = (), unit_code: str | None = None,
                user_id: int | None = None, locale: str | None = None) -> int:
    """Register an endpoint: a user's own (``user_id``) or one subscribed to ``roles``."""
    roles = list(dict.fromkeys(roles))
    if urlsplit(url).scheme not in ("http", "https"):
        raise InvalidInput(f"Webhook 地址须以 http(s):// 开头 — not an http(s) URL: {url!r}")
    if style not in STYLES:
        raise InvalidInput(f"未知样式 {style} — style must be one of {', '.join(STYLES)}")
    if [r for r in roles if r not in ROLES] or (user_id is None and not roles):
        raise InvalidInput(f"角色无效 — give a user or known roles (got {roles or 'none'})")
    with db.write() as conn:
        unit_id = None
        if unit_code:
            unit_id = conn.execute(select(Unit.id).where(Unit.code == unit_code)).scalar()
            if unit_id is None:
                raise NotFound(f"没有单位编码 {unit_code} — no unit {unit_code!r}")
        return conn.execute(_w.insert().values(
            name=name, url=url, secret=secret, style=style, roles=roles, unit_id=unit_id,
            user_id=user_id, locale=normalize_locale(locale or default_locale()), active=True,
            created_at=utcnow()).returning(_w.c.id)).scalar_one()


def list_webhooks(db: Database) -> list[dict]:
    """Every endpoint (secrets included: for administrators only)."""
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(_w).order_by(_w.c.id))]


def set_webhook_active(db: Database, endpoint_id: int, active: bool) -> None:
    """Switch an endpoint on or off (off: no new deliveries are created for it)."""
    with db.write() as conn:
        if not conn.execute(update(_w).where(_w.c.id == endpoint_id)
                            .values(active=active)).rowcount:
            raise NotFound(f"没有编号为 {endpoint_id} 的 Webhook — no endpoint {endpoint_id}")
