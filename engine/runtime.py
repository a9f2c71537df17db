"""A definition version compiled for execution: one shared ``transitions.Machine``.

``transitions`` is used purely as the rule evaluator. Each definition version gets one
``Machine(model=None, auto_transitions=False)`` built once and never mutated; a fire
evaluates ``machine.events[trigger].trigger(subject, attempt=...)`` on a throw-away
:class:`_Subject` that only carries the current state. The conditions attached to each
transition check, in order: the actor's role (with unit confinement), ``requires:``,
``comment: required`` and the named guards, and record why a candidate was refused.
Persistence is entirely the engine's business (:mod:`engine.instances`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping

from transitions import Machine

from workflow.guards import GuardContext, get_guard, is_blank
from workflow.spec import ChildrenCondition, Definition, TransitionSpec

from .authz import Actor, usable_role


@dataclass
class Attempt:
    """One evaluation of a trigger: inputs, and what the conditions decided."""

    actor: Actor
    subject_unit_id: int | None
    data: Mapping[str, Any]
    comment: str | None
    prefer_role: str | None = None
    # ``when_children`` probe: the condition -> labels of the children not yet in its
    # states. Only the engine's write paths that read the children set it.
    children: Callable[[ChildrenCondition], list[str]] | None = None
    transition: TransitionSpec | None = None
    role: str | None = None
    reasons: list[str] = field(default_factory=list)


class _Subject:
    """The minimal model ``transitions`` reads and writes the state of."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class CompiledDefinition:
    """A definition version ready to run: its machine and precomputed lookups."""

    def __init__(self, definition: Definition, version_id: int, version: int) -> None:
        self.definition = definition
        self.version_id = version_id
        self.version = version
        self.candidates: dict[tuple[str, str], tuple[TransitionSpec, ...]] = {}
        for t in definition.transitions:
            for source in t.sources:
                self.candidates[(source, t.trigger)] = self.candidates.get(
                    (source, t.trigger), ()) + (t,)
        self.next_roles = {s: tuple(dict.fromkeys(r for t in definition.transitions_from(s)
                                                  for r in t.roles))
                           for s in definition.states}
        self.machine = Machine(
            model=None, states=list(definition.states), initial=None,
            auto_transitions=False, send_event=True, model_attribute="state",
            transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest,
                          "conditions": [self._condition(t)]}
                         for t in definition.transitions])

    def _condition(self, spec: TransitionSpec):
        def condition(event) -> bool:
            attempt: Attempt = event.kwargs["attempt"]
            role = usable_role(attempt.actor, spec.roles, attempt.subject_unit_id,
                               attempt.prefer_role)
            if role is None:
                return False
            reasons = self.blocking_reasons(spec, event.state.name, attempt.data,
                                            attempt.comment, role, children=attempt.children)
            if reasons:
                attempt.reasons.extend(reasons)
                return False
            attempt.transition, attempt.role = spec, role
            return True
        return condition

    def blocking_reasons(self, spec: TransitionSpec, state: str, data: Mapping[str, Any],
                         comment: str | None, role: str, check_comment: bool = True,
                         children: Callable[[ChildrenCondition], list[str]] | None = None
                         ) -> list[str]:
        """Why ``spec`` may not fire now (requires, comment, guards, children); empty
        when it may. A ``when_children`` condition without a ``children`` probe is
        refused: only a write path that has read the children may pass it."""
        reasons = []
        for cond in spec.children_conditions:
            reasons += children_reasons(cond, children)
        missing = [f for f in spec.requires if is_blank(data.get(f))]
        if missing:
            labels = "、".join(self.definition.fields[f].label.zh for f in missing)
            reasons.append(f"缺少必填项:{labels} (required: {', '.join(missing)})")
        if check_comment and spec.comment_required and is_blank(comment):
            reasons.append("须填写意见 (a comment is required)")
        for name in spec.guards:
            reason = get_guard(name)(GuardContext(self.definition, state, data, role, comment))
            if reason:
                reasons.append(reason)
        return reasons

    @cached_property
    def watches_children(self) -> bool:
        """True when some transition of this definition has a ``when_children``."""
        return any(t.when_children is not None for t in self.definition.transitions)

    @cached_property
    def auto_children(self) -> dict[tuple[str, str], tuple[TransitionSpec, ...]]:
        """(state, child definition) -> the ``when_children`` transitions from that state
        the engine fires itself (``system`` among their roles)."""
        found: dict[tuple[str, str], tuple[TransitionSpec, ...]] = {}
        for t in self.definition.transitions:
            if t.when_children is not None and "system" in t.roles:
                for source in t.sources:
                    for cond in t.children_conditions:
                        key = (source, cond.definition)
                        found[key] = found.get(key, ()) + (t,)
        return found

    def evaluate(self, state: str, trigger: str, attempt: Attempt) -> str | None:
        """Run the machine; return the destination state, or None when every candidate
        transition was refused (``attempt.reasons`` says why)."""
        subject = _Subject(state)
        if self.machine.events[trigger].trigger(subject, attempt=attempt):
            return subject.state
        return None


def children_reasons(cond: ChildrenCondition,
                     children: Callable[[ChildrenCondition], list[str]] | None) -> list[str]:
    """Why ``cond`` is not met: no probe, or the children (named) not yet in its states."""
    if children is None:
        return [f"须等待下级事项 {cond.definition} 全部处于 {'/'.join(cond.all_in)} "
                f"(waits for every {cond.definition} child to be {'/'.join(cond.all_in)})"]
    pending = children(cond)
    if not pending:
        return []
    shown = "、".join(pending[:10]) + (f" 等 {len(pending)} 个" if len(pending) > 10 else "")
    return [f"尚有 {len(pending)} 个 {cond.definition} 未完成:{shown} "
            f"({len(pending)} {cond.definition} children not in {', '.join(cond.all_in)})"]
