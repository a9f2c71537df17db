"""The ``perfeval`` command line: one click group, subcommands in ``web/commands``.

Every command honours ``--db URL`` (or ``PERFEVAL_DATABASE_URL``) and ``--json``.
Engine errors become a one-line message on stderr (or a JSON error object) and a
distinct exit code; no command prints a traceback for bad input.
"""

from __future__ import annotations

import json

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine.exceptions import WorkflowError

from .commands import (appeals, audit, cycle, definitions, demo, instances, org, outbox,
                       people, scoring, serve, systems, time, tokens)


class PerfevalGroup(click.Group):
    """A group that turns engine and database errors into clean exits."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except WorkflowError as exc:
            _fail(ctx, exc.to_dict(), exc.message, exc.exit_code)
        except (OperationalError, ProgrammingError) as exc:
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            _fail(ctx, {"code": "database_error", "message": detail},
                  f"数据库错误 — database error: {detail} (did you run `perfeval init`?)", 10)


def _fail(ctx: click.Context, body: dict, message: str, code: int) -> None:
    if ctx.meta.get("perfeval.json"):
        click.echo(json.dumps({"error": body}, ensure_ascii=False, default=str))
    else:
        click.secho(f"错误 error: {message}", fg="red", err=True)
    ctx.exit(code)


@click.group(cls=PerfevalGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="perfeval")
def main() -> None:
    """perfeval — 绩效评估工作流 (government performance-evaluation workflows)."""


for module in (definitions, instances, org, audit, demo, outbox, people, cycle, scoring,
               appeals, serve, systems, time, tokens):
    module.register(main)
