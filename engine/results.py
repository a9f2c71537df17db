"""Results out: computing, publishing (with the cycle's approval), reading, exporting.

The arithmetic is :mod:`engine.scoring`; this module reads its inputs from the database
(entered values, vetoes, the indicator systems bound to the cycle's year) and stores
results. Computing and publishing are facts in the chain of the year's cycle
(:mod:`engine.evaluation_facts`) written with the ``results`` rows they change.
Entering scores and vetoes is :mod:`engine.scores`; corrections after publication and
appeal adjustments are :mod:`engine.corrections` (their names are re-exported here).

Publication is not a step of its own: the cycle's ``approve_results`` transition
(committee, 结果审定 → 公示) declares the ``publish_results`` effect, which refuses
when a unit in scope has no result or scores changed since the last computation.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from .authz import Actor, usable_role
from .clock import utcnow
from .corrections import adjust_for_appeal, correct_result  # noqa: F401 (re-exported)
from .cycle_config import config_from_mapping
from .cycles import cycle_for_year
from .db import Database
from .effects import EffectCall, effect
from .evaluation_facts import (cycle_of_instance, cycle_on, moment, record, require_role,
                               require_unpublished)
from .evaluation_steps import PUBLISH_STAGE
from .exceptions import InvalidInput, NotFound, StageClosed
from .facts import (RESULTS_COMPUTE, RESULTS_PUBLISH, SCORE_ENTER, SCORE_IMPORT, VETO_RECORD,
                    VETO_REMOVE, SYSTEMS_BIND)
from .instances import fire
from .models import HistoryEntry, Instance, Unit
from .registry import compiled
from .result_store import (VALUE_KEYS, indicator_systems, recompute,  # noqa: F401
                           store_results)
from .scoring import Result
from .scoring_models import ResultRow
from .scores import (COMPONENT_ITEMS, ENTRY_ROLES, OFFICE, SCORE_HEADERS,  # noqa: F401
                     enter_scores, import_scores, record_veto, remove_veto, verified_by)

_u, _h, _i = Unit.__table__, HistoryEntry.__table__, Instance.__table__
_r = ResultRow.__table__
INPUT_FACTS = (SCORE_ENTER, SCORE_IMPORT, VETO_RECORD, VETO_REMOVE, SYSTEMS_BIND,
               RESULTS_COMPUTE)
PUBLISH_TRIGGER = "approve_results"
EXPORT_COLUMNS = ("排名 rank", "单位编码 code", "单位名称 unit", "指标评估 indicator",
                  "公众评议 public", "领导评价 leadership", "综合得分 composite", "等次 grade",
                  "一票否决 veto")


def compute_results(db: Database, year: int, actor: Actor,
                    reason: str = "计算结果 computed") -> list[Result]:
    """Compute and store every in-scope unit's result for ``year`` (office only, in the
    ``compute_results`` stages, before publication), as a ``results.compute`` fact."""
    role = require_role(actor, OFFICE, "compute_results")
    with db.write() as conn:
        cycle = cycle_on(conn, year)
        require_unpublished(conn, db, cycle, "compute_results")
        results = recompute(conn, cycle)
        now = utcnow()
        facts, _changes, _ = store_results(conn, cycle, results, reason, None, now)
        record(conn, db, cycle, RESULTS_COMPUTE, actor, role,
               {"at": moment(now), "reason": reason, "results": facts}, comment=reason)
    return results


def _check_publishable(conn: Connection, cycle: dict) -> None:
    """Refuse publishing when a unit in scope has no result, or scores or vetoes
    changed after the last computation."""
    config = config_from_mapping(cycle["config"])
    query = select(_u.c.code).where(_u.c.id.not_in(
        select(_r.c.unit_id).where(_r.c.cycle_id == cycle["id"]))).order_by(_u.c.code)
    if config.categories is not None:
        query = query.where(_u.c.category.in_(config.categories))
    missing = list(conn.execute(query).scalars())
    if missing:
        raise InvalidInput(f"尚有 {len(missing)} 个单位未计算结果({'、'.join(missing[:10])}),"
                           f"不能公布 — results not computed for {len(missing)} units in scope",
                           missing=missing)
    last = conn.execute(select(_h.c.trigger).where(
        _h.c.instance_id == cycle["instance_id"], _h.c.trigger.in_(INPUT_FACTS))
        .order_by(_h.c.seq.desc()).limit(1)).scalar()
    if last is not None and last != RESULTS_COMPUTE:
        raise InvalidInput("计算结果后得分、一票否决或指标体系有变动,须重新计算后才能公布 — "
                           "scores, vetoes or the indicator system changed after the last "
                           "computation; recompute first")


def publish_on(conn: Connection, db: Database, cycle: dict, actor: Actor, role: str,
               trigger: str) -> int:
    """Publish every result of the cycle now, as a ``results.publish`` fact."""
    _check_publishable(conn, cycle)
    now = utcnow()
    ids = list(conn.execute(select(_r.c.unit_id).where(_r.c.cycle_id == cycle["id"])
                            .order_by(_r.c.unit_id)).scalars())
    conn.execute(update(_r).where(_r.c.cycle_id == cycle["id"]).values(published_at=now))
    record(conn, db, cycle, RESULTS_PUBLISH, actor, role, {
        "at": moment(now), "trigger": trigger,
        "published": {str(unit_id): moment(now) for unit_id in ids}})
    return len(ids)


@effect("publish_results")
def _publish(call: EffectCall) -> None:
    """The ``approve_results`` transition publishes the cycle's results (same
    transaction: a refusal here rolls the approval back)."""
    cycle = cycle_of_instance(call.conn, call.instance_id)
    if cycle is None:
        raise InvalidInput(f"事项 {call.instance_id} 不是年度考评 — instance "
                           f"{call.instance_id} is not an evaluation cycle")
    role = usable_role(call.actor, ("committee", "office", "admin", "system"), None) \
        or next(iter(sorted(call.actor.roles)), "system")
    publish_on(call.conn, call.db, cycle, call.actor, role, call.trigger)


def publish_results(db: Database, year: int, actor: Actor, *,
                    comment: str | None = None) -> int:
    """Approve and publish ``year``'s results: fires the cycle's ``approve_results``
    (committee, from 结果审定), whose effect publishes them; returns how many. In any
    other stage :class:`StageClosed` (gate ``publish_results``) names the one needed."""
    cycle = cycle_for_year(db, year)
    _require_publish_stage(db, cycle["instance_id"])
    fire(db, cycle["instance_id"], PUBLISH_TRIGGER, actor, comment=comment)
    with db.read() as conn:
        return len(list(conn.execute(select(_r.c.id).where(
            _r.c.cycle_id == cycle["id"], _r.c.published_at.is_not(None))).scalars()))


def _require_publish_stage(db: Database, cycle_instance_id: int) -> None:
    """StageClosed unless the cycle is in 结果审定 (the state ``approve_results`` leaves)."""
    with db.read() as conn:
        row = conn.execute(select(_i.c.state, _i.c.definition_version_id).where(
            _i.c.id == cycle_instance_id)).first()
    if row is None or row.state == PUBLISH_STAGE:
        return
    definition = compiled(db, row.definition_version_id).definition
    raise StageClosed(
        f"审定并公布考评结果只能在「{definition.state_label(PUBLISH_STAGE).zh}」阶段进行,"
        f"当前阶段为「{definition.state_label(row.state).zh}」 — publishing the results "
        f"(approve_results) is allowed only in the cycle stage {PUBLISH_STAGE} (the cycle "
        f"is in {row.state})", gate="publish_results", stage=row.state,
        needed_stages=[PUBLISH_STAGE], instance=cycle_instance_id)


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
