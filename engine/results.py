"""Scores in, results out: entering and importing scores, vetoes, computing, publishing,
exporting, and recomputing after an adjusted appeal (old and new values recorded).

The arithmetic is :mod:`engine.scoring`; this module reads its inputs from the database
(entered values, vetoes, each category's indicator system in force) and stores results.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import Connection, delete, insert, select, update

from .authz import Actor, denial, usable_role
from .clock import utcnow
from .cycle_config import CycleConfig, config_from_mapping
from .cycles import cycle_for_year
from .db import Database
from .exceptions import InvalidInput, NotFound
from .instances import fire_on
from .models import Instance, Unit
from .org import RowError, read_table
from .scoring import Indicator, Result, UnitScores, compute
from .scoring_models import Cycle, ResultChange, ResultRow, ScoreEntry, Veto

_i, _u, _c = Instance.__table__, Unit.__table__, Cycle.__table__
_s, _v, _r, _rc = (ScoreEntry.__table__, Veto.__table__, ResultRow.__table__,
                   ResultChange.__table__)
COMPONENT_ITEMS = ("public", "leadership")
ENTRY_ROLES = ("office", "expert", "leader")
OFFICE = ("office",)
SCORE_HEADERS = {"unit": ("unit", "单位编码", "编码"), "item": ("item", "指标", "项目", "指标编号"),
                 "value": ("value", "得分", "分值", "score")}
EXPORT_COLUMNS = ("排名 rank", "单位编码 code", "单位名称 unit", "指标评估 indicator",
                  "公众评议 public", "领导评价 leadership", "综合得分 composite", "等次 grade",
                  "一票否决 veto")


def _require(actor: Actor, roles: tuple[str, ...], action: str) -> str:
    role = usable_role(actor, roles, None)
    if role is None:
        raise denial(actor, roles, None, action)
    return role


def _decimal(text: Any) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _may_enter(role: str, item: str, category: str | None, mine: set[tuple[str, str]]) -> bool:
    """office enters anything; an expert the indicators whose verifying unit
    (考核责任单位) is the expert's own unit; leaders the leadership score."""
    return role == "office" or (role == "expert" and (category, item) in mine) \
        or (role == "leader" and item == "leadership")


def _verified_by(conn: Connection, actor: Actor) -> set[tuple[str, str]]:
    """(category, indicator code) pairs whose ``verifier`` names the actor's unit."""
    if actor.unit_id is None:
        return set()
    unit = conn.execute(select(_u.c.code, _u.c.name).where(_u.c.id == actor.unit_id)).first()
    names = {unit.code, unit.name} if unit else set()
    rows = conn.execute(select(_i.c.data).where(
        _i.c.definition_key == "indicator_system", _i.c.state == "in_force")).scalars()
    return {(data["category"], str(r["code"])) for data in rows
            for r in data.get("indicators") or [] if r.get("verifier") in names}


def enter_scores(db: Database, year: int, actor: Actor,
                 rows: Iterable[tuple[str, str, Any]]) -> list[RowError]:
    """Record ``(unit code, item, value)`` rows — an indicator code, ``public`` or
    ``leadership``; all or nothing. Returns the row errors (then nothing is written)."""
    role = _require(actor, ENTRY_ROLES, "enter_scores")
    cycle = cycle_for_year(db, year)
    errors: list[RowError] = []
    with db.write() as conn:
        units = {r.code: r for r in conn.execute(select(_u.c.code, _u.c.id, _u.c.category))}
        mine = _verified_by(conn, actor) if role == "expert" else set()
        good = []
        for number, (code, item, raw) in enumerate(rows, start=2):
            value = _decimal(raw)
            if code not in units:
                errors.append(RowError(number, "unit", f"单位 {code} 不存在 (unknown unit)"))
            if not item:
                errors.append(RowError(number, "item", "不能为空 (required)"))
            elif not _may_enter(role, item, units[code].category if code in units else None,
                                mine):
                errors.append(RowError(number, "item", f"角色 {role} 不能录入 {item} "
                                                       f"(not an item assigned to this user)"))
            if value is None or value < 0:
                errors.append(RowError(number, "value", f"得分 {raw!r} 须为非负数 "
                                                        f"(not a number ≥ 0)"))
            good.append((units[code].id if code in units else None, item, value))
        if errors:
            return errors  # nothing has been written
        now = utcnow()
        keys = [(u, i) for u, i, _ in good]
        for unit_id, item in keys:
            conn.execute(delete(_s).where(_s.c.cycle_id == cycle["id"], _s.c.unit_id == unit_id,
                                          _s.c.item == item))
        if good:
            conn.execute(insert(_s), [
                {"cycle_id": cycle["id"], "unit_id": u, "item": i, "value": str(v),
                 "entered_by": actor.username, "entered_at": now} for u, i, v in good])
    return errors


