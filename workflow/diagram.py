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
_ENTITIES = (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"),
             ("\r", " "), ("\n", " "))


def node_id(state: str) -> str:
    """The Mermaid id for ``state``: the name itself unless it is a Mermaid keyword."""
    return f"S_{state}" if state.lower() in MERMAID_KEYWORDS else state


_EDGE_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", ";": "#59;",
                  ":": "#58;", "\r": " ", "\n": " "}


def _quoted(text: str) -> str:
    for raw, code in _ENTITIES:
        text = text.replace(raw, code)
    return f'"{text}"'


def _edge_text(text: str) -> str:
    """An edge label written after ``:``: no quotes, special characters as entities."""
    return "".join(_EDGE_ENTITIES.get(c, c) for c in text).strip()


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
