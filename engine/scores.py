"""Scores and vetoes in: entering and importing scores, recording and withdrawing vetoes.

Each write is a fact in the chain of the year's cycle (:mod:`engine.evaluation_facts`)
with the values before and after, committed with the ``score_entries`` / ``vetoes``
rows it changes. Entering is allowed only in the cycle stages of the ``enter_scores``
gate and never once the year's results are published (then a change goes through an
appeal decision or a correction, :mod:`engine.corrections`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import Connection, delete, insert, select

from .authz import Actor
from .clock import utcnow
from .db import Database
from .evaluation_facts import cycle_on, moment, record, require_role, require_unpublished
from .exceptions import InvalidInput, NotFound
from .facts import SCORE_ENTER, SCORE_IMPORT, VETO_RECORD, VETO_REMOVE
from .indicator_systems import bound_systems
from .models import Unit
from .org import RowError, read_table
from .scoring_models import ScoreEntry, Veto

_u, _s, _v = Unit.__table__, ScoreEntry.__table__, Veto.__table__
COMPONENT_ITEMS = ("public", "leadership")
ENTRY_ROLES = ("office", "expert", "leader")
OFFICE = ("office",)
ENTER_GATE = "enter_scores"
SCORE_HEADERS = {"unit": ("unit", "单位编码", "编码"), "item": ("item", "指标", "项目", "指标编号"),
                 "value": ("value", "得分", "分值", "score")}


def decimal_value(text: Any) -> Decimal | None:
    """``text`` as a finite Decimal, else None."""
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


def verified_by(conn: Connection, actor: Actor,
                cycle_instance_id: int | None) -> set[tuple[str, str]]:
    """(category, indicator code) pairs of the cycle's bound systems whose ``verifier``
    names the actor's unit."""
    if actor.unit_id is None or cycle_instance_id is None:
        return set()
    unit = conn.execute(select(_u.c.code, _u.c.name).where(_u.c.id == actor.unit_id)).first()
    names = {unit.code, unit.name} if unit else set()
    return {(category, str(r["code"]))
            for category, b in bound_systems(conn, cycle_instance_id).items()
            for r in b.get("indicators") or [] if r.get("verifier") in names}


def _check_rows(conn, role, actor, cycle, rows) -> tuple[list, list[RowError]]:
    units = {r.code: r for r in conn.execute(select(_u.c.code, _u.c.id, _u.c.category))}
    mine = verified_by(conn, actor, cycle["instance_id"]) if role == "expert" else set()
    good, errors = [], []
    for number, (code, item, raw) in enumerate(rows, start=2):
        value = decimal_value(raw)
        if code not in units:
            errors.append(RowError(number, "unit", f"单位 {code} 不存在 (unknown unit)"))
        if not item:
            errors.append(RowError(number, "item", "不能为空 (required)"))
        elif not _may_enter(role, item, units[code].category if code in units else None, mine):
            errors.append(RowError(number, "item", f"角色 {role} 不能录入 {item} "
                                                   f"(not an item assigned to this user)"))
        if value is None or value < 0:
            errors.append(RowError(number, "value", f"得分 {raw!r} 须为非负数 (not a number ≥ 0)"))
        if code in units:
            good.append((units[code].id, code, item, value))
    return good, errors


def write_scores(conn: Connection, cycle: dict[str, Any], actor: Actor,
                 rows: list[tuple[int, str, str, Decimal]], now) -> list[dict[str, Any]]:
    """Set ``(unit id, code, item, value)`` entries; the fact's ``scores`` list."""
    last: dict[tuple[int, str], tuple[str, Decimal]] = {}
    for unit_id, code, item, value in rows:  # a repeated row: the last one counts
        last[(unit_id, item)] = (code, value)
    old = {(r.unit_id, r.item): r.value for r in conn.execute(
        select(_s.c.unit_id, _s.c.item, _s.c.value).where(_s.c.cycle_id == cycle["id"]))}
    changes = []
    for (unit_id, item), (code, value) in last.items():
        conn.execute(delete(_s).where(_s.c.cycle_id == cycle["id"], _s.c.unit_id == unit_id,
                                      _s.c.item == item))
        changes.append({"unit_id": unit_id, "unit": code, "item": item,
                        "before": old.get((unit_id, item)), "after": str(value)})
    if changes:
        conn.execute(insert(_s), [
            {"cycle_id": cycle["id"], "unit_id": c["unit_id"], "item": c["item"],
             "value": c["after"], "entered_by": actor.username, "entered_at": now}
            for c in changes])
    return changes


