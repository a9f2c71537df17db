"""Database connections: URL resolution, SQLite tuning and write transactions.

SQLite (the embedded default) runs in WAL mode with a busy timeout and foreign keys on;
pysqlite's own transaction handling is switched off and the engine emits ``BEGIN``
itself (through the dialect's ``do_begin`` hook), ``BEGIN IMMEDIATE`` for write
transactions (:meth:`Database.write`) so that two writers queue on the busy timeout
instead of failing on a read-to-write upgrade. PostgreSQL (psycopg 3) is
the production database.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

SQLITE_BUSY_TIMEOUT_S = 30
_BEGIN_IMMEDIATE = "perfeval_begin_immediate"  # flag in the pooled connection's info


def instance_path() -> Path:
    """The instance folder (``PERFEVAL_INSTANCE_PATH``, default ``./instance``)."""
    return Path(os.environ.get("PERFEVAL_INSTANCE_PATH") or Path.cwd() / "instance")


def resolve_url(url: str | None = None) -> str:
    """The database URL: ``url``, else ``PERFEVAL_DATABASE_URL``, else a SQLite file
    in the instance folder. ``postgresql://`` URLs are pointed at psycopg 3."""
    url = url or os.environ.get("PERFEVAL_DATABASE_URL")
    if not url:
        folder = instance_path()
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'perfeval.db'}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs) -> Engine:
    """Create a SQLAlchemy engine for ``url`` with perfeval's connection settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **kwargs)
    memory = parsed.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    def _do_begin(dbapi_connection) -> None:
        # ``dbapi_connection`` is the pool's proxy; Database.write() flags its info.
        immediate = dbapi_connection.info.get(_BEGIN_IMMEDIATE, False)
        dbapi_connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    # This engine's dialect hook rather than a "begin" event listener: any engine-level
    # event listener makes SQLAlchemy dispatch before/after-execute events around every
    # statement, which cost about a fifth of a fire's time on SQLite. Errors raised
    # here are still wrapped as sqlalchemy.exc.OperationalError by Connection.begin().
    engine.dialect.do_begin = _do_begin
    return engine


class Database:
    """A handle on one perfeval database: the SQLAlchemy engine plus the cache of
    compiled definition versions. Create one per process (after any fork)."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.url = resolve_url(url) if engine is None else str(engine.url)
        self.engine = engine or make_engine(self.url)
        self.dialect = self.engine.dialect.name
        self._compiled: dict[int, object] = {}

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite): commits on success,
        rolls back on any exception."""
        with self.engine.connect() as conn:
            info = conn.connection.info
            info[_BEGIN_IMMEDIATE] = True
            try:
                transaction = conn.begin()
            finally:
                del info[_BEGIN_IMMEDIATE]
            with transaction:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction; always rolled back."""
        with self.engine.connect() as conn:
            with conn.begin() as tx:
                yield conn
                tx.rollback()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """An ORM session inside a write transaction; committed when the block ends."""
        with self.write() as conn:
            session = Session(bind=conn, expire_on_commit=False)
            try:
                yield session
                session.flush()
            finally:
                session.close()

    def session(self) -> Session:
        """An ORM session (for admin-style reads and writes outside the hot path)."""
        return Session(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
