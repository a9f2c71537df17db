"""Validate instance data against a definition's ``fields:`` (nothing else is stored)."""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from workflow.spec import Definition, FieldSpec

from .exceptions import InvalidInput


def check_value(spec: FieldSpec, value: Any) -> str | None:
    """Why ``value`` is not acceptable for ``spec``, or None. ``None`` clears a field."""
    if value is None:
        return None
    kind = spec.type
    if kind in ("text", "file"):
        if not isinstance(value, str):
            return "应为文本 (expected a string)"
        if spec.max_length is not None and len(value) > spec.max_length:
            return f"长度不能超过 {spec.max_length} (at most {spec.max_length} characters)"
        if spec.min_length is not None and value.strip() and len(value) < spec.min_length:
            return f"长度不能少于 {spec.min_length} (at least {spec.min_length} characters)"
        return None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "应为数字 (expected a number)"
        if spec.minimum is not None and value < spec.minimum:
            return f"不能小于 {spec.minimum:g} (minimum {spec.minimum:g})"
        if spec.maximum is not None and value > spec.maximum:
            return f"不能大于 {spec.maximum:g} (maximum {spec.maximum:g})"
        return None
    if kind == "date":
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return "应为日期 YYYY-MM-DD (expected a date YYYY-MM-DD)"
        return None
    if kind == "choice":
        return None if value in spec.choices else (
            f"应为以下之一 {', '.join(spec.choices)} (expected one of {', '.join(spec.choices)})")
    return _check_table(spec, value)


def _check_table(spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        return "应为表格(对象列表) (expected a list of rows)"
    columns = {c.name: c for c in spec.columns}
    for number, row in enumerate(value, start=1):
        for name, cell in row.items():
            column = columns.get(name)
            if column is None:
                return f"第 {number} 行有未知列 {name!r} (row {number}: unknown column {name!r})"
            problem = check_value(column, cell)
            if problem:
                return f"第 {number} 行 {name}: {problem} (row {number}, column {name})"
    return None


def validate_patch(definition: Definition, patch: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``patch`` as a plain dict, or raise :class:`InvalidInput` listing every
    unknown field and every bad value."""
    if patch is None:
        return {}
    if not isinstance(patch, Mapping):
        raise InvalidInput("数据应为对象 — data must be a JSON object")
    errors = {}
    for name, value in patch.items():
        spec = definition.fields.get(name)
        if spec is None:
            errors[name] = "未声明的字段 (unknown field)"
        elif (problem := check_value(spec, value)) is not None:
            errors[name] = problem
    if errors:
        detail = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise InvalidInput(f"数据有误 — invalid data: {detail}", fields=errors)
    return dict(patch)
