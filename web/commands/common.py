"""Options and output helpers shared by the CLI commands."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

import click

from engine import Database
from engine.exceptions import InvalidInput


def db_options(fn: Callable) -> Callable:
    """Add ``--db URL`` and ``--json`` and pass ``db`` and ``as_json`` to the command."""

    @click.option("--db", "db_url", envvar="PERFEVAL_DATABASE_URL", default=None,
                  help="Database URL (default: PERFEVAL_DATABASE_URL, else a SQLite file "
                       "in ./instance).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
    @functools.wraps(fn)
    def wrapper(db_url: str | None, as_json: bool, **kwargs):
        click.get_current_context().meta["perfeval.json"] = as_json
        db = Database(db_url)
        try:
            return fn(db=db, as_json=as_json, **kwargs)
        finally:
            db.dispose()

    return wrapper


def parse_json_option(value: str | None, option: str) -> Any:
    """Parse a ``--data`` style JSON argument, or raise a clear InvalidInput."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{option} 不是合法的 JSON — {option} is not valid JSON: {exc}")


def _jsonable(value: Any) -> Any:
    """JSON for what json does not know: a definition label as ``{"zh", "en"}``, else text."""
    if hasattr(value, "zh") and hasattr(value, "en"):
        from web.api.serialize import label

        return label(value)
    return str(value)


def emit(as_json: bool, payload: Any, text: str | None = None) -> None:
    """Print ``payload`` as JSON, or ``text`` for people."""
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=_jsonable))
    elif text is not None:
        click.echo(text)