def import_scores(db: Database, year: int, actor: Actor, path: str | Path) -> list[RowError]:
    """Import a CSV/XLSX of 单位编码 / 指标 / 得分 rows (e.g. the satisfaction survey)."""
    table = read_table(Path(path))
    if not table:
        raise InvalidInput("文件为空 — the file has no rows")
    header = [h.strip().lower() for h in table[0]]
    cols = {}
    for key, names in SCORE_HEADERS.items():
        cols[key] = next((i for i, h in enumerate(header) if h in names), None)
    if None in cols.values():
        raise InvalidInput("表头须含 单位编码、指标、得分 — expected columns unit, item, value")
    rows = [tuple(r[cols[k]] if cols[k] < len(r) else "" for k in ("unit", "item", "value"))
            for r in table[1:]]
    return enter_scores(db, year, actor, rows)


def record_veto(db: Database, year: int, actor: Actor, unit_code: str, item: str,
                reason: str) -> None:
    """Record a one-vote veto (一票否决) against a unit."""
    _require(actor, OFFICE, "record_veto")
    if not item or not reason:
        raise InvalidInput("须写明否决事项和理由 — a veto needs an item and a reason")
    cycle = cycle_for_year(db, year)
    with db.write() as conn:
        unit = conn.execute(select(_u.c.id).where(_u.c.code == unit_code)).scalar()
        if unit is None:
            raise NotFound(f"没有单位编码 {unit_code} — no unit {unit_code!r}")
        conn.execute(insert(_v).values(cycle_id=cycle["id"], unit_id=unit, item=item,
                                       reason=reason, entered_by=actor.username,
                                       entered_at=utcnow()))


def indicator_systems(conn: Connection) -> dict[str, list[Indicator]]:
    """The scored indicators of each category's newest system in force."""
    rows = conn.execute(select(_i.c.data).where(
        _i.c.definition_key == "indicator_system", _i.c.state == "in_force")
        .order_by(_i.c.id)).scalars()
    systems: dict[str, list[Indicator]] = {}
    for data in rows:
        systems[data["category"]] = [
            Indicator(str(r["code"]), Decimal(str(r["weight"])), r.get("method") or "direct",
                      None if r.get("target") is None else Decimal(str(r["target"])))
            for r in data.get("indicators") or [] if r.get("veto") != "yes"]
    return systems


def _inputs(conn: Connection, cycle: dict, config: CycleConfig,
            override: dict[tuple[int, str], Decimal] | None = None) -> list[UnitScores]:
    query = select(_u.c.id, _u.c.code, _u.c.name, _u.c.category)
    if config.categories is not None:
        query = query.where(_u.c.category.in_(config.categories))
    entered: dict[int, dict[str, Decimal]] = {}
    for unit_id, item, value in conn.execute(select(_s.c.unit_id, _s.c.item, _s.c.value)
                                             .where(_s.c.cycle_id == cycle["id"])):
        entered.setdefault(unit_id, {})[item] = Decimal(value)
    for (unit_id, item), value in (override or {}).items():
        entered.setdefault(unit_id, {})[item] = value
    vetoes: dict[int, list[str]] = {}
    for unit_id, item in conn.execute(select(_v.c.unit_id, _v.c.item)
                                      .where(_v.c.cycle_id == cycle["id"])):
        vetoes.setdefault(unit_id, []).append(item)
    units = []
    for u in conn.execute(query.order_by(_u.c.code)):
        values = entered.get(u.id, {})
        raw = {k: v for k, v in values.items() if k not in COMPONENT_ITEMS}
        units.append(UnitScores(u.id, u.code, u.name, u.category, raw, values.get("public"),
                                values.get("leadership"), tuple(vetoes.get(u.id, ()))))
    return units


