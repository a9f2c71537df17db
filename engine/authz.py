"""Who may do what: actors, role choice and unit confinement.

Transitions are *protected by default*: a transition with no role the actor holds is
refused. Unit-scoped roles act only on instances of the actor's own unit; read-only
roles (auditors) never change anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from workflow.roles import ROLES, is_read_only, is_unit_role

from .exceptions import NotPermitted


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf the engine acts (resolved once per request)."""

    user_id: int | None
    username: str
    unit_id: int | None
    roles: frozenset[str]

    @classmethod
    def system(cls) -> "Actor":
        """The scheduler's own identity (role ``system``)."""
        return cls(None, "system", None, frozenset({"system"}))

    @property
    def is_org_wide(self) -> bool:
        """True when at least one role is organisation-wide (office, auditor, …)."""
        return any(not is_unit_role(r) for r in self.roles)


def role_label(role: str) -> str:
    """``单位负责人 (unit_head)`` for messages."""
    known = ROLES.get(role)
    return f"{known.label.zh} ({role})" if known else role


def usable_role(actor: Actor, allowed: Iterable[str], subject_unit_id: int | None,
                prefer: str | None = None) -> str | None:
    """The role ``actor`` may use among ``allowed`` on a subject of ``subject_unit_id``,
    or None. ``prefer`` picks that role when it qualifies."""
    candidates = [r for r in allowed if r in actor.roles and not is_read_only(r)
                  and (not is_unit_role(r) or (actor.unit_id is not None
                                               and actor.unit_id == subject_unit_id))]
    if prefer is not None:
        return prefer if prefer in candidates else None
    return candidates[0] if candidates else None


def denial(actor: Actor, allowed: Iterable[str], subject_unit_id: int | None,
           action: str, **context) -> NotPermitted:
    """The :class:`NotPermitted` explaining which role is needed (or the unit rule)."""
    allowed = [r for r in allowed if not is_read_only(r)]
    held = [r for r in allowed if r in actor.roles]
    if held and all(is_unit_role(r) for r in held):
        return NotPermitted(
            f"单位用户只能办理本单位的事项 — {action} is confined to the actor's own unit",
            action=action, needed_roles=allowed, **context)
    names = "、".join(role_label(r) for r in allowed) or "—"
    return NotPermitted(f"需要角色 {names} 才能执行 {action} — requires one of the roles "
                        f"{', '.join(allowed) or '(none declared)'}",
                        action=action, needed_roles=allowed, **context)


def require_admin(actor: Actor, action: str = "admin") -> None:
    """Refuse with :class:`NotPermitted` unless ``actor`` holds the ``admin`` role (user
    accounts, calendar overrides: administration outside any workflow)."""
    if "admin" not in actor.roles:
        raise NotPermitted("需要系统管理员角色 — requires the admin role", action=action)


def can_read(actor: Actor, subject_unit_id: int | None) -> bool:
    """Organisation-wide roles read everything; unit roles read their own unit only."""
    return actor.is_org_wide or (actor.unit_id is not None and actor.unit_id == subject_unit_id)
