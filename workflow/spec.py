"""Immutable, validated process definitions (the *spec*, never a running instance).

A :class:`Definition` is produced only by :func:`workflow.loader.load_definition`
after validation; every object here is frozen so a loaded version can be shared by
all instances (and threads) that run on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping


@dataclass(frozen=True)
class Label:
    """A bilingual label; ``zh`` is the default language."""

    zh: str
    en: str

    def get(self, locale: str = "zh") -> str:
        """Return the label for ``locale`` (``zh``/``zh_CN`` or ``en``)."""
        return self.en if locale.lower().startswith("en") else self.zh


@dataclass(frozen=True)
class FieldSpec:
    """Data an instance carries: type, label and constraints.

    ``type`` is one of ``text``, ``number``, ``date``, ``choice``, ``file``, ``table``.
    """

    name: str
    type: str
    label: Label
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    columns: tuple["FieldSpec", ...] = ()  # for ``table``
    #: ``set_by``: the only roles that may ever set this field (``("system",)`` for a
    #: value the engine computes); None: whoever may edit data in the state.
    set_by: tuple[str, ...] | None = None


@dataclass(frozen=True)
class StateSpec:
    """One state. ``editable_by`` lists roles that may save any (unprotected) field
    while here; ``editable`` gives a role named fields only, as ``(role, fields)``
    pairs (``editable: {unit_head: [goals, measures]}`` in YAML)."""

    name: str
    label: Label
    final: bool = False
    editable_by: tuple[str, ...] = ()
    editable: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def editors(self) -> tuple[str, ...]:
        """Every role that may save some field in this state."""
        return tuple(dict.fromkeys(self.editable_by + tuple(r for r, _ in self.editable)))


@dataclass(frozen=True)
class ChildrenCondition:
    """``when_children``: the transition needs every child instance of ``definition``
    (started with this instance as parent) to be in one of the ``all_in`` states.

    A transition with this condition whose ``roles`` include ``system`` is fired by the
    engine itself when the last such child arrives; the others are fired by people.
    No children at all satisfies the condition. ``position`` is the condition's index
    when ``when_children`` was written as a list (for messages only).
    """

    definition: str
    all_in: tuple[str, ...]
    position: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TransitionSpec:
    """One declared transition; ``sources`` is always a tuple of state names.

    ``requires`` names fields that must be non-empty, ``comment_required`` makes a
    comment mandatory and ``guards`` names functions in :mod:`workflow.guards`.

    ``children_conditions`` holds every ``when_children`` condition (all must hold);
    ``when_children`` is the first of them (None without any), for readers that only
    know the single-mapping form. ``then_children`` lists the child triggers the
    engine fires, in the same transaction, after this transition.
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    requires: tuple[str, ...] = ()
    comment_required: bool = False
    guards: tuple[str, ...] = ()
    label: Label | None = None
    index: int = 0  # position in the YAML ``transitions`` list
    when_children: ChildrenCondition | None = None
    children_conditions: tuple[ChildrenCondition, ...] = ()
    then_children: tuple["ChildrenTrigger", ...] = ()
    #: named engine effects run in the transition's transaction (``workflow.stages``)
    effects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.when_children is not None and not self.children_conditions:
            object.__setattr__(self, "children_conditions", (self.when_children,))
        elif self.children_conditions and self.when_children is None:
            object.__setattr__(self, "when_children", self.children_conditions[0])


@dataclass(frozen=True)
class ChildrenTrigger:
    """``then_children``: after the transition, fire ``trigger`` (as the system) on every
    child of ``definition`` in a state that ``trigger`` leaves. ``position`` is its
    index in the YAML list (messages only)."""

    definition: str
    trigger: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Offset:
    """A signed distance in calendar ``days`` or ``working_days``."""

    amount: int
    unit: str  # "days" | "working_days"


@dataclass(frozen=True)
class Due:
    """When a state's work is due: a fixed month-day or an offset from entering."""

    month_day: tuple[int, int] | None = None  # ("03-31" -> (3, 31))
    offset: Offset | None = None
    on_holiday: str = "next_working_day"  # | "previous_working_day" | "keep"
    # a text field whose "MM-DD" value, when the instance holds one, replaces month_day
    field: str | None = None
    # local (hour, minute) on the due day when it falls due; None: the policy's due time
    time: tuple[int, int] | None = None


@dataclass(frozen=True)
class Reminder:
    """A reminder ``before`` the due time, or ``on`` the due day (``before`` is None)."""

    before: Offset | None = None


@dataclass(frozen=True)
class Escalation:
    """An escalation ``after`` the due time, notifying ``notify`` roles and, with
    ``fire``, firing that trigger as the system actor."""

    after: Offset
    notify: tuple[str, ...] = ()
    fire: str | None = None


