"""The ``transitions:`` list: trigger names, states, roles, required fields, guards."""

from __future__ import annotations

from typing import Any, Sequence

from ..guards import known_guards
from ..stages import EFFECTS
from ..source import Path
from ..spec import ChildrenCondition, ChildrenTrigger, TransitionSpec
from .context import Checker, one_of, suggest
from .roles import role_list
from .values import identifier, keys, label, mapping, reference, sequence, unique, wrong_type

TRANSITION_KEYS = ("trigger", "from", "source", "to", "roles", "requires", "comment", "guards",
                   "label", "when_children", "then_children", "effects")
CHILDREN_KEYS = ("definition", "all_in")
THEN_KEYS = ("definition", "fire")
# Names the engine or the transitions library already uses on a model or machine.
RESERVED_TRIGGERS = frozenset({"trigger", "update_data", "start", "fire", "may_trigger",
                               "get_triggers", "set_state", "state", "status",
                               "extend_deadline", "pause_deadline", "resume_deadline",
                               "remind_now", "attach"})
# transitions generates to_<state>, is_<state> and may_<trigger> helpers.
RESERVED_PREFIXES = ("to_", "is_", "may_")
COMMENT_SETTINGS = ("required", "optional")


def check_transitions(ck: Checker, value: Any) -> tuple[TransitionSpec, ...]:
    """Validate ``transitions:`` and return a spec for each one whose states resolved.

    A transition with other problems is still returned (for the graph checks); the
    document as a whole is rejected because of its diagnostics.
    """
    items = sequence(ck, ("transitions",), value, "a list of transitions")
    if items is None:
        ck.graph_ok = False
        return ()
    specs = (_transition(ck, ("transitions", i), i, item) for i, item in enumerate(items))
    return tuple(spec for spec in specs if spec is not None)


def _transition(ck: Checker, path: Path, index: int, value: Any) -> TransitionSpec | None:
    body = mapping(ck, path, value, "a transition {trigger, from, to, roles, ...}")
    if body is None:
        ck.graph_ok = False
        return None
    keys(ck, path, body, TRANSITION_KEYS, ("trigger", "to", "roles"))
    trigger = _trigger(ck, path + ("trigger",), body["trigger"]) if "trigger" in body else None
    sources = _sources(ck, path, index, body)
    dest = reference(ck, path + ("to",), body["to"], "state", ck.known["state"]) if "to" in body else None
    roles = ()
    if "roles" in body:
        roles = role_list(ck, path + ("roles",), body["roles"], "fire transitions", non_empty=True)
    requires = _names(ck, path + ("requires",), body.get("requires", []), "field", ck.known["field"])
    guards = _names(ck, path + ("guards",), body.get("guards", []), "guard", known_guards())
    effects = _names(ck, path + ("effects",), body.get("effects", []), "effect", tuple(EFFECTS))
    comment = _comment(ck, path + ("comment",), body["comment"]) if "comment" in body else None
    title = label(ck, path + ("label",), body["label"]) if "label" in body else None
    children = (_children_list(ck, path + ("when_children",), body["when_children"])
                if "when_children" in body else ())
    then = (_then_children(ck, path + ("then_children",), body["then_children"])
            if "then_children" in body else ())
    if not sources or dest is None:
        ck.graph_ok = False
        return None
    return TransitionSpec(trigger or str(body.get("trigger")), sources, dest, roles, requires,
                          comment == "required", guards, title, index,
                          children_conditions=children, then_children=then,
                          effects=effects)


def _children_list(ck: Checker, path: Path, value: Any) -> tuple[ChildrenCondition, ...]:
    """``when_children``: one condition mapping, or a non-empty list of them (all must
    hold), each child definition named once."""
    if not isinstance(value, list):
        cond = _children(ck, path, value)
        return (cond,) if cond is not None else ()
    items = sequence(ck, path, value, "a list of {definition: KEY, all_in: [STATE, ...]}",
                     non_empty=True)
    found: list[ChildrenCondition] = []
    seen: set[str] = set()
    for i, item in enumerate(items or ()):
        cond = _children(ck, path + (i,), item, i)
        if cond is None:
            continue
        if cond.definition in seen:
            ck.error(path + (i, "definition"),
                     f"child definition '{cond.definition}' listed twice in when_children",
                     "expected each child definition once, with all its states in one all_in")
            continue
        seen.add(cond.definition)
        found.append(cond)
    return tuple(found)


