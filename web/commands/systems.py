"""``perfeval systems …`` — indicator systems by year: list, copy last year's into a new
year, export to Excel and import from Excel or CSV."""

from __future__ import annotations

from pathlib import Path

import click

from engine import actor_for
from engine.clock import to_local
from engine.exceptions import InvalidInput
from engine.indicator_excel import export_system, import_system
from engine.indicator_systems import copy_year, list_systems

from .common import db_options, emit

AS_USER = click.option("--as", "username", required=True, help="Act as this user.")


def _line(s: dict) -> str:
    bound = (f"→ {s['cycle_year']} 年度考评 bound {to_local(s['bound_at']):%Y-%m-%d %H:%M}"
             if s["cycle_year"] else "未确定到年度考评 not bound")
    return (f"#{s['id']:<5} {s['year'] or '—'} {s['category'] or '—':<8} "
            f"{s['state_label'].zh}({s['state']}) v{s['version']} 第{s['edition']}版 "
            f"{s['indicators']} 项 权重 {s['weight_total']:g}  {bound}")


def _jsonable(s: dict) -> dict:
    out = dict(s)
    out["state_label"] = {"zh": s["state_label"].zh, "en": s["state_label"].en}
    for key in ("updated_at", "bound_at"):
        out[key] = s[key].isoformat() + "Z" if s[key] else None
    return out


def register(main: click.Group) -> None:
    """Attach the ``systems`` group to ``main``."""

    @main.group("systems")
    def systems() -> None:
        """Indicator systems (指标体系) by year and category."""

    @systems.command("list")
    @click.option("--year", type=int, default=None, help="Only this year's systems.")
    @click.option("--category", default=None, help="Only this category.")
    @db_options
    def list_cmd(db, as_json, year, category):
        """Each system: year, category, state, edition and the cycle it is bound to."""
        rows = list_systems(db, year=year, category=category)
        emit(as_json, [_jsonable(s) for s in rows],
             "\n".join(_line(s) for s in rows) or "没有指标体系 no indicator systems")

    @systems.command("copy")
    @click.option("--from-year", type=int, required=True, help="The year to copy from.")
    @click.option("--to-year", type=int, required=True, help="The new year.")
    @click.option("--category", default=None, help="Only this category (default: all).")
    @AS_USER
    @db_options
    def copy_cmd(db, as_json, from_year, to_year, category, username):
        """Copy FROM-YEAR's systems into TO-YEAR as drafts; all or nothing."""
        ids = copy_year(db, from_year, to_year, actor_for(db, username), category=category)
        emit(as_json, {"created": ids}, f"已复制 copied {len(ids)} 个指标体系 into {to_year}: "
             + ", ".join(f"#{i}" for i in ids))

    @systems.command("export")
    @click.argument("system_id", type=int)
    @click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
                  help="The .xlsx file to write.")
    @db_options
    def export_cmd(db, as_json, system_id, output):
        """Write SYSTEM_ID's indicators to an .xlsx file."""
        if Path(output).suffix.lower() != ".xlsx":
            raise InvalidInput("导出文件须为 .xlsx — the output must be an .xlsx file")
        Path(output).write_bytes(export_system(db, system_id))
        emit(as_json, {"path": output}, f"已导出 exported {output}")

    @systems.command("import")
    @click.argument("system_id", type=int)
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @AS_USER
    @db_options
    def import_cmd(db, as_json, system_id, path, username):
        """Replace SYSTEM_ID's indicators with an .xlsx or .csv file's rows; all or
        nothing (every bad row is listed)."""
        errors = import_system(db, system_id, actor_for(db, username),
                               Path(path).read_bytes(), path)
        if errors:
            raise InvalidInput("; ".join(str(e) for e in errors) + " — 未导入 nothing imported",
                               errors=[e.__dict__ for e in errors])
        emit(as_json, {"imported": True, "system": system_id},
             f"已导入 imported into #{system_id}")