def enter_scores(db: Database, year: int, actor: Actor, rows: Iterable[tuple[str, str, Any]],
                 *, source: str | None = None) -> list[RowError]:
    """Record ``(unit code, item, value)`` rows — an indicator code, ``public`` or
    ``leadership``; all or nothing, with a ``score.enter`` fact (``score.import`` with
    the file name when ``source`` is given). Returns the row errors (then nothing is
    written). Refused (StageClosed) outside the ``enter_scores`` stages or once the
    year's results are published."""
    role = require_role(actor, ENTRY_ROLES, "enter_scores")
    rows = list(rows)
    with db.write() as conn:
        cycle = cycle_on(conn, year)
        require_unpublished(conn, db, cycle, ENTER_GATE)
        good, errors = _check_rows(conn, role, actor, cycle, rows)
        if errors:
            return errors  # nothing has been written
        now = utcnow()
        changes = write_scores(conn, cycle, actor, good, now)
        if changes:
            payload = {"at": moment(now), "scores": changes}
            if source is not None:
                payload["source"] = source
            record(conn, db, cycle, SCORE_IMPORT if source is not None else SCORE_ENTER,
                   actor, role, payload, comment=source)
    return errors


def import_scores(db: Database, year: int, actor: Actor, path: str | Path, *,
                  source: str | None = None) -> list[RowError]:
    """Import a CSV/XLSX of 单位编码 / 指标 / 得分 rows (e.g. the satisfaction survey);
    the fact names ``source`` (the uploaded file's name; default the file's)."""
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
    return enter_scores(db, year, actor, rows, source=source or Path(path).name)


def _unit(conn: Connection, unit_code: str) -> int:
    unit = conn.execute(select(_u.c.id).where(_u.c.code == unit_code)).scalar()
    if unit is None:
        raise NotFound(f"没有单位编码 {unit_code} — no unit {unit_code!r}", unit=unit_code)
    return unit


def record_veto(db: Database, year: int, actor: Actor, unit_code: str, item: str,
                reason: str) -> int:
    """Record a one-vote veto (一票否决) against a unit (office, in the score-entry
    stages, before publication), as a ``veto.record`` fact; returns the veto's id."""
    role = require_role(actor, OFFICE, "record_veto")
    if not (item or "").strip() or not (reason or "").strip():
        raise InvalidInput("须写明否决事项和理由 — a veto needs an item and a reason")
    item, reason = item.strip(), reason.strip()
    with db.write() as conn:
        cycle = cycle_on(conn, year)
        require_unpublished(conn, db, cycle, ENTER_GATE)
        unit = _unit(conn, unit_code)
        now = utcnow()
        veto_id = conn.execute(insert(_v).values(
            cycle_id=cycle["id"], unit_id=unit, item=item, reason=reason,
            entered_by=actor.username, entered_at=now).returning(_v.c.id)).scalar_one()
        record(conn, db, cycle, VETO_RECORD, actor, role, {"at": moment(now), "vetoes_added": [
            {"veto_id": veto_id, "unit_id": unit, "unit": unit_code, "item": item,
             "reason": reason}]}, comment=reason)
    return veto_id


def remove_veto(db: Database, year: int, actor: Actor, veto_id: int, reason: str) -> None:
    """Withdraw a veto recorded in error (office, before publication, with a reason), as
    a ``veto.remove`` fact; the results change when they are recomputed."""
    role = require_role(actor, OFFICE, "remove_veto")
    if not (reason or "").strip():
        raise InvalidInput("撤销一票否决须说明理由 — withdrawing a veto needs a reason")
    with db.write() as conn:
        cycle = cycle_on(conn, year)
        require_unpublished(conn, db, cycle, ENTER_GATE)
        row = conn.execute(select(_v, _u.c.code).join(_u, _u.c.id == _v.c.unit_id).where(
            _v.c.id == veto_id, _v.c.cycle_id == cycle["id"])).first()
        if row is None:
            raise NotFound(f"{year} 年度没有编号为 {veto_id} 的一票否决 — no veto {veto_id} in "
                           f"{year}", veto=veto_id)
        conn.execute(delete(_v).where(_v.c.id == veto_id))
        record(conn, db, cycle, VETO_REMOVE, actor, role, {
            "at": moment(utcnow()), "reason": reason.strip(), "vetoes_removed": [
                {"veto_id": veto_id, "unit_id": row.unit_id, "unit": row.code,
                 "item": row.item, "reason": row.reason}]}, comment=reason.strip())
