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
    """Bring the schema to the newest revision; return that revision id."""
    cfg = alembic_config()
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(db: Database) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()
