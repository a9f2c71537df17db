"""Data steps of an upgrade, run by ``perfeval init`` after the schema migrations.

Each step is idempotent and goes through the write kernel, so what an upgrade changes
is recorded in the hash chain like any other evaluation fact:

- :func:`migrate_running` moves every running instance of a bundled definition onto
  the definition's newest version when that version still has the instance's state
  and data fields (a ``migration.definition`` entry each), so the field rights, gates
  and effects of the new version protect instances started before the upgrade;
- :func:`engine.indicator_backfill.backfill_bindings` binds to each cycle opened before
  year-bound indicator systems the system it was scored with (``systems.bind`` facts).
"""

from __future__ import annotations

from sqlalchemy import select

from .authz import Actor
from .db import Database
from .facts_backfill import backfill_facts
from .indicator_backfill import backfill_bindings
from .instances import migrate_version
from .models import DefinitionVersion, Instance
from .registry import compiled

_i, _dv = Instance.__table__, DefinitionVersion.__table__
UPGRADE_REASON = "系统升级:迁移至流程定义新版本 — upgrade: moved to the definition's new version"


def _newest(conn) -> dict[str, int]:
    rows = conn.execute(select(_dv.c.key, _dv.c.id, _dv.c.version)).all()
    best: dict[str, tuple[int, int]] = {}
    for key, version_id, version in rows:
        if key not in best or version > best[key][1]:
            best[key] = (version_id, version)
    return {k: v[0] for k, v in best.items()}


def migrate_running(db: Database, keys: set[str] | None = None) -> int:
    """Move running instances (of ``keys``, default all) to their definition's newest
    version where compatible; returns how many moved."""
    actor, moved = Actor.system(), 0
    with db.write() as conn:
        newest = _newest(conn)
        rows = conn.execute(select(_i.c.id, _i.c.definition_key, _i.c.definition_version_id,
                                   _i.c.state, _i.c.data).order_by(_i.c.id)).all()
        for row in rows:
            target = newest.get(row.definition_key)
            if target is None or target == row.definition_version_id:
                continue
            if keys is not None and row.definition_key not in keys:
                continue
            if row.state in compiled(db, row.definition_version_id).definition.final_states:
                continue
            new = compiled(db, target).definition
            if row.state not in new.states or any(f not in new.fields for f in row.data or {}):
                continue
            migrate_version(conn, db, row.id, target, actor, "system", UPGRADE_REASON)
            moved += 1
    return moved


def upgrade_data(db: Database, changed: set[str]) -> dict[str, int]:
    """Every data step, after the definitions ``changed`` got a new version."""
    return {"migrated": migrate_running(db, changed), "bound": backfill_bindings(db),
            "backfilled": backfill_facts(db)}
