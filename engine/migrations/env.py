"""Alembic environment: runs on the connection perfeval hands over (``perfeval init``)."""

from __future__ import annotations

from alembic import context

from engine.models import Base

config = context.config


def run_migrations() -> None:
    """Run migrations on ``config.attributes['connection']`` or the configured URL."""
    connection = config.attributes.get("connection")
    if connection is None:
        from engine.db import make_engine, resolve_url

        engine = make_engine(resolve_url(config.get_main_option("sqlalchemy.url")))
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
        engine.dispose()
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