def _then_children(ck: Checker, path: Path, value: Any) -> tuple[ChildrenTrigger, ...]:
    """``then_children: [{definition: KEY, fire: TRIGGER}, ...]`` (names only here;
    :func:`workflow.loader.check_children` resolves them across a set)."""
    items = sequence(ck, path, value, "a list of {definition: KEY, fire: TRIGGER}",
                     non_empty=True)
    found: list[ChildrenTrigger] = []
    for i, item in enumerate(items or ()):
        body = mapping(ck, path + (i,), item, "{definition: KEY, fire: TRIGGER}")
        if body is None or not keys(ck, path + (i,), body, THEN_KEYS, THEN_KEYS):
            continue
        key = identifier(ck, path + (i, "definition"), body["definition"], "definition")
        trigger = identifier(ck, path + (i, "fire"), body["fire"], "trigger")
        if key is not None and trigger is not None:
            found.append(ChildrenTrigger(key, trigger, i))
    return tuple(found)


def _children(ck: Checker, path: Path, value: Any,
              position: int | None = None) -> ChildrenCondition | None:
    """``when_children: {definition: KEY, all_in: [STATE, ...]}``.

    The child definition and its states live in another file, so here they are checked
    as names only; :func:`workflow.loader.check_children` resolves them across a set.
    """
    body = mapping(ck, path, value, "{definition: KEY, all_in: [STATE, ...]}")
    if body is None or not keys(ck, path, body, CHILDREN_KEYS, CHILDREN_KEYS):
        return None
    key = identifier(ck, path + ("definition",), body["definition"], "definition")
    items = sequence(ck, path + ("all_in",), body["all_in"], "a list of the child's state names",
                     non_empty=True)
    states: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(items or ()):
        name = identifier(ck, path + ("all_in", i), item, "state")
        if name is not None and unique(ck, path + ("all_in",), i, name, seen, "state"):
            states.append(name)
    if key is None or not items or len(states) != len(items):
        return None
    return ChildrenCondition(key, tuple(states), position)


def _trigger(ck: Checker, path: Path, value: Any) -> str | None:
    name = identifier(ck, path, value, "trigger")
    if name is None:
        return None
    prefix = next((p for p in RESERVED_PREFIXES if name.startswith(p)), None)
    if prefix is not None:
        ck.error(path, f"trigger '{name}' starts with the reserved prefix '{prefix}'",
                 f"expected a name not starting with {', '.join(RESERVED_PREFIXES)}")
        return None
    if name in RESERVED_TRIGGERS:
        ck.error(path, f"trigger name '{name}' is reserved",
                 f"expected a name other than {', '.join(sorted(RESERVED_TRIGGERS))}")
        return None
    return name


def _sources(ck: Checker, path: Path, index: int, body: dict) -> tuple[str, ...]:
    """The ``from`` (or ``source``) states as a tuple; empty when unusable."""
    if "from" in body and "source" in body:
        ck.error(path, "use either 'from' or 'source', not both", "expected one 'from' key",
                 key="source")
        return ()
    key = "from" if "from" in body else "source"
    if key not in body:
        ck.error(path, "missing required key 'from'", "expected from: STATE or from: [STATE, ...]")
        return ()
    value = body[key]
    if isinstance(value, str):
        items: list | None = [value]
        paths = [path + (key,)]
    else:
        items = sequence(ck, path + (key,), value, "a state name or a list of state names",
                         non_empty=True)
        paths = [path + (key, i) for i in range(len(items or ()))]
    names = _resolve(ck, items or [], paths, "state", ck.known["state"])
    for name, at in zip(names, paths):
        ck.source_paths.setdefault((index, name), at)
    return tuple(names) if items and len(names) == len(items) else ()


def _names(ck: Checker, path: Path, value: Any, kind: str, known: Sequence[str] | None) -> tuple[str, ...]:
    """A list of references to ``known`` names of ``kind``, without duplicates."""
    items = sequence(ck, path, value, f"a list of {kind} names")
    if items is None:
        return ()
    return tuple(_resolve(ck, items, [path + (i,) for i in range(len(items))], kind, known))


def _resolve(ck: Checker, items: list, paths: list[Path], kind: str,
             known: Sequence[str] | None) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for item, at in zip(items, paths):
        name = reference(ck, at, item, kind, known)
        if name is not None and unique(ck, at[:-1], at[-1], name, seen, kind):
            names.append(name)
    return names


def _comment(ck: Checker, path: Path, value: Any) -> str | None:
    if not isinstance(value, str):
        wrong_type(ck, path, value, "'required' or 'optional'")
        return None
    if value not in COMMENT_SETTINGS:
        ck.error(path, f"invalid comment setting '{value}'", one_of(COMMENT_SETTINGS),
                 suggest(value, COMMENT_SETTINGS))
        return None
    return value
