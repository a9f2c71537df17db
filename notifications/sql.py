"""Two portable statements the dispatcher relies on (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, Select, Table
from sqlalchemy.dialects import postgresql, sqlite


def lock_skipping(conn: Connection, query: Select) -> Select:
    """``query`` with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent
    dispatchers claim disjoint rows. SQLite has no row locks (SQLAlchemy would drop the
    clause silently); there the claiming write transaction (``BEGIN IMMEDIATE``) is
    exclusive, which is the same guarantee."""
    if conn.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def insert_ignoring_duplicates(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                               unique: Iterable[str]) -> None:
    """INSERT ``rows`` into ``table``; a row whose ``unique`` columns already exist is
    skipped (``ON CONFLICT DO NOTHING``), which makes re-running a fan-out harmless."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))
    conn.execute(statement, list(rows))
