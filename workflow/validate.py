"""Validate a parsed definition document and build its immutable :class:`Definition`.

The rules live in :mod:`workflow.checks`, one module per part of the language; this
module checks the top level and runs them in order. Every problem found is reported,
not just the first; a document with any diagnostic yields no definition.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from .checks.context import Checker, one_of, suggest
from .checks.deadlines import check_deadlines
from .checks.fields import check_fields
from .checks.gates import check_gates
from .checks.graph import check_graph
from .checks.roles import check_roles
from .checks.states import check_initial, check_states
from .checks.transitions import check_transitions
from .checks.values import identifier, keys, label, wrong_type
from .errors import Diagnostic
from .fingerprint import content_hash
from .source import SourceDocument
from .spec import Definition

TOP_KEYS = ("schema_version", "key", "title", "description", "subject", "roles", "fields",
            "initial", "states", "transitions", "deadlines", "gates")
REQUIRED_KEYS = ("schema_version", "key", "title", "subject", "roles", "initial", "states",
                 "transitions")
SCHEMA_VERSION = 1
SUBJECTS = ("unit", "organisation")


def validate_document(doc: SourceDocument) -> tuple[Definition | None, list[Diagnostic]]:
    """Check ``doc`` against every rule; the definition, or None and the diagnostics."""
    ck = Checker(doc)
    data = doc.data
    keys(ck, (), data, TOP_KEYS, REQUIRED_KEYS)
    if not _schema_version_supported(ck, data.get("schema_version", SCHEMA_VERSION)):
        return None, ck.diagnostics  # the other rules are those of a version we do not know
    header = _header(ck, data)
    roles = check_roles(ck, data["roles"]) if "roles" in data else ()
    fields = check_fields(ck, data.get("fields"))
    states = check_states(ck, data["states"]) if "states" in data else {}
    initial = check_initial(ck, data["initial"]) if "initial" in data else None
    ck.graph_ok = ck.graph_ok and "transitions" in data
    transitions = check_transitions(ck, data["transitions"]) if "transitions" in data else ()
    deadlines = check_deadlines(ck, data.get("deadlines"), transitions)
    gates = check_gates(ck, data.get("gates"))
    check_graph(ck, initial, transitions)
    _check_rights(ck, fields, states)
    if ck.diagnostics:
        return None, ck.diagnostics
    definition = Definition(
        roles=roles, initial=initial, states=MappingProxyType(states), transitions=transitions,
        fields=MappingProxyType(fields), deadlines=MappingProxyType(deadlines), gates=gates,
        content_hash=content_hash(data), source=doc.text, path=doc.file, **header)
    return definition, []


def _schema_version_supported(ck: Checker, value: Any) -> bool:
    """False only for a well-typed version this code does not know."""
    if isinstance(value, bool) or not isinstance(value, int):
        wrong_type(ck, ("schema_version",), value, "a whole number")
        return True
    if value != SCHEMA_VERSION:
        ck.error(("schema_version",), f"unsupported schema_version {value}",
                 f"expected {SCHEMA_VERSION}", bare=True)
        return False
    return True


def _header(ck: Checker, data: dict) -> dict[str, Any]:
    """key, title, subject, description and schema_version, as Definition arguments."""
    header: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "description": ""}
    if "key" in data:
        header["key"] = identifier(ck, ("key",), data["key"], "definition")
    if "title" in data:
        header["title"] = label(ck, ("title",), data["title"])
    subject = data.get("subject")
    if "subject" in data and subject not in SUBJECTS:
        if isinstance(subject, str):
            ck.error(("subject",), f"unknown subject '{subject}'", one_of(SUBJECTS),
                     suggest(subject, SUBJECTS))
        else:
            wrong_type(ck, ("subject",), subject, "unit or organisation")
    header["subject"] = subject
    description = data.get("description", "")
    if not isinstance(description, str):
        wrong_type(ck, ("description",), description, "a string")
    header["description"] = description
    return header


def _check_rights(ck: Checker, fields: dict, states: dict) -> None:
    """An ``editable: {role: [field]}`` entry that the field's ``set_by`` excludes would
    silently grant nothing: report it at the field name in the state."""
    for state in states.values():
        for role, names in state.editable:
            for i, name in enumerate(names):
                spec = fields.get(name)
                if spec is not None and spec.set_by is not None and role not in spec.set_by:
                    ck.error(("states", state.name, "editable", role, i),
                             f"field '{name}' is set_by {', '.join(spec.set_by)} only; "
                             f"'{role}' can never set it",
                             f"expected a field {role} may set, or {role} in its set_by")
