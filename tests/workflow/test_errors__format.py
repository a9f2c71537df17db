"""Diagnostics print like compiler errors; DefinitionInvalid prints all of them."""

from __future__ import annotations

from workflow import DefinitionInvalid, Diagnostic


def test_message_only() -> None:
    assert str(Diagnostic("a.yaml", 3, 7, "empty file")) == "a.yaml:3:7: error: empty file"


def test_message_and_expected() -> None:
    d = Diagnostic("a.yaml", 1, 17, "unsupported schema_version 2", "expected 1")

    assert str(d) == "a.yaml:1:17: error: unsupported schema_version 2 — expected 1"


def test_hint_is_appended_as_did_you_mean() -> None:
    d = Diagnostic("a.yaml", 12, 40, "transitions[0].to: unknown state 'aproved'",
                   "expected one of: draft, approved", "approved")

    assert str(d) == ("a.yaml:12:40: error: transitions[0].to: unknown state 'aproved' — "
                      "expected one of: draft, approved (did you mean 'approved'?)")


def test_definition_invalid_joins_every_diagnostic() -> None:
    first = Diagnostic("a.yaml", 1, 1, "empty file")
    second = Diagnostic("b.yaml", 2, 3, "duplicate key 'x'")

    error = DefinitionInvalid([first, second])

    assert error.diagnostics == [first, second]
    assert str(error) == f"{first}\n{second}"
    assert isinstance(error, Exception)
