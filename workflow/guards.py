"""Named guard functions: the only Python a definition can refer to.

A guard receives a :class:`GuardContext` and returns ``None`` when the transition may
proceed, or a human-readable reason (Chinese first) when it may not. Guards are pure:
they must not write anything. YAML names guards from this registry only; it can never
reach an arbitrary importable callable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .spec import Definition


@dataclass(frozen=True)
class GuardContext:
    """What a guard may look at: the definition, state, data and the acting user."""

    definition: Definition
    state: str
    data: Mapping[str, Any]
    role: str
    comment: str | None = None


Guard = Callable[[GuardContext], "str | None"]

_REGISTRY: dict[str, Guard] = {}


def guard(name: str) -> Callable[[Guard], Guard]:
    """Register ``fn`` as guard ``name`` (decorator)."""

    def register(fn: Guard) -> Guard:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"guard {name!r} is already registered")
        _REGISTRY[name] = fn
        return fn

    return register


def get_guard(name: str) -> Guard:
    """Return the registered guard ``name`` (KeyError when unknown)."""
    return _REGISTRY[name]


def known_guards() -> tuple[str, ...]:
    """Names of all registered guards, sorted."""
    return tuple(sorted(_REGISTRY))


def is_blank(value: Any) -> bool:
    """True for values that do not count as filled in (None, '', whitespace, [], {})."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict)):
        return len(value) == 0
    return False


@guard("weights_total_100")
def weights_total_100(ctx: GuardContext) -> str | None:
    """Indicator weights (table field ``indicators``, column ``weight``) must total 100."""
    rows = ctx.data.get("indicators") or []
    try:
        total = sum(float(r.get("weight") or 0) for r in rows)
    except (TypeError, ValueError, AttributeError):
        return "指标权重必须是数字 (indicator weights must be numbers)"
    if abs(total - 100.0) > 1e-6:
        return f"指标权重合计为 {total:g},应为 100 (weights total {total:g}, expected 100)"
    return None


from . import evaluation_guards  # noqa: E402,F401 - registers the evaluation-year guards
