"""Render a definition as a Mermaid ``stateDiagram-v2`` (text only, no Graphviz).

State names are used as Mermaid ids, except the few words Mermaid's state-diagram
parser treats as keywords, which get an ``S_`` prefix (valid state names are lower
case, so this cannot collide). State labels are quoted with ``"``, ``#``, ``<`` and
``>`` written as Mermaid entity codes; transition labels (the edge text, unquoted) are
escaped the same way, ``;`` and ``:`` included.
"""

from __future__ import annotations

from .spec import Definition

# Ids on which mermaid 11's stateDiagram parser fails (checked one by one).
MERMAID_KEYWORDS = frozenset({"note", "state", "default", "class", "classdef", "style",
                              "scale", "click"})
_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "\r": " ", "\n": " "}
#: An edge label is not quoted, so ``;`` and ``:`` are written as entities too.
_EDGE_ENTITIES = {**_ENTITIES, ";": "#59;", ":": "#58;"}


def node_id(state: str) -> str:
    """The Mermaid id for ``state``: the name itself unless it is a Mermaid keyword."""
    return f"S_{state}" if state.lower() in MERMAID_KEYWORDS else state


def _escaped(text: str, entities: dict[str, str]) -> str:
    return "".join(entities.get(c, c) for c in text)


def _quoted(text: str) -> str:
    return f'"{_escaped(text, _ENTITIES)}"'


def _edge_text(text: str) -> str:
    """An edge label written after ``:``: no quotes, special characters as entities."""
    return _escaped(text, _EDGE_ENTITIES).strip()


def mermaid(definition: Definition, locale: str = "zh") -> str:
    """A Mermaid ``stateDiagram-v2`` of ``definition`` with labels in ``locale``.

    One ``state "label" as name`` line per state, ``[*] --> initial``, one
    ``source --> dest : label`` line per transition and source state (the transition's
    label in ``locale``; its trigger when it has none), and ``final --> [*]`` for each
    final state.
    """
    lines = ["stateDiagram-v2"]
    for name, state in definition.states.items():
        lines.append(f"    state {_quoted(state.label.get(locale))} as {node_id(name)}")
    lines.append(f"    [*] --> {node_id(definition.initial)}")
    for t in definition.transitions:
        for source in t.sources:
            text = _edge_text(t.label.get(locale) if t.label else t.trigger) or t.trigger
            lines.append(f"    {node_id(source)} --> {node_id(t.dest)} : {text}")
    for name, state in definition.states.items():
        if state.final:
            lines.append(f"    {node_id(name)} --> [*]")
    return "\n".join(lines) + "\n"
