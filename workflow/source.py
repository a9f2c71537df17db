"""YAML text to plain Python values, remembering where every value came from.

:func:`parse_source` composes the text with PyYAML's ``SafeLoader`` and walks the node
graph itself, so it can record the 1-based ``(line, col)`` of every value and mapping
key under a *path* such as ``("transitions", 3, "to")`` and report duplicate keys.
Nothing here raises on bad input: every problem becomes a :class:`Diagnostic`.

Mapping keys are always kept as the text written (so ``on:`` stays ``"on"`` rather
than YAML 1.1's ``True``) and timestamps stay strings, so the result is plain
JSON-like data: dict, list, str, int, float, bool and None.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Diagnostic

Path = tuple[str | int, ...]
Position = tuple[int, int]

MAX_NODES = 50_000  # after expanding aliases; stops "billion laughs" documents

_TAG = "tag:yaml.org,2002:"
_CONSTRUCTED_TAGS = {_TAG + t for t in ("null", "bool", "int", "float")}
_TEXT_TAGS = {_TAG + "str", _TAG + "timestamp"}


@dataclass(frozen=True)
class SourceDocument:
    """A parsed YAML mapping with the positions of its values and keys."""

    file: str
    text: str
    data: Mapping[str, Any]
    positions: Mapping[Path, Position]
    key_positions: Mapping[Path, Position]

    def position(self, path: Path, *, key: bool = False) -> Position:
        """Where ``path`` is written (its key with ``key=True``), else its closest ancestor."""
        if key and path in self.key_positions:
            return self.key_positions[path]
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))


class _TooLarge(Exception):
    """Raised inside the builder when a document expands past MAX_NODES."""


class _Builder:
    """Turns a composed node graph into plain values, collecting positions and problems."""

    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader = loader
        self.positions: dict[Path, Position] = {}
        self.key_positions: dict[Path, Position] = {}
        self.diagnostics: list[Diagnostic] = []
        self._count = 0
        self._open: set[int] = set()  # ids of collection nodes being built (cycles)

    def error(self, node: Node, message: str, expected: str | None = None) -> None:
        line, col = _position(node)
        self.diagnostics.append(Diagnostic(self.file, line, col, message, expected))

    def build(self, node: Node, path: Path) -> Any:
        self.positions.setdefault(path, _position(node))
        self._count += 1
        if self._count > MAX_NODES:
            raise _TooLarge
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if id(node) in self._open:
            self.error(node, "recursive alias: a value contains itself")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self._sequence(node, path)
            return self._mapping(node, path)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag in _TEXT_TAGS:
            return node.value
        if node.tag in _CONSTRUCTED_TAGS:
            try:
                return self.loader.construct_object(node, deep=True)
            except Exception:  # noqa: BLE001 - any constructor failure is a diagnostic
                self.error(node, f"cannot read value {node.value!r}")
                return None
        self.error(node, f"unsupported YAML tag '{node.tag}'", "expected plain YAML values")
        return None

    def _sequence(self, node: SequenceNode, path: Path) -> Any:
        if node.tag != _TAG + "seq":
            self.error(node, f"unsupported YAML tag '{node.tag}'", "expected a plain list")
            return None
        return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]

    def _mapping(self, node: MappingNode, path: Path) -> Any:
        if node.tag != _TAG + "map":
            self.error(node, f"unsupported YAML tag '{node.tag}'", "expected a plain mapping")
            return None
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            if key is not None:
                result[key] = self.build(value_node, path + (key,))
        return result

    def _key(self, key_node: Node, path: Path) -> str | None:
        """The key's text, or None (with a diagnostic) for merge, complex or duplicate keys."""
        if key_node.tag == _TAG + "merge":
            self.error(key_node, "merge keys ('<<') are not supported", "expected the keys written out")
            return None
        if not isinstance(key_node, ScalarNode):
            self.error(key_node, "a mapping key must be a plain name, not a list or mapping")
            return None
        key = key_node.value
        if path + (key,) in self.key_positions:
            first_line = self.key_positions[path + (key,)][0]
            self.error(key_node, f"duplicate key '{key}' (first defined on line {first_line})",
                       "expected each key once per mapping")
            return None
        self.key_positions[path + (key,)] = _position(key_node)
        return key


def _position(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def decode(raw: bytes | str, file: str) -> tuple[str | None, list[Diagnostic]]:
    """Decode file bytes as UTF-8 (a BOM is dropped); a decoding error is a diagnostic."""
    if isinstance(raw, str):
        return raw, []
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)"
        return None, [Diagnostic(file, line, col, message, "expected a UTF-8 encoded YAML file")]


def _syntax_diagnostic(exc: yaml.YAMLError, text: str, file: str) -> Diagnostic:
    """Turn any PyYAML error into a located diagnostic."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line, col = mark.line + 1, mark.column + 1
    else:  # ReaderError: a character index into the text
        index = max(0, min(getattr(exc, "position", 0) or 0, len(text)))
        line = text.count("\n", 0, index) + 1
        col = index - (text.rfind("\n", 0, index) + 1) + 1
    if isinstance(exc, yaml.reader.ReaderError):
        return Diagnostic(file, line, col, f"file contains control character #x{exc.character:04x}"
                          " (binary data?)", "expected YAML text")
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return Diagnostic(file, line, col, message, "expected a well-formed YAML document")


def _compose(text: str, file: str) -> tuple[Any, list[Diagnostic]]:
    """Compose and build the document; ``(data, diagnostics)``, data None on failure."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if root is None:
            return None, [Diagnostic(file, 1, 1, "empty file",
                                     "expected a mapping with schema_version, key, title, ...")]
        builder = _Builder(file, loader)
        data = builder.build(root, ())
        if not isinstance(root, MappingNode):
            builder.error(root, f"top level must be a mapping, got {type_phrase(data)}",
                          "expected a mapping with schema_version, key, title, ...")
        return (data, builder.positions, builder.key_positions), builder.diagnostics
    except yaml.YAMLError as exc:
        return None, [_syntax_diagnostic(exc, text, file)]
    except _TooLarge:
        return None, [Diagnostic(file, 1, 1, f"document too large (over {MAX_NODES} values "
                                 "after expanding aliases)")]
    except RecursionError:
        return None, [Diagnostic(file, 1, 1, "document nested too deeply")]
    finally:
        if loader is not None:
            loader.dispose()


def parse_source(raw: bytes | str, file: str = "<string>") -> tuple[SourceDocument | None, list[Diagnostic]]:
    """Parse YAML bytes or text into a :class:`SourceDocument` and diagnostics.

    The document is None when nothing usable could be read (bad encoding, syntax
    error, empty file, top level not a mapping); otherwise it is returned even when
    there were problems such as duplicate keys, so validation can report more.
    """
    text, problems = decode(raw, file)
    if text is None:
        return None, problems
    built, problems = _compose(text, file)
    if built is None or not isinstance(built[0], dict):
        return None, problems
    data, positions, key_positions = built
    document = SourceDocument(file, text, data, MappingProxyType(positions),
                              MappingProxyType(key_positions))
    return document, problems


def type_phrase(value: Any) -> str:
    """Describe a plain value's type for messages: 'a string', 'a list', ..."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
