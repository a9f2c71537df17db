"""The top-level ``gates:`` mapping: evaluation step -> the states that allow it."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from ..source import Path
from ..stages import GATES
from .context import Checker, one_of, suggest
from .values import mapping, reference, sequence, unique


def check_gates(ck: Checker, value: Any) -> Mapping[str, tuple[str, ...]]:
    """Validate ``gates:`` (optional): each key a step of :data:`workflow.stages.GATES`,
    each value a non-empty list of declared states."""
    path: Path = ("gates",)
    if value is None:
        return MappingProxyType({})
    gates = mapping(ck, path, value, "a mapping of evaluation steps to lists of states")
    if gates is None:
        return MappingProxyType({})
    found: dict[str, tuple[str, ...]] = {}
    for name, states in gates.items():
        if name not in GATES:
            ck.error(path, f"unknown evaluation step '{name}'", one_of(tuple(GATES)),
                     suggest(name, GATES), key=name)
            continue
        items = sequence(ck, path + (name,), states, "a list of state names", non_empty=True)
        names: list[str] = []
        seen: set[str] = set()
        for i, item in enumerate(items or ()):
            state = reference(ck, path + (name, i), item, "state", ck.known["state"])
            if state is not None and unique(ck, path + (name,), i, state, seen, "state"):
                names.append(state)
        found[name] = tuple(names)
    return MappingProxyType(found)
