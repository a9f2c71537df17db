"""``perfeval definitions validate|list|show``."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from engine import Database
from engine.registry import list_versions
from workflow import DefinitionInvalid, load_bundled, load_definition, mermaid, validate_paths

from .common import emit


def _stored_versions(db_url: str | None) -> dict[str, dict]:
    """Newest stored version per key, or {} when the database is not set up."""
    db = Database(db_url)
    try:
        return {v["key"]: v for v in list_versions(db)}
    except SQLAlchemyError:
        return {}
    finally:
        db.dispose()


def _find(key_or_path: str):
    if key_or_path.endswith((".yaml", ".yml")):
        return load_definition(key_or_path)
    bundled = load_bundled()
    if key_or_path not in bundled:
        raise click.ClickException(f"没有名为 {key_or_path} 的流程定义 — unknown definition; "
                                   f"known: {', '.join(sorted(bundled))}")
    return bundled[key_or_path]


def register(main: click.Group) -> None:
    """Attach the ``definitions`` group to ``main``."""

    @main.group("definitions")
    def group() -> None:
        """Process definitions (YAML): validate, list, show."""

    @group.command("validate")
    @click.argument("paths", nargs=-1, required=True, type=click.Path())
    @click.option("--json", "as_json", is_flag=True)
    def validate(paths: tuple[str, ...], as_json: bool) -> None:
        """Validate definition files or folders; print every error; exit 1 if any."""
        try:
            diagnostics = validate_paths(list(paths))
        except Exception as exc:  # the validator must never crash the CLI
            diagnostics = [f"{', '.join(paths)}:1:1: error: internal validator error: {exc}"]
        emit(as_json, {"ok": not diagnostics, "errors": [str(d) for d in diagnostics]})
        if not as_json:
            for d in diagnostics:
                click.echo(str(d), err=True)
            click.echo(f"{len(diagnostics)} error(s)" if diagnostics else "OK: all valid")
        raise SystemExit(1 if diagnostics else 0)

    @group.command("list")
    @click.option("--db", "db_url", envvar="PERFEVAL_DATABASE_URL", default=None)
    @click.option("--json", "as_json", is_flag=True)
    def list_(db_url: str | None, as_json: bool) -> None:
        """The bundled definitions, with the version stored in the database if any."""
        stored = _stored_versions(db_url)
        rows = []
        for key, d in sorted(load_bundled().items()):
            version = stored.get(key)
            rows.append({"key": key, "title": d.title.zh, "title_en": d.title.en,
                         "states": len(d.states), "transitions": len(d.transitions),
                         "content_hash": d.content_hash,
                         "stored_version": version["version"] if version else None,
                         "in_sync": bool(version and version["content_hash"] == d.content_hash)})
        emit(as_json, rows)
        if not as_json:
            for r in rows:
                stored_text = (f"v{r['stored_version']}" + ("" if r["in_sync"] else " (file changed)")
                               if r["stored_version"] else "not loaded")
                click.echo(f"{r['key']:<24} {r['title']:<16} {r['states']:>2} states "
                           f"{r['transitions']:>2} transitions  {r['content_hash'][:12]}  "
                           f"{stored_text}")

    @group.command("show")
    @click.argument("key")
    @click.option("--json", "as_json", is_flag=True)
    @click.option("--locale", default="zh", type=click.Choice(["zh", "en"]))
    def show(key: str, as_json: bool, locale: str) -> None:
        """States, transitions, roles and a Mermaid diagram of KEY (or a YAML path)."""
        try:
            d = _find(key)
        except DefinitionInvalid as exc:
            click.echo(str(exc), err=True)
            raise SystemExit(1)
        diagram = mermaid(d, locale)
        emit(as_json, {**d.describe(), "mermaid": diagram})
        if as_json:
            return
        click.echo(f"{d.key} — {d.title.get(locale)}  [{d.content_hash[:12]}]")
        click.echo(f"roles: {', '.join(d.roles)}\nstates:")
        for name, s in d.states.items():
            marks = (" (initial)" if name == d.initial else "") + (" (final)" if s.final else "")
            click.echo(f"  {name:<16} {s.label.get(locale)}{marks}")
        click.echo("transitions:")
        for t in d.transitions:
            extra = (f" requires {', '.join(t.requires)}" if t.requires else "") + (
                " comment required" if t.comment_required else "") + (
                f" guards {', '.join(t.guards)}" if t.guards else "")
            click.echo(f"  {t.trigger:<18} {'|'.join(t.sources)} -> {t.dest}  "
                       f"[{', '.join(t.roles)}]{extra}")
        click.echo("\n" + diagram)
