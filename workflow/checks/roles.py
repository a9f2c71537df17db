"""The ``roles:`` list and every reference to a role elsewhere in a definition."""

from __future__ import annotations

from typing import Any

from ..roles import ROLES, is_read_only
from ..source import Path
from .context import Checker, one_of, suggest
from .values import sequence, unique, wrong_type


def check_roles(ck: Checker, value: Any) -> tuple[str, ...]:
    """Validate ``roles:`` (a non-empty list of catalogue roles, no duplicates)."""
    path: Path = ("roles",)
    items = sequence(ck, path, value, "a list of role names", non_empty=True)
    if items is None:
        return ()
    roles: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(items):
        if not isinstance(name, str):
            wrong_type(ck, path + (i,), name, "a role name")
        elif name not in ROLES:
            ck.error(path + (i,), f"unknown role '{name}'",
                     one_of(tuple(ROLES)), suggest(name, ROLES))
        elif unique(ck, path, i, name, seen, "role"):
            roles.append(name)
    ck.known["role"] = tuple(roles)
    return tuple(roles)


def role_reference(ck: Checker, path: Path, value: Any, action: str | None) -> str | None:
    """A role named outside ``roles:``; it must be declared there.

    ``action`` ("fire transitions", "edit data") is what the role is being allowed to
    do; read-only catalogue roles may do neither. None means no permission is granted
    (for example a role to notify).
    """
    if not isinstance(value, str):
        wrong_type(ck, path, value, "a role name")
        return None
    declared = ck.known["role"]
    if value not in ROLES and (declared is None or value not in declared):
        ck.error(path, f"unknown role '{value}'", one_of(declared or tuple(ROLES)),
                 suggest(value, declared or ROLES))
        return None
    if action is not None and is_read_only(value):
        ck.error(path, f"role '{value}' is read-only and cannot {action}",
                 "expected a role that may act, not an observer")
        return None
    if declared is not None and value not in declared:
        ck.error(path, f"role '{value}' is not declared in roles:", one_of(declared),
                 suggest(value, declared))
        return None
    return value


def role_list(ck: Checker, path: Path, value: Any, action: str | None, *,
              non_empty: bool = False) -> tuple[str, ...]:
    """A list of role references (see :func:`role_reference`), duplicates reported."""
    items = sequence(ck, path, value, "a list of role names", non_empty=non_empty)
    if items is None:
        return ()
    roles: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        name = role_reference(ck, path + (i,), item, action)
        if name is not None and unique(ck, path, i, name, seen, "role"):
            roles.append(name)
    return tuple(roles)
