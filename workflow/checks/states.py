"""The ``states:`` mapping and the ``initial`` state."""

from __future__ import annotations

from typing import Any

from ..source import Path
from ..spec import StateSpec
from .context import Checker
from .roles import role_list, role_reference
from .values import boolean, identifier, keys, label, mapping, reference, sequence, unique

STATE_KEYS = ("label", "final", "editable_by", "editable")


def check_states(ck: Checker, value: Any) -> dict[str, StateSpec]:
    """Validate ``states:`` (a non-empty mapping of name -> state) and return the specs."""
    path: Path = ("states",)
    states = mapping(ck, path, value, "a mapping of state names to states")
    if states is None:
        return {}
    if not states:
        ck.error(path, "must not be empty", "expected at least one state")
        return {}
    ck.known["state"] = tuple(states)
    specs: dict[str, StateSpec] = {}
    for name, body in states.items():
        identifier(ck, path, name, "state", key=name)
        spec = _state(ck, path + (name,), name, body)
        if spec is not None:
            specs[name] = spec
    return specs


def _state(ck: Checker, path: Path, name: str, value: Any) -> StateSpec | None:
    body = mapping(ck, path, value, "a state {label: ..., final: ..., editable_by: [...]}")
    if body is None:
        ck.graph_ok = False
        return None
    keys(ck, path, body, STATE_KEYS, ("label",))
    title = label(ck, path + ("label",), body["label"]) if "label" in body else None
    final = boolean(ck, path + ("final",), body["final"]) if "final" in body else False
    editors: tuple[str, ...] = ()
    if "editable_by" in body:
        editors = role_list(ck, path + ("editable_by",), body["editable_by"], "edit data")
    editable = _editable(ck, path + ("editable",), body["editable"]) if "editable" in body else ()
    if final is None:
        ck.graph_ok = False
    elif final:
        ck.finals.add(name)
    if title is None or final is None:
        return None
    return StateSpec(name, title, bool(final), editors, editable)


def _editable(ck: Checker, path: Path, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``editable: {role: [field, ...]}``: declared roles that may act, declared fields."""
    body = mapping(ck, path, value, "a mapping of roles to lists of field names")
    if body is None:
        return ()
    found: list[tuple[str, tuple[str, ...]]] = []
    for role, names in body.items():
        if role_reference(ck, path + (role,), role, "edit data") is None:
            continue
        items = sequence(ck, path + (role,), names, "a list of field names", non_empty=True)
        fields: list[str] = []
        seen: set[str] = set()
        for i, item in enumerate(items or ()):
            name = reference(ck, path + (role, i), item, "field", ck.known["field"])
            if name is not None and unique(ck, path + (role,), i, name, seen, "field"):
                fields.append(name)
        found.append((role, tuple(fields)))
    return tuple(found)


def check_initial(ck: Checker, value: Any) -> str | None:
    """Validate ``initial``: a declared state that is not final."""
    name = reference(ck, ("initial",), value, "state", ck.known["state"])
    if name is None or ck.known["state"] is None:
        return None
    if name in ck.finals:
        ck.error(("initial",), f"initial state '{name}' is final",
                 "expected a state where the process starts and work can be done")
        return None
    return name
