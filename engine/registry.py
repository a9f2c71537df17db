"""Definition versions in the database, and the per-process cache of compiled ones.

A definition is stored with its YAML source and content hash; registering an
unchanged definition is a no-op, a changed one becomes the next version of its key.
Running instances keep pointing at the version they started on, so old versions are
recompiled from their stored source, never from the (possibly changed) file.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select

from workflow import load_definition_text
from workflow.spec import Definition

from .db import Database
from .exceptions import NotFound
from .models import DefinitionVersion
from .runtime import CompiledDefinition

_dv = DefinitionVersion.__table__


def register(conn: Connection, definition: Definition) -> tuple[int, int, bool]:
    """Store ``definition`` unless its (key, content hash) exists.

    Returns ``(version_id, version, created)``.
    """
    row = conn.execute(select(_dv.c.id, _dv.c.version).where(
        _dv.c.key == definition.key, _dv.c.content_hash == definition.content_hash)).first()
    if row is not None:
        return row.id, row.version, False
    latest = conn.execute(select(func.max(_dv.c.version)).where(
        _dv.c.key == definition.key)).scalar() or 0
    version_id = conn.execute(insert(_dv).values(
        key=definition.key, version=latest + 1, content_hash=definition.content_hash,
        source=definition.source, path=str(definition.path)).returning(_dv.c.id)).scalar_one()
    return version_id, latest + 1, True


def compiled(db: Database, version_id: int) -> CompiledDefinition:
    """The compiled definition version ``version_id`` (cached per process)."""
    cached = db._compiled.get(version_id)
    if cached is not None:
        return cached
    with db.read() as conn:
        row = conn.execute(select(_dv).where(_dv.c.id == version_id)).first()
    if row is None:
        raise NotFound(f"没有该流程定义版本 — no definition version {version_id}",
                       definition_version=version_id)
    definition = load_definition_text(row.source, row.path or f"<{row.key} v{row.version}>")
    result = db._compiled[version_id] = CompiledDefinition(definition, row.id, row.version)
    return result


def latest(db: Database, key: str) -> CompiledDefinition:
    """The newest version of definition ``key``."""
    with db.read() as conn:
        version_id = conn.execute(select(_dv.c.id).where(_dv.c.key == key)
                                  .order_by(_dv.c.version.desc()).limit(1)).scalar()
        if version_id is None:
            known = conn.execute(select(_dv.c.key).distinct()).scalars().all()
    if version_id is None:
        raise NotFound(f"没有名为 {key} 的流程定义 — no definition {key!r} "
                       f"(known: {', '.join(sorted(known)) or 'none; run perfeval init'})",
                       definition=key)
    return compiled(db, version_id)


def list_versions(db: Database) -> list[dict]:
    """Every stored definition version (key, version, content hash, loaded at)."""
    with db.read() as conn:
        rows = conn.execute(select(_dv.c.id, _dv.c.key, _dv.c.version, _dv.c.content_hash,
                                   _dv.c.loaded_at).order_by(_dv.c.key, _dv.c.version))
        return [dict(r._mapping) for r in rows]