def _row(cycle_id: int, r: Result, revision: int, now) -> dict[str, Any]:
    return {"cycle_id": cycle_id, "unit_id": r.unit_id, "category": r.category,
            "indicator": str(r.indicator), "public": str(r.public),
            "leadership": str(r.leadership), "composite": str(r.composite), "grade": r.grade,
            "rank": r.rank, "vetoed": r.vetoed, "revision": revision, "computed_at": now,
            "published_at": None}


def _store(conn: Connection, cycle: dict, results: list[Result], reason: str,
           appeal_id: int | None) -> list[dict[str, Any]]:
    """Insert new results; update changed ones (revision + 1) recording old and new."""
    now = utcnow()
    old = {r.unit_id: r for r in conn.execute(select(_r).where(_r.c.cycle_id == cycle["id"]))}
    fresh = [_row(cycle["id"], r, 1, now) for r in results if r.unit_id not in old]
    if fresh:
        conn.execute(insert(_r), fresh)
    changes = []
    for r in results:
        before = old.get(r.unit_id)
        if before is None:
            continue
        previous = {"indicator": before.indicator, "public": before.public,
                    "leadership": before.leadership, "composite": before.composite,
                    "grade": before.grade, "rank": before.rank, "vetoed": before.vetoed}
        if previous == r.values():
            continue
        revision = before.revision + 1
        row = _row(cycle["id"], r, revision, now)
        row["published_at"] = before.published_at and now  # a published result is re-published
        conn.execute(update(_r).where(_r.c.id == before.id).values(**row))
        change = {"cycle_id": cycle["id"], "unit_id": r.unit_id, "revision": revision,
                  "old": previous, "new": r.values(), "reason": reason,
                  "appeal_id": appeal_id, "at": now}
        conn.execute(insert(_rc).values(**change))
        changes.append(change)
    return changes


def compute_results(db: Database, year: int, actor: Actor,
                    reason: str = "计算结果 computed") -> list[Result]:
    """Compute and store every in-scope unit's result for ``year`` (office only)."""
    _require(actor, OFFICE, "compute_results")
    cycle = cycle_for_year(db, year)
    config = config_from_mapping(cycle["config"])
    with db.write() as conn:
        results = compute(_inputs(conn, cycle, config), indicator_systems(conn), config)
        _store(conn, cycle, results, reason, None)
    return results


def publish_results(db: Database, year: int, actor: Actor) -> int:
    """Mark the results published (公示/通报) now; returns how many."""
    _require(actor, OFFICE, "publish_results")
    cycle = cycle_for_year(db, year)
    with db.write() as conn:
        return conn.execute(update(_r).where(_r.c.cycle_id == cycle["id"])
                            .values(published_at=utcnow())).rowcount


def read_results(db: Database, year: int) -> list[dict[str, Any]]:
    """Stored results of ``year`` by category then rank (unranked last), with unit names."""
    cycle = cycle_for_year(db, year)
    with db.read() as conn:
        rows = conn.execute(select(_r, _u.c.code, _u.c.name).join(_u, _u.c.id == _r.c.unit_id)
                            .where(_r.c.cycle_id == cycle["id"])).all()
    out = [dict(r._mapping) for r in rows]
    return sorted(out, key=lambda r: (r["category"], r["rank"] is None, r["rank"] or 0,
                                      -Decimal(r["composite"]), r["code"]))


