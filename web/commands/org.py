"""``perfeval init``, ``perfeval org import`` and ``perfeval users add|list``."""

from __future__ import annotations

import click
from sqlalchemy import select

from engine import InvalidInput, add_user, import_units, init
from engine.models import Unit, User

from .common import db_options, emit


def register(main: click.Group) -> None:
    """Attach the set-up commands to ``main``."""

    @main.command("init")
    @click.option("--definitions", "directory", default=None, type=click.Path(exists=True),
                  help="Load definitions from this folder instead of the bundled ones.")
    @db_options
    def init_cmd(db, as_json, directory):
        """Create or upgrade the database schema and load the definitions."""
        revision, loaded = init(db, directory)
        emit(as_json, {"database": db.engine.url.render_as_string(hide_password=True),
                       "revision": revision, "definitions": [d.__dict__ for d in loaded]},
             f"数据库已就绪 database ready: {db.engine.url.render_as_string(hide_password=True)} "
             f"(schema {revision})\n" + "\n".join(
                 f"  {d.key} v{d.version} {d.content_hash[:12]}"
                 + (" (new)" if d.created else "") for d in loaded))

    @main.group("org")
    def org() -> None:
        """The organisation: units."""

    @org.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check the file only.")
    @db_options
    def org_import(db, as_json, path, dry_run):
        """Import units from a CSV or XLSX file (code, name, category[, parent])."""
        report = import_units(db, path, dry_run=dry_run)
        emit(as_json, {"created": report.created, "updated": report.updated,
                       "errors": [e.__dict__ for e in report.errors]})
        if not as_json:
            for e in report.errors:
                click.echo(str(e), err=True)
            if report.errors:
                click.echo(f"{len(report.errors)} 处错误,未导入任何数据 — "
                           f"{len(report.errors)} error(s); nothing imported", err=True)
            else:
                click.echo(f"新增 {report.created},更新 {report.updated} — created "
                           f"{report.created}, updated {report.updated}"
                           + (" (dry run)" if dry_run else ""))
        raise SystemExit(1 if report.errors else 0)

    @main.group("users")
    def users() -> None:
        """People who sign in, and their roles."""

    @users.command("add")
    @click.argument("username")
    @click.option("--role", "roles", multiple=True, required=True)
    @click.option("--unit", "unit_code", default=None)
    @click.option("--name", "display_name", default="")
    @click.option("--email", default=None)
    @click.password_option(envvar="PERFEVAL_PASSWORD")
    @db_options
    def users_add(db, as_json, username, roles, unit_code, display_name, email, password):
        """Add a user (password prompted, or PERFEVAL_PASSWORD; the same strength rule as
        a password change in the UI)."""
        from engine.people import password_problems

        if problems := password_problems(password, username=username):
            raise InvalidInput(";".join(problems))
        user_id = add_user(db, username, password, roles, unit_code=unit_code,
                           display_name=display_name, email=email)
        emit(as_json, {"id": user_id, "username": username},
             f"已添加用户 added user {username} (id {user_id})")

    @users.command("list")
    @db_options
    def users_list(db, as_json):
        """List users with their unit and roles."""
        with db.read() as conn:
            rows = conn.execute(select(User.id, User.username, User.display_name, User.roles,
                                       Unit.code.label("unit")).outerjoin(
                Unit, Unit.id == User.unit_id).order_by(User.username)).all()
        emit(as_json, [dict(r._mapping) for r in rows], "\n".join(
            f"{r.username:<16} {r.unit or '—':<10} {', '.join(r.roles)}" for r in rows))