@dataclass(frozen=True)
class DeadlineSpec:
    """The deadline of one state (parsed and validated; the scheduler gives it effect).

    With ``fire``, the system fires that trigger when the deadline falls due (a dated
    step of the process, e.g. opening a window or marking a report overdue)."""

    state: str
    due: Due
    remind: tuple[Reminder, ...] = ()
    escalate: tuple[Escalation, ...] = ()
    fire: str | None = None


@dataclass(frozen=True)
class Definition:
    """A validated process definition, identified by ``key`` and ``content_hash``.

    ``source`` is the YAML text it was parsed from and ``path`` the file name it was
    read from (for messages only).
    """

    key: str
    schema_version: int
    title: Label
    subject: str
    roles: tuple[str, ...]
    initial: str
    states: Mapping[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    fields: Mapping[str, FieldSpec] = field(default_factory=lambda: MappingProxyType({}))
    deadlines: Mapping[str, DeadlineSpec] = field(default_factory=lambda: MappingProxyType({}))
    #: stage gates: an evaluation step (``workflow.stages.GATES``) -> the states in which
    #: it is allowed (declared by the cycle definition)
    gates: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    content_hash: str = ""
    source: str = ""
    path: str = ""
    description: str = ""

    def transitions_from(self, state: str) -> tuple[TransitionSpec, ...]:
        """All transitions whose sources include ``state``, in declaration order."""
        return tuple(t for t in self.transitions if state in t.sources)

    def triggers(self) -> tuple[str, ...]:
        """Every trigger name, once each, in declaration order."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def state_label(self, state: str) -> Label:
        """The label of ``state``, or its name in both languages when this version does
        not know it (a history entry or timer written under another version)."""
        known = self.states.get(state)
        return known.label if known is not None else Label(state, state)

    def field_setters(self, state: str, name: str) -> tuple[str, ...]:
        """The roles that may set field ``name`` in ``state``: the state's
        ``editable_by`` and the roles whose ``editable`` list names it, narrowed to the
        field's ``set_by`` when it has one."""
        spec = self.states.get(state)
        if spec is None:
            return ()
        roles = spec.editable_by + tuple(r for r, names in spec.editable if name in names)
        declared = self.fields.get(name)
        if declared is not None and declared.set_by is not None:
            roles = tuple(r for r in roles if r in declared.set_by)
        return tuple(dict.fromkeys(roles))

    def editable_fields(self, state: str, roles) -> tuple[str, ...]:
        """The fields any of ``roles`` may set in ``state``, in declaration order."""
        held = set(roles)
        return tuple(n for n in self.fields if held.intersection(self.field_setters(state, n)))

    @property
    def final_states(self) -> frozenset[str]:
        """Names of the states marked ``final``."""
        return frozenset(n for n, s in self.states.items() if s.final)

    def describe(self) -> dict[str, Any]:
        """A plain, JSON-serialisable summary (used by ``definitions show --json``)."""
        return {
            "key": self.key,
            "content_hash": self.content_hash,
            "title": {"zh": self.title.zh, "en": self.title.en},
            "subject": self.subject,
            "roles": list(self.roles),
            "initial": self.initial,
            "states": {
                n: {"label": {"zh": s.label.zh, "en": s.label.en}, "final": s.final,
                    "editable_by": list(s.editable_by),
                    **({"editable": {r: list(f) for r, f in s.editable}} if s.editable else {})}
                for n, s in self.states.items()
            },
            "transitions": [
                {"trigger": t.trigger, "from": list(t.sources), "to": t.dest,
                 "roles": list(t.roles), "requires": list(t.requires),
                 "comment_required": t.comment_required, "guards": list(t.guards),
                 **({"when_children": {"definition": t.when_children.definition,
                                       "all_in": list(t.when_children.all_in)}}
                    if len(t.children_conditions) == 1 else {}),
                 **({"when_children": [{"definition": c.definition, "all_in": list(c.all_in)}
                                       for c in t.children_conditions]}
                    if len(t.children_conditions) > 1 else {}),
                 **({"then_children": [{"definition": c.definition, "fire": c.trigger}
                                       for c in t.then_children]}
                    if t.then_children else {}),
                 **({"effects": list(t.effects)} if t.effects else {})}
                for t in self.transitions
            ],
            "fields": {n: {"type": f.type, "label": {"zh": f.label.zh, "en": f.label.en},
                           "required": f.required,
                           **({"set_by": list(f.set_by)} if f.set_by is not None else {})}
                       for n, f in self.fields.items()},
            "deadlines": sorted(self.deadlines),
            **({"gates": {g: list(s) for g, s in self.gates.items()}} if self.gates else {}),
        }
