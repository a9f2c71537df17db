"""``perfeval audit verify|export``."""

from __future__ import annotations

import sys

import click

from engine import export_history, verify_history

from .common import db_options, emit


def register(main: click.Group) -> None:
    """Attach the ``audit`` group to ``main``."""

    @main.group("audit")
    def group() -> None:
        """Verify and export the tamper-evident history."""

    @group.command("verify")
    @db_options
    def verify_cmd(db, as_json):
        """Check every history chain; exit 1 naming the first bad instance and seq."""
        report = verify_history(db)
        emit(as_json, {"ok": report.ok, "instances": report.instances,
                       "entries": report.entries,
                       "problems": [p.__dict__ for p in report.problems]})
        if not as_json:
            for p in report.problems:
                click.echo(f"篡改或缺失 TAMPERED: {p}", err=True)
            if report.ok:
                click.echo(f"OK: {report.instances} instances, {report.entries} entries verified")
            else:
                first = report.problems[0]
                click.echo(f"FAILED: first bad entry is instance {first.instance_id} seq "
                           f"{first.seq}; {len(report.problems)} instance(s) affected")
        raise SystemExit(0 if report.ok else 1)

    @group.command("export")
    @click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
    @db_options
    def export_cmd(db, as_json, fmt, output):
        """Write the whole history as CSV or JSON Lines (stdout by default)."""
        if output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                count = export_history(db, out, fmt)
            click.echo(f"{count} entries written to {output}", err=True)
        else:
            export_history(db, sys.stdout, fmt)
