"""Create or upgrade the schema with Alembic (``perfeval init``)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .db import Database


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged ``engine/migrations``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("engine") / "migrations"))
    return cfg


def upgrade(db: Database) -> str:
    """Bring the schema to the newest revision(s); return them, comma-separated.

    Feature migrations branch from the initial schema independently (each names
    ``0001`` as its parent), so the upgrade target is every head.
    """
    cfg = alembic_config()
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    return ",".join(sorted(ScriptDirectory.from_config(cfg).get_heads()))


def current_revisions(db: Database) -> tuple[str, ...]:
    """The schema revisions the database is at (empty for an empty database)."""
    with db.read() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
