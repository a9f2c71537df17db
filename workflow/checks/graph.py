"""Whole-process checks on the state graph: reachability, dead ends, ambiguous triggers."""

from __future__ import annotations

from collections import deque
from typing import Iterable

from ..spec import TransitionSpec
from .context import Checker


def check_graph(ck: Checker, initial: str | None, transitions: tuple[TransitionSpec, ...]) -> None:
    """Run the graph checks, skipped when states or transitions could not be resolved."""
    states = ck.known["state"]
    if not ck.graph_ok or not states:
        return
    outgoing: dict[str, list[TransitionSpec]] = {s: [] for s in states}
    incoming: dict[str, list[str]] = {s: [] for s in states}
    for t in transitions:
        for source in t.sources:
            outgoing[source].append(t)
            incoming[t.dest].append(source)
    unused = {s for s in states if not outgoing[s] and not incoming[s] and s not in ck.finals}
    for state in (s for s in states if s in unused):
        ck.error(("states",), f"state '{state}' is not used by any transition",
                 "expected transitions into and out of it, or remove it", key=state)
    _ways_out(ck, {s: ts for s, ts in outgoing.items() if s not in unused})
    reachable = set(states)
    if initial is not None:
        reachable = _reach(initial, lambda s: (t.dest for t in outgoing[s]))
        for state in states:
            if state not in reachable and state not in unused:
                ck.error(("states",), f"state '{state}' is unreachable from initial state "
                         f"'{initial}'", "expected a transition leading to it", key=state)
    _can_finish(ck, outgoing, incoming, reachable)
    _ambiguous(ck, transitions)


def _reach(start: str, step) -> set[str]:
    """All states reachable from ``start`` following ``step(state) -> next states``."""
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in step(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _ways_out(ck: Checker, outgoing: dict[str, list[TransitionSpec]]) -> None:
    """Non-final states need a transition out; final states must have none."""
    for state, leaving in outgoing.items():
        if state not in ck.finals and not leaving:
            ck.error(("states",), f"state '{state}' is not final but has no way out",
                     "expected a transition from it, or final: true", key=state)
        if state in ck.finals:
            for t in leaving:
                ck.error(ck.source_paths[(t.index, state)],
                         f"final state '{state}' has a way out (trigger '{t.trigger}')",
                         "expected no transition from a final state")


def _can_finish(ck: Checker, outgoing: dict[str, list[TransitionSpec]],
                incoming: dict[str, list[str]], reachable: set[str]) -> None:
    """Every reachable state with a way out must be able to reach a final state."""
    if not ck.finals:
        ck.error(("states",), "no state is final, so the process can never finish",
                 "expected at least one state with final: true")
        return
    finishing: set[str] = set()
    for final in ck.finals & set(outgoing):
        finishing |= _reach(final, lambda s: incoming[s])
    for state in outgoing:
        if state in reachable and outgoing[state] and state not in finishing:
            ck.error(("states",), f"state '{state}' cannot reach a final state",
                     "expected a path of transitions from it to a final state", key=state)


def _distinguished(a: TransitionSpec, b: TransitionSpec) -> bool:
    """Two same-trigger transitions can be told apart by their guards or required fields."""
    guards_differ = bool(a.guards) and bool(b.guards) and set(a.guards) != set(b.guards)
    return guards_differ or set(a.requires) != set(b.requires)


def _ambiguous(ck: Checker, transitions: Iterable[TransitionSpec]) -> None:
    """The same trigger from the same state must not lead to two targets indistinguishably."""
    earlier: list[TransitionSpec] = []
    for t in transitions:
        for other in earlier:
            shared = [s for s in t.sources if s in other.sources]
            if other.trigger == t.trigger and shared and other.dest != t.dest \
                    and not _distinguished(other, t):
                ck.error(("transitions", t.index, "trigger"),
                         f"ambiguous trigger '{t.trigger}' from state '{shared[0]}': it leads to "
                         f"'{other.dest}' (transitions[{other.index}]) and to '{t.dest}'",
                         "expected different guards or requires to tell them apart")
                break
        earlier.append(t)
