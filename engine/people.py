"""Users: import from the office's CSV/XLSX list, the bundled sample organisations,
passwords and administrators' edits.

:func:`import_users` checks every row first (row number, column, reason, as for units)
and writes nothing unless the whole file is good. :func:`load_sample` imports one of the
bundled organisations: the 2011 county (158 units in 乡镇场/县直单位/驻县单位) or the
Fuxin 2007 city (74 units in 系列Ⅰ/Ⅱ/Ⅲ; series Ⅰ and Ⅱ are the 56 units the document
names, series Ⅲ's 18 names are [inferred]).

Passwords and accounts: :func:`authenticate` tells a wrong password from an unknown or
inactive user (for the sign-in records; the page shows one message for all three);
:func:`change_password`, :func:`reset_password` and :func:`update_user` rotate the
user's session token when the password, roles, unit or active flag change, which ends
every open session of theirs (the web layer's user loader compares the token), and
the administrator's changes are written to ``admin_events`` in the same transaction.
Only holders of the ``admin`` role may reset or edit another user; an administrator
cannot remove their own ``admin`` role or deactivate themselves.
"""

from __future__ import annotations

import re
import secrets
from importlib import resources
from pathlib import Path

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from workflow.roles import ROLES, is_unit_role

from .authz import Actor, require_admin
from .db import Database
from .exceptions import InvalidInput, NotFound
from .models import Unit, User
from .org import ImportReport, RowError, import_units, read_table
from .signins import record_admin_event

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
    elif problems := password_problems(password, username=name):  # as a password change
        errors.append(RowError(number, "password", ";".join(problems)))
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


# --- passwords and sessions --------------------------------------------------------------

MIN_PASSWORD = 10
_u = User.__table__
_DUMMY_HASH = generate_password_hash("perfeval-timing-equaliser")


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Why ``password`` is too weak (empty when it is acceptable): at least
    :data:`MIN_PASSWORD` characters, letters and digits (or other characters) both,
    not the user name, not one repeated character."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"密码至少 {MIN_PASSWORD} 位 — at least {MIN_PASSWORD} characters")
    if not any(c.isalpha() for c in password) or all(c.isalpha() for c in password):
        problems.append("密码须同时包含字母和数字或符号 — mix letters with digits or symbols")
    if username and username.lower() in password.lower():
        problems.append("密码不能包含用户名 — must not contain the user name")
    if password and len(set(password)) < 4:
        problems.append("密码过于简单 — too few different characters")
    return problems


def rotate_session_token(db: Database, user_id: int) -> str:
    """Give the user a new session token: every existing session of theirs ends."""
    token = secrets.token_hex(16)
    with db.write() as conn:
        conn.execute(update(_u).where(_u.c.id == user_id).values(session_token=token))
    return token


def authenticate(db: Database, username: str, password: str) -> tuple[str, Actor | None]:
    """``("success", actor)``, or ``("unknown_user" | "inactive" | "bad_password", None)``.
    An unknown user costs one hash check too, so timing does not tell names apart."""
    with db.read() as conn:
        row = conn.execute(select(_u.c.id, _u.c.username, _u.c.unit_id, _u.c.roles,
                                  _u.c.password_hash, _u.c.active)
                           .where(_u.c.username == username)).first()
    if row is None:
        check_password_hash(_DUMMY_HASH, password)
        return "unknown_user", None
    if not check_password_hash(row.password_hash, password):
        return "bad_password", None
    if not row.active:
        return "inactive", None
    return "success", Actor(row.id, row.username, row.unit_id, frozenset(row.roles or ()))


