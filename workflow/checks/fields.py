"""The ``fields:`` mapping: the data an instance carries, with types and constraints."""

from __future__ import annotations

from typing import Any

from ..source import Path
from ..spec import FieldSpec
from .context import Checker, one_of, suggest
from .roles import role_list
from .values import (boolean, identifier, keys, label, mapping, number, sequence, text, unique,
                     whole_number, wrong_type)

FIELD_TYPES = ("text", "number", "date", "choice", "file", "table")
FIELD_KEYS = ("type", "label", "required", "min_length", "max_length", "minimum", "maximum",
              "choices", "columns", "set_by")
# keys that only make sense for one type
TYPE_ONLY_KEYS = {"min_length": "text", "max_length": "text", "minimum": "number",
                  "maximum": "number", "choices": "choice", "columns": "table"}


def check_fields(ck: Checker, value: Any) -> dict[str, FieldSpec]:
    """Validate ``fields:`` (optional) and return the field specs by name."""
    path: Path = ("fields",)
    if value is None:  # absent, or written as an empty "fields:"
        ck.known["field"] = ()
        return {}
    fields = mapping(ck, path, value, "a mapping of field names to fields")
    if fields is None:
        return {}
    ck.known["field"] = tuple(fields)
    return _field_map(ck, path, fields, in_table=False)


def _field_map(ck: Checker, path: Path, fields: dict, *, in_table: bool) -> dict[str, FieldSpec]:
    specs: dict[str, FieldSpec] = {}
    for name, body in fields.items():
        identifier(ck, path, name, "column" if in_table else "field", key=name)
        spec = _field(ck, path + (name,), name, body, in_table=in_table)
        if spec is not None:
            specs[name] = spec
    return specs


def _field(ck: Checker, path: Path, name: str, value: Any, *, in_table: bool) -> FieldSpec | None:
    body = mapping(ck, path, value, "a field {type: ..., label: ...}")
    if body is None:
        return None
    before = len(ck.diagnostics)
    keys(ck, path, body, FIELD_KEYS, ("type", "label"))
    kind = _field_type(ck, path, body.get("type"), in_table=in_table) if "type" in body else None
    title = label(ck, path + ("label",), body["label"]) if "label" in body else None
    required = boolean(ck, path + ("required",), body["required"]) if "required" in body else False
    if kind is not None:
        _type_only_keys(ck, path, body, kind)
    limits = _limits(ck, path, body)
    choices = _choices(ck, path, body, kind)
    columns = _columns(ck, path, body, kind)
    set_by = _set_by(ck, path, body, in_table=in_table)
    if len(ck.diagnostics) > before:
        return None
    return FieldSpec(name, kind, title, required, choices=choices, columns=columns,
                     set_by=set_by, **limits)


def _set_by(ck: Checker, path: Path, body: dict, *, in_table: bool) -> tuple[str, ...] | None:
    """``set_by: system`` or ``set_by: [role, ...]``: the only roles that may set the
    field (a table's columns follow their table)."""
    if "set_by" not in body:
        return None
    if in_table:
        ck.error(path, "'set_by' belongs to the table field, not to a column",
                 "expected set_by on the table itself", key="set_by")
        return None
    value = body["set_by"]
    roles = role_list(ck, path + ("set_by",), [value] if isinstance(value, str) else value,
                      "edit data", non_empty=True)
    return roles or None


def _field_type(ck: Checker, path: Path, value: Any, *, in_table: bool) -> str | None:
    allowed = FIELD_TYPES[:-1] if in_table else FIELD_TYPES
    if in_table and value == "table":
        ck.error(path + ("type",), "a table column cannot itself be a table", one_of(allowed))
        return None
    if not isinstance(value, str):
        wrong_type(ck, path + ("type",), value, "a field type name")
        return None
    if value not in allowed:
        ck.error(path + ("type",), f"unknown field type '{value}'", one_of(allowed),
                 suggest(value, allowed))
        return None
    return value


def _type_only_keys(ck: Checker, path: Path, body: dict, kind: str) -> None:
    for key, only in TYPE_ONLY_KEYS.items():
        if key in body and kind != only:
            ck.error(path, f"'{key}' is only allowed for {only} fields, not {kind}",
                     f"expected type: {only}, or no '{key}'", key=key)


def _limits(ck: Checker, path: Path, body: dict) -> dict[str, Any]:
    """min_length/max_length (whole numbers >= 0) and minimum/maximum (numbers), ordered."""
    found: dict[str, Any] = {}
    for key in ("min_length", "max_length"):
        if key in body:
            found[key] = whole_number(ck, path + (key,), body[key], minimum=0)
    for key in ("minimum", "maximum"):
        if key in body:
            found[key] = number(ck, path + (key,), body[key])
    for low, high in (("min_length", "max_length"), ("minimum", "maximum")):
        if found.get(low) is not None and found.get(high) is not None and found[low] > found[high]:
            ck.error(path + (low,), f"{low} {found[low]} is greater than {high} {found[high]}",
                     f"expected {low} <= {high}")
    return found


def _choices(ck: Checker, path: Path, body: dict, kind: str | None) -> tuple[str, ...]:
    if kind == "choice" and "choices" not in body:
        ck.error(path, "a choice field needs 'choices'", "expected choices: [option, ...]")
    if "choices" not in body or kind != "choice":
        return ()
    items = sequence(ck, path + ("choices",), body["choices"], "a list of options", non_empty=True)
    options: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(items or ()):
        option = text(ck, path + ("choices", i), item, "an option text")
        if option is not None and unique(ck, path + ("choices",), i, option, seen, "choice"):
            options.append(option)
    return tuple(options)


def _columns(ck: Checker, path: Path, body: dict, kind: str | None) -> tuple[FieldSpec, ...]:
    if kind == "table" and "columns" not in body:
        ck.error(path, "a table field needs 'columns'", "expected columns: {name: {type, label}}")
    if "columns" not in body or kind != "table":
        return ()
    columns = mapping(ck, path + ("columns",), body["columns"], "a mapping of column names to fields")
    if columns is not None and not columns:
        ck.error(path + ("columns",), "must not be empty", "expected at least one column")
    specs = _field_map(ck, path + ("columns",), columns or {}, in_table=True)
    return tuple(specs.values())
