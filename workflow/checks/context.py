"""The state shared by all rules while one document is validated."""

from __future__ import annotations

import difflib
from typing import Iterable, Sequence

from ..errors import Diagnostic
from ..source import Path, SourceDocument


def path_text(path: Path) -> str:
    """Render a document path for messages: ``("transitions", 3, "to")`` -> ``transitions[3].to``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def suggest(name: object, candidates: Iterable[str]) -> str | None:
    """The closest candidate to ``name`` for a "did you mean" hint, or None."""
    if not isinstance(name, str):
        return None
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def one_of(names: Sequence[str]) -> str:
    """``expected one of: a, b, c`` (or a note that there is nothing to choose from)."""
    return f"expected one of: {', '.join(names)}" if names else "expected a declared name (none are declared)"


class Checker:
    """Collects diagnostics for one document and what the rules learnt so far.

    ``known`` maps a kind (``"state"``, ``"role"``, ``"field"``) to the names the
    document declares, or to None when that section was unusable, in which case
    references of that kind are not checked (to avoid a cascade of follow-on errors).
    ``graph_ok`` turns False when a transition's states could not be resolved.
    """

    def __init__(self, doc: SourceDocument) -> None:
        self.doc = doc
        self.diagnostics: list[Diagnostic] = []
        self.known: dict[str, tuple[str, ...] | None] = {"state": None, "role": None, "field": None}
        self.graph_ok = True
        self.finals: set[str] = set()  # states marked final, even if otherwise invalid
        self.source_paths: dict[tuple[int, str], Path] = {}  # (transition index, state) -> path

    def error(self, path: Path, message: str, expected: str | None = None,
              hint: str | None = None, *, key: str | int | None = None,
              bare: bool = False) -> None:
        """Report ``message`` about ``path``; with ``key``, point at that key of the mapping.

        The message is prefixed with the path (``transitions[3].to: ...``) unless ``bare``.
        """
        at = path + (key,) if key is not None else path
        line, col = self.doc.position(at, key=key is not None)
        prefix = "" if bare else path_text(path)
        text = f"{prefix}: {message}" if prefix else message
        self.diagnostics.append(Diagnostic(self.doc.file, line, col, text, expected, hint))
