"""Import users from the office's CSV/XLSX list, and load the bundled sample organisations.

:func:`import_users` checks every row first (row number, column, reason, as for units)
and writes nothing unless the whole file is good. :func:`load_sample` imports one of the
bundled organisations: the 2011 county (158 units in 乡镇场/县直单位/驻县单位) or the
Fuxin 2007 city (74 units in 系列Ⅰ/Ⅱ/Ⅲ; series Ⅰ and Ⅱ are the 56 units the document
names, series Ⅲ's 18 names are [inferred]).
"""

from __future__ import annotations

import re
import secrets
from importlib import resources
from pathlib import Path

from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from workflow.roles import ROLES, is_unit_role

from .db import Database
from .exceptions import InvalidInput
from .models import Unit, User
from .org import ImportReport, RowError, import_units, read_table

USER_HEADERS = {
    "username": ("username", "用户名", "账号", "登录名"),
    "display_name": ("display_name", "name", "姓名", "显示名"),
    "roles": ("roles", "role", "角色"),
    "unit": ("unit", "unit_code", "单位编码", "单位代码", "单位"),
    "email": ("email", "邮箱", "电子邮箱"),
    "password": ("password", "密码", "初始密码"),
}
USER_REQUIRED = ("username", "roles")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
SAMPLES = {"county": "county_units.csv", "city": "city_units.xlsx"}


def samples_dir() -> Path:
    """The folder of bundled sample data (``engine/samples``)."""
    return Path(str(resources.files("engine") / "samples"))


def _user_columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        for key, names in USER_HEADERS.items():
            if title.strip().lower() in names and key not in found:
                found[key] = index
    missing = [k for k in USER_REQUIRED if k not in found]
    if missing:
        raise InvalidInput(f"表头缺少列 — missing column(s): {', '.join(missing)} "
                           f"(用户名/角色); header was: {', '.join(header)}", missing=missing)
    return found


def _check_user(number: int, cell: dict, units: dict[str, int], taken: set[str],
                initial_password: str | None) -> list[RowError]:
    errors = []
    name = cell["username"]
    if not USERNAME.match(name):
        errors.append(RowError(number, "username", "用户名须为 2-64 位字母、数字或 _.@- "
                                                   "(invalid username)"))
    elif name in taken:
        errors.append(RowError(number, "username", f"用户名 {name} 已存在或重复 "
                                                   f"(duplicate username)"))
    roles = [r for r in re.split(r"[,,、;;\s]+", cell["roles"]) if r]
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        errors.append(RowError(number, "roles", f"未知角色 {', '.join(unknown) or '(空)'} "
                                                f"(known: {', '.join(ROLES)})"))
    unit = cell.get("unit") or ""
    if unit and unit not in units:
        errors.append(RowError(number, "unit", f"单位 {unit} 不存在 (unknown unit code)"))
    if any(is_unit_role(r) for r in roles) and not unit:
        errors.append(RowError(number, "unit", "单位角色须指定单位 (unit roles need a unit)"))
    password = cell.get("password") or initial_password
    if not password:
        errors.append(RowError(number, "password", "须填写初始密码 (no password; give one "
                                                   "or --initial-password)"))
    elif len(password) < 8:
        errors.append(RowError(number, "password", "密码至少 8 位 (at least 8 characters)"))
    cell["role_list"], cell["unit_id"] = roles, units.get(unit)
    return errors


def import_users(db: Database, path: str | Path, *, initial_password: str | None = None,
                 dry_run: bool = False) -> ImportReport:
    """Create users from ``path`` (用户名, 姓名, 角色, 单位编码, 邮箱, 密码); all or nothing."""
    rows = read_table(Path(path))
    if not rows:
        raise InvalidInput("文件为空 — the file has no rows")
    cols = _user_columns(rows[0])
    report = ImportReport()
    with db.write() as conn:
        units = dict(conn.execute(select(Unit.code, Unit.id)).all())
        taken = set(conn.execute(select(User.username)).scalars())
        good = []
        for number, row in enumerate(rows[1:], start=2):
            if not any(row):
                continue
            cell = {k: (row[i] if i < len(row) else "") for k, i in cols.items()}
            for key in USER_REQUIRED:
                if not cell[key]:
                    report.errors.append(RowError(number, key, "不能为空 (required)"))
            if all(cell[k] for k in USER_REQUIRED):
                report.errors += _check_user(number, cell, units, taken, initial_password)
            taken.add(cell["username"])
            good.append(cell)
        if report.errors or dry_run:
            return report
        conn.execute(insert(User), [
            {"username": c["username"], "display_name": c.get("display_name") or c["username"],
             "email": c.get("email") or None, "roles": c["role_list"], "unit_id": c["unit_id"],
             "password_hash": generate_password_hash(c.get("password") or initial_password),
             "active": True, "session_token": secrets.token_hex(16)} for c in good])
        report.created = len(good)
    return report


def load_sample(db: Database, which: str, *, users_password: str | None = None) -> dict:
    """Import the bundled ``county`` or ``city`` units (and, with a password, the
    organisation-wide sample users: office, committee, leader, expert, auditor, admin)."""
    if which not in SAMPLES:
        raise InvalidInput(f"没有示例组织 {which} — expected one of: {', '.join(SAMPLES)}")
    units = import_units(db, samples_dir() / SAMPLES[which])
    result = {"sample": which, "units_created": units.created, "units_updated": units.updated,
              "users_created": 0}
    if users_password:
        with db.read() as conn:
            existing = set(conn.execute(select(User.username)).scalars())
        rows = read_table(samples_dir() / "users.csv")
        if not existing & {r[0] for r in rows[1:]}:
            users = import_users(db, samples_dir() / "users.csv", initial_password=users_password)
            result["users_created"] = users.created
    return result
