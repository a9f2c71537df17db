"""The role catalogue every definition's ``roles:`` must draw from.

A role is either *unit*-scoped (acts only on instances of the user's own unit) or
*organisation*-wide; ``read_only`` roles can never fire a transition or save data.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import Label


@dataclass(frozen=True)
class Role:
    """One role of the catalogue."""

    name: str
    scope: str  # "unit" | "org"
    label: Label
    read_only: bool = False


ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role("unit_staff", "unit", Label("单位经办人", "Unit staff")),
        Role("unit_head", "unit", Label("单位负责人", "Unit head")),
        Role("office", "org", Label("绩效办", "Performance office")),
        Role("committee", "org", Label("绩效评估委员会", "Evaluation committee")),
        Role("leader", "org", Label("领导", "Leadership")),
        Role("expert", "org", Label("专家评审", "Expert reviewer")),
        Role("auditor", "org", Label("审计监督", "Auditor"), read_only=True),
        Role("admin", "org", Label("系统管理员", "Administrator")),
        Role("system", "org", Label("系统", "System (scheduler)")),
    )
}


def is_unit_role(name: str) -> bool:
    """True when ``name`` is a unit-scoped role."""
    role = ROLES.get(name)
    return role is not None and role.scope == "unit"


def is_read_only(name: str) -> bool:
    """True when ``name`` may never change anything (auditors)."""
    role = ROLES.get(name)
    return role is not None and role.read_only
