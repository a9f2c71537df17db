"""The organisation: units (imported from the offices' own CSV/Excel lists) and users.

:func:`import_units` checks every row first and reports each bad one with its row
number, column and reason; it writes nothing unless the whole file is good. Existing
codes are updated in place (an office re-imports its corrected list), new ones added.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from workflow.roles import ROLES, is_unit_role

from .authz import Actor
from .db import Database
from .exceptions import InvalidInput, NotFound
from .models import Unit, User

HEADERS = {
    "code": ("code", "单位编码", "编码", "单位代码", "代码"),
    "name": ("name", "单位名称", "名称", "单位"),
    "category": ("category", "类别", "单位类别", "系列", "series", "分类"),
    "parent": ("parent", "上级单位编码", "上级单位", "上级编码", "parent_code"),
}
REQUIRED = ("code", "name", "category")


@dataclass(frozen=True)
class RowError:
    """One bad row: its number in the file (header is row 1), the column and why."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 [{self.column}]: {self.reason}"


@dataclass
class ImportReport:
    """What :func:`import_units` did (or would have done)."""

    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


def read_table(path: Path) -> list[list[str]]:
    """Rows of a CSV (UTF-8 with or without BOM, or GB18030) or XLSX file, as strings."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise InvalidInput(f"无法读取 Excel 文件 {path}: {exc}") from exc
        try:  # a read-only workbook keeps its file open until closed
            return [["" if v is None else str(v).strip() for v in row]
                    for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    if suffix != ".csv":
        raise InvalidInput(f"不支持的文件类型 {suffix or '(none)'} — expected .csv or .xlsx")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput(f"{path}: 无法识别的编码 — expected UTF-8 or GB18030 text")
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def _columns(header: list[str]) -> dict[str, int]:
    found = {}
    for index, title in enumerate(header):
        for key, names in HEADERS.items():
            if title.strip().lower() in names and key not in found:
                found[key] = index
    missing = [k for k in REQUIRED if k not in found]
    if missing:
        wanted = "; ".join(f"{k} ({'/'.join(HEADERS[k][1:3])})" for k in missing)
        raise InvalidInput(f"表头缺少列 — missing column(s): {wanted}; header was: "
                           f"{', '.join(header)}", missing=missing)
    return found


def _parse_rows(rows: list[list[str]], existing: set[str]) -> tuple[list[dict], list[RowError]]:
    if not rows:
        raise InvalidInput("文件为空 — the file has no rows")
    cols = _columns(rows[0])
    units, errors, seen = [], [], {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue
        cell = {k: (row[i] if i < len(row) else "") for k, i in cols.items()}
        for key in REQUIRED:
            if not cell[key]:
                errors.append(RowError(number, key, "不能为空 (required)"))
        code = cell["code"]
        if code and code in seen:
            errors.append(RowError(number, "code", f"编码重复,与第 {seen[code]} 行相同 "
                                                   f"(duplicate code {code})"))
        seen.setdefault(code, number)
        units.append({"row": number, **cell})
    known = existing | set(seen)
    for unit in units:
        parent = unit.get("parent") or ""
        if parent and parent not in known:
            errors.append(RowError(unit["row"], "parent", f"上级单位 {parent} 不存在 "
                                                          f"(unknown parent code)"))
        elif parent and parent == unit["code"]:
            errors.append(RowError(unit["row"], "parent", "上级单位不能是自己 (own parent)"))
    return units, errors


def import_units(db: Database, path: str | Path, *, dry_run: bool = False) -> ImportReport:
    """Import units from ``path``; all-or-nothing (see the module docstring)."""
    rows = read_table(Path(path))
    report = ImportReport()
    with db.write_session() as session:
        by_code = {u.code: u for u in session.scalars(select(Unit))}
        units, report.errors = _parse_rows(rows, set(by_code))
        if report.errors or dry_run:
            return report  # nothing has been written yet
        for item in units:
            unit = by_code.get(item["code"])
            if unit is None:
                unit = by_code[item["code"]] = Unit(code=item["code"])
                session.add(unit)
                report.created += 1
            else:
                report.updated += 1
            unit.name, unit.category = item["name"], item["category"]
        session.flush()
        for item in units:
            parent = by_code.get(item.get("parent") or "")
            by_code[item["code"]].parent_id = parent.id if parent else None
    return report


def add_user(db: Database, username: str, password: str, roles: Iterable[str], *,
             unit_code: str | None = None, display_name: str = "",
             email: str | None = None) -> int:
    """Create a user with a hashed password; unit roles need a unit. Returns the id."""
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise InvalidInput(f"未知角色 {', '.join(unknown) or '(none given)'} — known roles: "
                           f"{', '.join(ROLES)}", roles=roles)
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位 — password must have at least 8 characters")
    with db.write_session() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise InvalidInput(f"用户名 {username} 已存在 — user {username!r} exists")
        unit_id = None
        if unit_code:
            unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
            if unit_id is None:
                raise NotFound(f"没有单位编码 {unit_code} — no unit {unit_code!r}")
        if any(is_unit_role(r) for r in roles) and unit_id is None:
            raise InvalidInput("单位角色须指定单位 (--unit) — unit roles need a unit")
        user = User(username=username, password_hash=generate_password_hash(password),
                    roles=roles, unit_id=unit_id, display_name=display_name or username,
                    email=email, session_token=secrets.token_hex(16))
        session.add(user)
        session.flush()
        return user.id


def actor_for(db: Database, username: str) -> Actor:
    """The :class:`Actor` for an active user (NotFound otherwise)."""
    with db.read() as conn:
        row = conn.execute(select(User.id, User.username, User.unit_id, User.roles,
                                  User.active).where(User.username == username)).first()
    if row is None or not row.active:
        raise NotFound(f"没有用户 {username} — no active user {username!r}", user=username)
    return Actor(row.id, row.username, row.unit_id, frozenset(row.roles))


def check_password(db: Database, username: str, password: str) -> Actor | None:
    """The actor when ``password`` is right for an active user, else None."""
    with db.read() as conn:
        row = conn.execute(select(User.password_hash, User.active)
                           .where(User.username == username)).first()
    if row is None or not row.active or not check_password_hash(row.password_hash, password):
        return None
    return actor_for(db, username)
