"""The ``states:`` mapping and the ``initial`` state."""

from __future__ import annotations

from typing import Any

from ..source import Path
from ..spec import StateSpec
from .context import Checker
from .roles import role_list
from .values import boolean, identifier, keys, label, mapping, reference

STATE_KEYS = ("label", "final", "editable_by")


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
    if final is None:
        ck.graph_ok = False
    elif final:
        ck.finals.add(name)
    if title is None or final is None:
        return None
    return StateSpec(name, title, bool(final), editors)


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
