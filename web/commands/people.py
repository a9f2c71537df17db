"""``perfeval org load-sample county|city`` and ``perfeval users import FILE``."""

from __future__ import annotations

import click

from engine.people import SAMPLES, import_users, load_sample

from .common import db_options, emit


def register(main: click.Group) -> None:
    """Attach to the ``org`` and ``users`` groups (registered by ``commands.org``)."""
    org, users = main.commands["org"], main.commands["users"]

    @org.command("load-sample")
    @click.argument("which", type=click.Choice(sorted(SAMPLES)))
    @click.option("--users-password", envvar="PERFEVAL_PASSWORD", default=None,
                  help="Also create the sample office/committee/leader/expert/auditor/admin "
                       "users with this password.")
    @db_options
    def load_sample_cmd(db, as_json, which, users_password):
        """Import a bundled sample organisation: county (158 units) or city (74 units)."""
        result = load_sample(db, which, users_password=users_password)
        emit(as_json, result, f"示例组织 {which}: 新增 {result['units_created']} 个单位,"
             f"更新 {result['units_updated']},用户 {result['users_created']} — units created "
             f"{result['units_created']}, updated {result['units_updated']}, users "
             f"{result['users_created']}")

    @users.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--initial-password", envvar="PERFEVAL_PASSWORD", default=None,
                  help="Password for rows without one (users should change it).")
    @click.option("--dry-run", is_flag=True, help="Check the file only.")
    @db_options
    def users_import(db, as_json, path, initial_password, dry_run):
        """Import users from CSV/XLSX (用户名, 姓名, 角色, 单位编码, 邮箱, 密码); all or nothing."""
        report = import_users(db, path, initial_password=initial_password, dry_run=dry_run)
        emit(as_json, {"created": report.created, "errors": [e.__dict__ for e in report.errors]})
        if not as_json:
            for e in report.errors:
                click.echo(str(e), err=True)
            if report.errors:
                click.echo(f"{len(report.errors)} 处错误,未导入任何用户 — "
                           f"{len(report.errors)} error(s); nothing imported", err=True)
            else:
                click.echo(f"新增用户 {report.created} — created {report.created}"
                           + (" (dry run)" if dry_run else ""))
        raise SystemExit(1 if report.errors else 0)