def export_results(db: Database, year: int, path: str | Path) -> Path:
    """Write ``year``'s results to ``.xlsx`` (one sheet per category) or ``.csv``."""
    path = Path(path)
    rows = read_results(db, year)
    if not rows:
        raise NotFound(f"{year} 年度尚未计算考评结果,无可导出 — no results computed for {year}",
                       year=year)

    def line(r):
        return [r["rank"] if r["rank"] is not None else "—", r["code"], r["name"],
                Decimal(r["indicator"]), Decimal(r["public"]), Decimal(r["leadership"]),
                Decimal(r["composite"]), r["grade"], "是" if r["vetoed"] else ""]

    if path.suffix.lower() == ".csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("类别 category",) + EXPORT_COLUMNS)
            for r in rows:
                writer.writerow([r["category"]] + [str(v) for v in line(r)])
        return path
    if path.suffix.lower() != ".xlsx":
        raise InvalidInput(f"不支持的导出格式 {path.suffix} — expected .xlsx or .csv")
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for category in dict.fromkeys(r["category"] for r in rows):
        sheet = book.create_sheet(category[:31])
        sheet.append(EXPORT_COLUMNS)
        for r in (r for r in rows if r["category"] == category):
            sheet.append(line(r))
    book.save(path)
    return path


def adjust_for_appeal(db: Database, appeal_id: int, actor: Actor, item: str, value: Any,
                      decision: str) -> list[dict[str, Any]]:
    """Decide an appeal by correcting one entered value: recompute the unit's composite,
    grade and its category's ranking, fire the appeal's ``adjust`` with the old and new
    result in its (hash-chained) history, store the changed results with their old and
    new values, and re-publish them. Returns the changes (every unit whose result moved).

    All of it is ONE transaction (the appeal fires through ``fire_on`` on the same
    connection): a refused adjustment — wrong role or state, missing decision — changes
    nothing, and a failure storing the results un-fires the appeal.
    """
    new_value = _decimal(value)
    if new_value is None:
        raise InvalidInput(f"得分 {value!r} 须为数字 — not a number")
    with db.write() as conn:
        appeal = conn.execute(select(_i.c.parent_id, _i.c.subject_unit_id, _i.c.definition_key)
                              .where(_i.c.id == appeal_id)).first()
        if appeal is None or appeal.definition_key != "appeal":
            raise NotFound(f"没有编号为 {appeal_id} 的申诉 — no appeal {appeal_id}")
        cycle_row = conn.execute(select(_c).where(_c.c.instance_id == appeal.parent_id)).first()
        if cycle_row is None:
            raise InvalidInput("申诉不属于任何年度考评 — the appeal has no cycle")
        cycle = dict(cycle_row._mapping)
        config = config_from_mapping(cycle["config"])
        override = {(appeal.subject_unit_id, item): new_value}
        results = compute(_inputs(conn, cycle, config, override), indicator_systems(conn), config)
        old = conn.execute(select(_r).where(_r.c.cycle_id == cycle["id"],
                                            _r.c.unit_id == appeal.subject_unit_id)).first()
        if old is None:
            raise InvalidInput("该单位尚无结果 — the unit has no result to adjust")
        mine = next(r for r in results if r.unit_id == appeal.subject_unit_id)
        before = {"composite": old.composite, "grade": old.grade, "rank": old.rank}
        after = {"composite": str(mine.composite), "grade": mine.grade, "rank": mine.rank}
        fire_on(conn, db, appeal_id, "adjust", actor,
                comment=f"{decision}({item}: → {new_value})",
                data={"decision": decision, "old_result": _text(before),
                      "new_result": _text(after)})
        conn.execute(delete(_s).where(_s.c.cycle_id == cycle["id"],
                                      _s.c.unit_id == appeal.subject_unit_id, _s.c.item == item))
        conn.execute(insert(_s).values(cycle_id=cycle["id"], unit_id=appeal.subject_unit_id,
                                       item=item, value=str(new_value),
                                       entered_by=actor.username, entered_at=utcnow()))
        return _store(conn, cycle, results, f"申诉调整 appeal #{appeal_id}: {decision}",
                      appeal_id)


def _text(values: dict[str, Any]) -> str:
    return (f"综合得分 {values['composite']},等次 {values['grade']},排名 "
            f"{values['rank'] if values['rank'] is not None else '—'}")
