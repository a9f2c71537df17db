"""Located diagnostics for definition files and the exception that carries them.

A :class:`Diagnostic` prints like a compiler message so editors and CI logs can jump
to it::

    plans/plan.yaml:12:30: error: transitions[3].to: unknown state 'aproved' — expected one of: approved, draft (did you mean 'approved'?)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """One problem in one file, at a 1-based ``line`` and ``col``.

    ``message`` says what is wrong (it starts with the document path such as
    ``transitions[3].to`` when there is one), ``expected`` what would be accepted and
    ``hint`` a close known name for "did you mean".
    """

    file: str
    line: int
    col: int
    message: str
    expected: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: error: {self.message}"
        if self.expected:
            text += f" — {self.expected}"
        if self.hint:
            text += f" (did you mean '{self.hint}'?)"
        return text


class DefinitionInvalid(Exception):
    """A definition (or a set of them) failed to load; ``diagnostics`` lists every problem."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)
