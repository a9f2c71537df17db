"""Who receives an event: users holding its roles, their preferences, webhook endpoints.

A unit-scoped role (unit staff, unit head) reaches only the users of the event's
subject unit; an organisation-wide role (office, committee, leader, …) reaches every
user holding it. Inactive users receive nothing. The directory is read once per
dispatch call, not per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import Connection, select

from engine.models import User
from workflow.roles import is_unit_role

from .config import default_locale, normalize_locale
from .models import Preference, WebhookEndpoint

_u, _p, _w = User.__table__, Preference.__table__, WebhookEndpoint.__table__


@dataclass(frozen=True)
class Recipient:
    """A user who will be notified, with their channel preferences."""

    user_id: int
    username: str
    name: str
    email: str | None
    unit_id: int | None
    locale: str
    email_on: bool
    webhook_on: bool
    digest: bool


class Directory:
    """Users by role, preferences and endpoints, loaded once."""

    def __init__(self, recipients: Iterable[tuple[Recipient, tuple[str, ...]]],
                 endpoints: list[dict[str, Any]]) -> None:
        self.by_role: dict[str, list[Recipient]] = {}
        for recipient, roles in recipients:
            for role in roles:
                self.by_role.setdefault(role, []).append(recipient)
        self.endpoints = endpoints

    @classmethod
    def load(cls, conn: Connection) -> "Directory":
        """Read active users, their preferences and active endpoints."""
        prefs = {r.user_id: r for r in conn.execute(select(_p))}
        locale = default_locale()
        people = []
        for u in conn.execute(select(_u.c.id, _u.c.username, _u.c.display_name, _u.c.email,
                                     _u.c.unit_id, _u.c.roles).where(_u.c.active.is_(True))):
            p = prefs.get(u.id)
            people.append((Recipient(
                u.id, u.username, u.display_name or u.username, u.email or None, u.unit_id,
                normalize_locale(p.locale) if p else locale, p.email if p else True,
                p.webhook if p else True, p.digest if p else False), tuple(u.roles or ())))
        endpoints = [dict(r._mapping) for r in
                     conn.execute(select(_w).where(_w.c.active.is_(True)).order_by(_w.c.id))]
        return cls(people, endpoints)

    def users(self, roles: Iterable[str], unit_id: int | None,
              exclude: str | None = None) -> list[Recipient]:
        """Users holding any of ``roles`` (unit roles only within ``unit_id``), each
        once, in a stable order; ``exclude`` drops one username (the actor)."""
        found: dict[int, Recipient] = {}
        for role in roles:
            unit_scoped = is_unit_role(role)
            for r in self.by_role.get(role, ()):
                if unit_scoped and (unit_id is None or r.unit_id != unit_id):
                    continue
                if r.username != exclude:
                    found.setdefault(r.user_id, r)
        return sorted(found.values(), key=lambda r: r.user_id)

    def group_endpoints(self, roles: Iterable[str], unit_id: int | None) -> list[dict]:
        """Subscribed endpoints (no owner) for any of ``roles``, of ``unit_id`` or
        organisation-wide."""
        wanted = set(roles)
        return [e for e in self.endpoints if e["user_id"] is None
                and wanted & set(e["roles"] or ()) and e["unit_id"] in (None, unit_id)]

    def personal_endpoints(self, user_id: int) -> list[dict]:
        """Endpoints a user registered for themself."""
        return [e for e in self.endpoints if e["user_id"] == user_id]
