"""Checks for the basic shapes every rule uses: mappings, lists, names, labels, numbers."""

from __future__ import annotations

import re
from typing import Any, Sequence

from ..source import Path, type_phrase
from ..spec import Label
from .context import Checker, one_of, suggest

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
IDENTIFIER_RULE = "expected a lowercase letter followed by lowercase letters, digits or '_'"


def wrong_type(ck: Checker, path: Path, value: Any, expected: str) -> None:
    """Report ``wrong type: expected <expected>, got <type of value>`` at ``path``."""
    ck.error(path, f"wrong type: expected {expected}, got {type_phrase(value)}")


def mapping(ck: Checker, path: Path, value: Any, expected: str = "a mapping") -> dict | None:
    """``value`` when it is a mapping, else None after reporting a type error."""
    if isinstance(value, dict):
        return value
    wrong_type(ck, path, value, expected)
    return None


def sequence(ck: Checker, path: Path, value: Any, expected: str, *,
             non_empty: bool = False) -> list | None:
    """``value`` when it is a list (non-empty if asked), else None after reporting."""
    if not isinstance(value, list):
        wrong_type(ck, path, value, expected)
        return None
    if non_empty and not value:
        ck.error(path, "must not be empty", f"expected {expected} with at least one entry")
        return None
    return value


def keys(ck: Checker, path: Path, value: dict, allowed: Sequence[str],
         required: Sequence[str] = ()) -> bool:
    """Report unknown keys (with did-you-mean) and missing required keys; True if none."""
    ok = True
    for key in value:
        if key not in allowed:
            ck.error(path, f"unknown key '{key}'", one_of(allowed), suggest(key, allowed), key=key)
            ok = False
    for key in required:
        if key not in value:
            ck.error(path, f"missing required key '{key}'")
            ok = False
    return ok


def identifier(ck: Checker, path: Path, value: Any, kind: str, *, key: str | None = None) -> str | None:
    """``value`` when it is an identifier-like name (``^[a-z][a-z0-9_]*$``), else None."""
    if not isinstance(value, str):
        wrong_type(ck, path, value, f"a {kind} name")
        return None
    if not IDENTIFIER.match(value):
        ck.error(path, f"invalid {kind} name '{value}'", IDENTIFIER_RULE, key=key)
        return None
    return value


def text(ck: Checker, path: Path, value: Any, expected: str = "a non-empty string") -> str | None:
    """``value`` when it is a non-blank string, else None after reporting."""
    if not isinstance(value, str):
        wrong_type(ck, path, value, expected)
        return None
    if not value.strip():
        ck.error(path, "must not be empty", f"expected {expected}")
        return None
    return value


def label(ck: Checker, path: Path, value: Any) -> Label | None:
    """A bilingual ``{zh, en}`` label; both texts are required and non-empty."""
    value = mapping(ck, path, value, "a label {zh: ..., en: ...}")
    if value is None:
        return None
    ok = keys(ck, path, value, ("zh", "en"), ("zh", "en"))
    zh = text(ck, path + ("zh",), value["zh"]) if "zh" in value else None
    en = text(ck, path + ("en",), value["en"]) if "en" in value else None
    return Label(zh, en) if ok and zh is not None and en is not None else None


def boolean(ck: Checker, path: Path, value: Any) -> bool | None:
    """``value`` when it is true or false, else None after reporting."""
    if isinstance(value, bool):
        return value
    wrong_type(ck, path, value, "true or false")
    return None


def whole_number(ck: Checker, path: Path, value: Any, *, minimum: int) -> int | None:
    """An int (never a bool) of at least ``minimum``, else None after reporting."""
    if isinstance(value, bool) or not isinstance(value, int):
        wrong_type(ck, path, value, "a whole number")
        return None
    if value < minimum:
        rule = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
        ck.error(path, f"must be {rule}, got {value}", f"expected {rule}")
        return None
    return value


def number(ck: Checker, path: Path, value: Any) -> float | None:
    """An int or float (never a bool), else None after reporting."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        wrong_type(ck, path, value, "a number")
        return None
    return value


def reference(ck: Checker, path: Path, value: Any, kind: str,
              known: Sequence[str] | None, *, key: str | None = None) -> str | None:
    """A name that must be one of ``known`` (unchecked when ``known`` is None)."""
    if not isinstance(value, str):
        wrong_type(ck, path, value, f"a {kind} name")
        return None
    if known is not None and value not in known:
        ck.error(path, f"unknown {kind} '{value}'", one_of(known), suggest(value, known), key=key)
        return None
    return value


def unique(ck: Checker, path: Path, index: int, value: str, seen: set[str], kind: str) -> bool:
    """False (after reporting at ``path[index]``) when ``value`` was already in ``seen``."""
    if value in seen:
        ck.error(path + (index,), f"duplicate {kind} '{value}'", f"expected each {kind} once")
        return False
    seen.add(value)
    return True