def change_password(db: Database, user_id: int, current: str, new: str) -> str:
    """Set a new password after checking the current one; returns the new session
    token (the caller keeps its own session on it; every other session ends)."""
    with db.write() as conn:
        row = conn.execute(select(_u.c.username, _u.c.password_hash)
                           .where(_u.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"没有用户 {user_id} — no user {user_id}", user=user_id)
        if not check_password_hash(row.password_hash, current):
            raise InvalidInput("当前密码不正确 — the current password is wrong")
        problems = password_problems(new, username=row.username)
        if problems:
            raise InvalidInput(";".join(problems), problems=problems)
        if check_password_hash(row.password_hash, new):
            raise InvalidInput("新密码不能与当前密码相同 — the new password equals the old one")
        token = secrets.token_hex(16)
        conn.execute(update(_u).where(_u.c.id == user_id).values(
            password_hash=generate_password_hash(new), session_token=token))
    return token


def temporary_password() -> str:
    """A random password that passes :func:`password_problems` (shown once)."""
    while True:
        candidate = secrets.token_urlsafe(9) + str(secrets.randbelow(10))
        if not password_problems(candidate):
            return candidate


def reset_password(db: Database, actor: Actor, user_id: int,
                   password: str | None = None) -> str:
    """An administrator sets ``user_id``'s password (a random temporary one when none is
    given); the user's sessions end. Returns the password set."""
    require_admin(actor)
    generated = not password
    password = password or temporary_password()
    with db.write() as conn:
        username = conn.execute(select(_u.c.username).where(_u.c.id == user_id)).scalar()
        if username is None:
            raise NotFound(f"没有用户 {user_id} — no user {user_id}", user=user_id)
        problems = password_problems(password, username=username)
        if problems:
            raise InvalidInput(";".join(problems), problems=problems)
        conn.execute(update(_u).where(_u.c.id == user_id).values(
            password_hash=generate_password_hash(password), session_token=secrets.token_hex(16)))
        record_admin_event(conn, actor_id=actor.user_id, actor=actor.username,
                           action="password_reset", target=username, target_user_id=user_id,
                           details={"generated": generated})
    return password


@dataclass(frozen=True)
class UserEdit:
    """The fields an administrator may change on a user."""

    roles: tuple[str, ...]
    unit_code: str | None
    display_name: str
    email: str | None
    active: bool


def _check_edit(actor: Actor, user_id: int, edit: UserEdit, unit_id: int | None) -> None:
    roles = list(edit.roles)
    unknown = [r for r in roles if r not in ROLES or r == "system"]
    if not roles or unknown:
        raise InvalidInput(f"未知或不可分配的角色 {', '.join(unknown) or '(未选择)'} — "
                           f"choose at least one catalogue role", roles=roles)
    if any(is_unit_role(r) for r in roles) and unit_id is None:
        raise InvalidInput("单位角色(单位经办人/单位负责人)须指定单位 — unit roles need a unit")
    if user_id == actor.user_id and "admin" not in roles:
        raise InvalidInput("不能移除自己的系统管理员角色 — you cannot remove your own admin role")
    if user_id == actor.user_id and not edit.active:
        raise InvalidInput("不能停用自己的账号 — you cannot deactivate yourself")
    if edit.email and ("@" not in edit.email or len(edit.email) > 254):
        raise InvalidInput(f"邮箱格式不正确 — invalid email {edit.email!r}")


def update_user(db: Database, actor: Actor, user_id: int, edit: UserEdit) -> dict[str, Any]:
    """Apply ``edit`` to ``user_id`` (admins only); a change of roles, unit or active
    flag rotates the user's session token. Returns {field: [before, after]}."""
    require_admin(actor)
    with db.write() as conn:
        row = conn.execute(select(_u).where(_u.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"没有用户 {user_id} — no user {user_id}", user=user_id)
        unit_id = None
        if edit.unit_code:
            unit_id = conn.execute(select(Unit.id).where(Unit.code == edit.unit_code)).scalar()
            if unit_id is None:
                raise InvalidInput(f"单位 {edit.unit_code} 不存在 — no unit {edit.unit_code!r}")
        _check_edit(actor, user_id, edit, unit_id)
        after = {"roles": list(dict.fromkeys(edit.roles)), "unit_id": unit_id,
                 "display_name": edit.display_name.strip() or row.username,
                 "email": (edit.email or "").strip() or None, "active": edit.active}
        changes = {k: [getattr(row, k), v] for k, v in after.items() if getattr(row, k) != v}
        if not changes:
            return {}
        values = dict(after)
        if {"roles", "unit_id", "active"} & changes.keys():
            values["session_token"] = secrets.token_hex(16)
        conn.execute(update(_u).where(_u.c.id == user_id).values(**values))
        record_admin_event(conn, actor_id=actor.user_id, actor=actor.username,
                           action="user_update", target=row.username, target_user_id=user_id,
                           details={"changes": changes,
                                    "sessions_ended": "session_token" in values})
    return changes


def list_users(db: Database, *, unit_id: int | None = None, role: str = "",
               page: int = 1, per_page: int = 50) -> tuple[list, int]:
    """Users by user name (one page), optionally of one unit and/or holding one role;
    returns (rows, total). The role filter runs in Python (roles are a JSON list)."""
    query = select(_u.c.id, _u.c.username, _u.c.display_name, _u.c.email, _u.c.roles,
                   _u.c.unit_id, _u.c.active).order_by(_u.c.username)
    if unit_id is not None:
        query = query.where(_u.c.unit_id == unit_id)
    with db.read() as conn:
        if not role:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar()
            rows = conn.execute(query.limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
            return rows, int(total or 0)
        rows = [r for r in conn.execute(query) if role in (r.roles or ())]
    start = (max(page, 1) - 1) * per_page
    return rows[start:start + per_page], len(rows)


def get_user(db: Database, user_id: int):
    """One user's row (without the password hash), or NotFound."""
    with db.read() as conn:
        row = conn.execute(select(_u.c.id, _u.c.username, _u.c.display_name, _u.c.email,
                                  _u.c.roles, _u.c.unit_id, _u.c.active)
                           .where(_u.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"没有用户 {user_id} — no user {user_id}", user=user_id)
    return row
