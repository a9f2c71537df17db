"""A throwaway database for one benchmark run: a SQLite file in a temporary folder, or a
fresh database on a PostgreSQL server (dropped afterwards). Imported by the benchmark
scripts, which run with this folder on ``sys.path``."""

from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, make_url, text

from engine import Database


@contextmanager
def scratch_database(pg_url: str | None, prefix: str) -> Iterator[Database]:
    """A :class:`Database` on a new, empty database: SQLite when ``pg_url`` is None,
    else ``<prefix>_<pid>_<random>`` on that server; disposed (and dropped) on exit."""
    with tempfile.TemporaryDirectory() as folder:
        admin, name = None, None
        if pg_url is None:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
        else:
            admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
            name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
