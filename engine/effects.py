"""Engine effects that a transition declares (``effects: [publish_results]``).

A definition names effects from the closed catalogue :data:`workflow.stages.EFFECTS`;
the evaluation modules implement them with :func:`effect` (``engine.results``
publishes a cycle's results, ``engine.indicator_systems`` binds an approved system to
its year's cycle). :func:`run` calls them from ``fire()`` after the transition's own
writes, on the same connection, so the effect and the transition commit together or
not at all. The handlers are registered when the ``engine`` package is imported (its
``__init__`` imports the implementing modules); nothing else runs then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from sqlalchemy import Connection

from .authz import Actor
from .exceptions import InvalidDefinition


@dataclass(frozen=True)
class EffectCall:
    """What an effect handler is given: the instance that moved and how."""

    conn: Connection
    db: Any  # engine.db.Database (kept loose: handlers import it themselves)
    instance_id: int
    definition_key: str
    trigger: str
    to_state: str
    actor: Actor
    data: Mapping[str, Any]


Handler = Callable[[EffectCall], None]
_HANDLERS: dict[str, Handler] = {}


def effect(name: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the implementation of effect ``name`` (decorator)."""

    def register(fn: Handler) -> Handler:
        if _HANDLERS.get(name, fn) is not fn:
            raise ValueError(f"effect {name!r} is already registered")
        _HANDLERS[name] = fn
        return fn

    return register


def run(name: str, call: EffectCall) -> None:
    """Run effect ``name``; a declared effect without an implementation is refused."""
    handler = _HANDLERS.get(name)
    if handler is None:
        raise InvalidDefinition(f"未实现的效果 {name} — no engine implementation of effect "
                                f"{name!r}", effect=name)
    handler(call)
