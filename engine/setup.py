"""``perfeval init``: create or upgrade the schema and load the bundled definitions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workflow import load_bundled, load_directory

from .db import Database
from .registry import register
from .schema import upgrade
from .upgrades import upgrade_data


@dataclass(frozen=True)
class LoadedDefinition:
    """One definition as registered: key, version number, hash, newly created or not."""

    key: str
    version: int
    content_hash: str
    created: bool


def load_definitions(db: Database, directory: str | Path | None = None) -> list[LoadedDefinition]:
    """Register every definition of ``directory`` (default: the bundled ones)."""
    definitions = load_bundled() if directory is None else load_directory(directory)
    loaded = []
    with db.write() as conn:
        for key in sorted(definitions):
            definition = definitions[key]
            _, version, created = register(conn, definition)
            loaded.append(LoadedDefinition(key, version, definition.content_hash, created))
    return loaded


def init(db: Database, directory: str | Path | None = None) -> tuple[str, list[LoadedDefinition]]:
    """Upgrade the schema to head, register the definitions and — for the bundled
    definitions — run the data steps of an upgrade (:mod:`engine.upgrades`); idempotent."""
    revision = upgrade(db)
    loaded = load_definitions(db, directory)
    if directory is None and any(d.created for d in loaded):
        upgrade_data(db, {d.key for d in loaded if d.created})
    return revision, loaded
