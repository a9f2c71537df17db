"""Load definition files: one file, a text, a directory, or the bundled definitions.

Every function here either returns validated :class:`Definition` objects or raises
:class:`DefinitionInvalid` listing *all* problems found (``validate_paths`` returns
them instead). Nothing else escapes for bad input, including unreadable files.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Iterable

from .checks.context import one_of, suggest
from .errors import DefinitionInvalid, Diagnostic
from .source import parse_source
from .spec import Definition
from .validate import validate_document

PathLike = str | os.PathLike
DEFINITION_SUFFIXES = (".yaml", ".yml")


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.file, d.line, d.col))


def _check(raw: bytes | str, file: str) -> tuple[Definition | None, list[Diagnostic]]:
    """Parse and validate one document; the definition or None, and every diagnostic."""
    doc, problems = parse_source(raw, file)
    if doc is None:
        return None, _sorted(problems)
    definition, more = validate_document(doc)
    problems = _sorted(problems + more)
    return (None if problems else definition), problems


def _read(path: PathLike) -> tuple[bytes | None, list[Diagnostic]]:
    try:
        return Path(path).read_bytes(), []
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        return None, [Diagnostic(os.fspath(path), 1, 1, f"cannot read file: {reason}")]


def _check_file(path: PathLike) -> tuple[Definition | None, list[Diagnostic]]:
    raw, problems = _read(path)
    return (None, problems) if raw is None else _check(raw, os.fspath(path))


def load_definition_text(text: str | bytes, path: str = "<string>") -> Definition:
    """Validate YAML ``text`` (``path`` names it in messages); raise DefinitionInvalid if bad."""
    definition, problems = _check(text, path)
    if definition is None:
        raise DefinitionInvalid(problems)
    return definition


def load_definition(path: PathLike) -> Definition:
    """Read and validate one definition file; raise DefinitionInvalid with all problems."""
    definition, problems = _check_file(path)
    if definition is None:
        raise DefinitionInvalid(problems)
    return definition


def definition_files(path: PathLike) -> list[Path]:
    """``path`` itself, or the ``*.yaml``/``*.yml`` files directly in it, sorted."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.iterdir() if p.suffix in DEFINITION_SUFFIXES and p.is_file())


def _check_paths(paths: Iterable[PathLike]) -> tuple[list[Definition], list[Diagnostic]]:
    """Load every file named or found in a directory, with a duplicate-key check."""
    definitions: list[Definition] = []
    problems: list[Diagnostic] = []
    for given in paths:
        try:
            files = definition_files(given)
        except OSError as exc:
            files = []
            problems.append(Diagnostic(os.fspath(given), 1, 1,
                                       f"cannot read directory: {exc.strerror or exc}"))
            continue
        if not files:
            problems.append(Diagnostic(os.fspath(given), 1, 1, "no definition files found",
                                       "expected *.yaml or *.yml files in the directory"))
        for file in files:
            definition, found = _check_file(file)
            problems += found
            definitions += [definition] if definition is not None else []
    return definitions, problems + _duplicate_keys(definitions) + check_children(definitions)


def _duplicate_keys(definitions: list[Definition]) -> list[Diagnostic]:
    first: dict[str, Definition] = {}
    problems: list[Diagnostic] = []
    for d in definitions:
        if d.key in first and first[d.key].path != d.path:
            doc, _ = parse_source(d.source, d.path)
            line, col = doc.position(("key",)) if doc is not None else (1, 1)
            problems.append(Diagnostic(d.path, line, col, f"duplicate definition key '{d.key}'",
                                       f"expected a key not already used by {first[d.key].path}"))
        first.setdefault(d.key, d)
    return problems


def check_children(definitions: list[Definition]) -> list[Diagnostic]:
    """Resolve every ``when_children`` and ``then_children`` against the set loaded
    together: the child definition must be among them, each ``all_in`` state one of its
    states, and each ``then_children`` trigger one of its triggers that ``system`` may
    fire."""
    by_key = {d.key: d for d in definitions}
    known = sorted(by_key)
    problems: list[Diagnostic] = []
    for d in definitions:
        for t in d.transitions:
            for cond in t.children_conditions:
                at: tuple = ("transitions", t.index, "when_children")
                name = f"transitions[{t.index}].when_children"
                if cond.position is not None:
                    at, name = at + (cond.position,), f"{name}[{cond.position}]"
                child = by_key.get(cond.definition)
                if child is None:
                    problems.append(_located(d, at + ("definition",),
                                             f"{name}.definition: unknown definition "
                                             f"'{cond.definition}'", one_of(known),
                                             suggest(cond.definition, known)))
                    continue
                for i, state in enumerate(cond.all_in):
                    if state not in child.states:
                        problems.append(_located(
                            d, at + ("all_in", i), f"{name}.all_in[{i}]: '{child.key}' has no "
                            f"state '{state}'", one_of(list(child.states)),
                            suggest(state, child.states)))
            for then in t.then_children:
                at = ("transitions", t.index, "then_children", then.position)
                name = f"transitions[{t.index}].then_children[{then.position}]"
                child = by_key.get(then.definition)
                if child is None:
                    problems.append(_located(d, at + ("definition",),
                                             f"{name}.definition: unknown definition "
                                             f"'{then.definition}'", one_of(known),
                                             suggest(then.definition, known)))
                    continue
                triggers = child.triggers()
                if then.trigger not in triggers:
                    problems.append(_located(d, at + ("fire",), f"{name}.fire: '{child.key}' "
                                             f"has no trigger '{then.trigger}'",
                                             one_of(list(triggers)),
                                             suggest(then.trigger, triggers)))
                elif not any("system" in c.roles for c in child.transitions
                             if c.trigger == then.trigger):
                    problems.append(_located(d, at + ("fire",), f"{name}.fire: the system may "
                                             f"not fire '{then.trigger}' of '{child.key}'",
                                             "expected a trigger whose roles include system"))
    return problems


def _located(d: Definition, path: tuple, message: str, expected: str,
             hint: str | None) -> Diagnostic:
    doc, _ = parse_source(d.source, d.path)
    line, col = doc.position(path) if doc is not None else (1, 1)
    return Diagnostic(d.path, line, col, message, expected, hint)


def validate_paths(paths: Iterable[PathLike]) -> list[Diagnostic]:
    """Validate files and directories (their ``*.yaml``/``*.yml``); every problem found."""
    return _check_paths(paths)[1]


def load_directory(path: PathLike) -> dict[str, Definition]:
    """Load every definition in a directory, by key; raise DefinitionInvalid if any is bad."""
    definitions, problems = _check_paths([path])
    if problems:
        raise DefinitionInvalid(problems)
    return {d.key: d for d in definitions}


def bundled_definitions_dir() -> Path:
    """The directory of definitions shipped inside the package (``workflow/definitions``)."""
    return Path(str(resources.files("workflow") / "definitions"))


def load_bundled() -> dict[str, Definition]:
    """Load the definitions shipped with the package, by key."""
    return load_directory(bundled_definitions_dir())
