"""Changing published results: an appeal decision or an explicit correction.

Once a year's results are published its scores are frozen (:mod:`engine.scores` and
:func:`engine.results.compute_results` refuse). A change then goes only through

* :func:`adjust_for_appeal` — the office decides an appeal under review by correcting
  one entered value (the appeal's ``adjust`` transition and a ``results.adjust`` fact
  in the cycle's chain), or
* :func:`correct_result` — the office or the committee corrects one value with a reason
  in the stages of the ``correct_results`` gate (a ``results.correct`` fact).

Either recomputes the year (composite, grade, every category's ranking), stores the
changed results with their old and new values, re-publishes those that were published
and records it all in ONE transaction; a correction also notifies the unit through the
outbox (``result_corrected``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select

from .authz import Actor
from .clock import utcnow
from .db import Database
from .evaluation_facts import cycle_on, is_published, lock_cycle, moment, record, require_role
from .exceptions import InvalidInput, NotFound, StageClosed
from .facts import RESULTS_ADJUST, RESULTS_CORRECT
from .gates import require_stage
from .indicator_systems import bound_systems
from .instances import fire_on
from .models import HistoryEntry, Instance, OutboxMessage, Unit
from .result_store import recompute, store_results
from .scores import COMPONENT_ITEMS, decimal_value, write_scores
from .scoring_models import Cycle, ResultRow, ScoreEntry

_i, _u, _c, _o = Instance.__table__, Unit.__table__, Cycle.__table__, OutboxMessage.__table__
_r, _h, _s = ResultRow.__table__, HistoryEntry.__table__, ScoreEntry.__table__
CORRECT_ROLES = ("office", "committee")
CORRECTED_KIND = "result_corrected"
UNIT_ROLES = ("unit_head", "unit_staff")
UNIT_RESULT_KEY = "unit_evaluation"  # the notice links to the unit's own evaluation


def _value(value: Any) -> Decimal:
    found = decimal_value(value)
    if found is None or found < 0:
        raise InvalidInput(f"得分 {value!r} 须为非负数 — not a number ≥ 0", value=str(value))
    return found


def _check_item(conn: Connection, cycle: dict, category: str, item: str) -> None:
    """Refuse an item that is neither a component nor an indicator of the unit's
    category in the systems bound to the cycle."""
    bound = bound_systems(conn, cycle["instance_id"]).get(category) or {}
    codes = [str(r.get("code")) for r in bound.get("indicators") or []
             if r.get("veto") != "yes"]
    if item not in COMPONENT_ITEMS and item not in codes:
        raise InvalidInput(f"没有指标 {item} — {category} has no scored item {item!r} (known: "
                           f"{', '.join(codes + list(COMPONENT_ITEMS))})", item=item)


def _refuse_same(conn: Connection, cycle: dict, unit, item: str, value: Decimal) -> None:
    """A correction that changes nothing is refused (nothing to record or notify)."""
    old = conn.execute(select(_s.c.value).where(_s.c.cycle_id == cycle["id"],
                                                _s.c.unit_id == unit.id,
                                                _s.c.item == item)).scalar()
    if old is not None and Decimal(old) == value:
        raise InvalidInput(f"{unit.code} {item} 的得分已是 {old},无需更正 — the score is already "
                           f"{old}; nothing to correct", unit=unit.code, item=item)


def _apply(conn: Connection, cycle: dict, actor: Actor, unit, item: str, value: Decimal,
           reason: str, appeal_id: int | None, now) -> tuple[dict, list[dict]]:
    """Write the corrected entry, recompute and store; the fact payload and changes."""
    scores = write_scores(conn, cycle, actor, [(unit.id, unit.code, item, value)], now)
    results = recompute(conn, cycle)
    facts, changes, published = store_results(conn, cycle, results, reason, appeal_id, now)
    payload = {"at": moment(now), "reason": reason, "unit": unit.code, "unit_id": unit.id,
               "item": item, "scores": scores, "results": facts, "published": published}
    return payload, changes


def _result_text(fact: dict) -> str:
    old, new = fact["before"], fact["after"]
    return (f"综合得分 composite {old['composite']} → {new['composite']},等次 grade "
            f"{old['grade']} → {new['grade']},排名 rank {old['rank'] or '—'} → "
            f"{new['rank'] or '—'}")


def _summary(unit, item: str, scores: list[dict], facts: list[dict]) -> str:
    score = scores[0]
    mine = next((f for f in facts if f["unit_id"] == unit.id), None)
    text = f"{unit.code} {unit.name} {item}: {score['before'] or '—'} → {score['after']}"
    if mine is not None and mine["before"] is not None:
        text += ";" + _result_text(mine)
    return text


def _notify(conn: Connection, cycle: dict, actor: Actor, unit, payload: dict,
            reason: str, now) -> None:
    """Tell the users of the corrected unit, and of every unit whose published result
    moved with it (a rank), what changed and why; each notice is about the unit's own
    ``unit_evaluation`` of the year (the cycle when it has none)."""
    summary = _summary(unit, payload["item"], payload["scores"], payload["results"])
    texts = {unit.id: summary}
    for fact in payload["results"]:
        if fact["before"] is not None and fact["unit_id"] != unit.id:
            texts[fact["unit_id"]] = (f"因 {unit.code} {payload['item']} 更正 (corrected), "
                                      f"{fact['unit']}:" + _result_text(fact))
    about = dict(conn.execute(select(_i.c.subject_unit_id, _i.c.id).where(
        _i.c.parent_id == cycle["instance_id"], _i.c.definition_key == UNIT_RESULT_KEY,
        _i.c.subject_unit_id.in_(list(texts)))).all())
    for unit_id, text in texts.items():
        instance_id = about.get(unit_id, cycle["instance_id"])  # the unit's evaluation
        conn.execute(insert(_o).values(
            instance_id=instance_id, kind=CORRECTED_KIND,
            dedupe_key=f"{CORRECTED_KIND}:{cycle['instance_id']}:{unit_id}:{payload['at']}",
            recipients={"roles": list(UNIT_ROLES), "unit_id": unit_id},
            payload={"instance_id": instance_id, "cycle_instance_id": cycle["instance_id"],
                     "trigger": RESULTS_CORRECT, "actor": actor.username,
                     "comment": f"{text}。理由 reason: {reason}", "year": cycle["year"]},
            status="pending", attempts=0, created_at=now))


def correct_result(db: Database, year: int, actor: Actor, unit_code: str, item: str,
                   value: Any, reason: str) -> list[dict[str, Any]]:
    """Correct one entered value of a published year (office or committee, with a
    reason, in the ``correct_results`` stages): recompute, re-publish the changed
    results, record a ``results.correct`` fact and notify the unit. Returns the result
    changes (every unit whose result moved)."""
    role = require_role(actor, CORRECT_ROLES, "correct_result")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("更正结果须说明理由 — a correction needs a reason")
    new_value, item = _value(value), (item or "").strip()
    with db.write() as conn:
        cycle = cycle_on(conn, year)
        lock_cycle(conn, cycle)
        state = require_stage(conn, db, cycle["instance_id"], "correct_results")
        if not is_published(conn, cycle["id"]):
            raise StageClosed(f"{year} 年度结果尚未公布,无需更正,请直接录入得分 — the {year} "
                              f"results are not published; enter scores instead",
                              gate="correct_results", stage=state, year=year)
        unit = conn.execute(select(_u.c.id, _u.c.code, _u.c.name, _u.c.category)
                            .where(_u.c.code == unit_code)).first()
        if unit is None:
            raise NotFound(f"没有单位编码 {unit_code} — no unit {unit_code!r}", unit=unit_code)
        _check_item(conn, cycle, unit.category, item)
        _refuse_same(conn, cycle, unit, item, new_value)
        now = utcnow()
        payload, changes = _apply(conn, cycle, actor, unit, item, new_value, reason, None, now)
        text = _summary(unit, item, payload["scores"], payload["results"])
        record(conn, db, cycle, RESULTS_CORRECT, actor, role, payload,
               comment=f"{reason}({text})")
        _notify(conn, cycle, actor, unit, payload, reason, now)
    return changes


def adjust_for_appeal(db: Database, appeal_id: int, actor: Actor, item: str, value: Any,
                      decision: str) -> list[dict[str, Any]]:
    """Decide an appeal by correcting one entered value: recompute the unit's composite,
    grade and its category's ranking, fire the appeal's ``adjust`` with the old and new
    result (engine-computed data in its hash-chained history), store the changed
    results with their old and new values, re-publish them and record a
    ``results.adjust`` fact in the cycle's chain. Returns the changes.

    All of it is ONE transaction (the appeal fires through ``fire_on`` on the same
    connection): a refused adjustment — wrong role or state, missing decision — changes
    nothing, and a failure storing the results un-fires the appeal.
    """
    new_value = decimal_value(value)
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
        return _adjust(conn, db, cycle, appeal, appeal_id, actor, item, new_value, decision)


def _adjust(conn, db, cycle, appeal, appeal_id, actor, item, new_value, decision):
    old = conn.execute(select(_r).where(_r.c.cycle_id == cycle["id"],
                                        _r.c.unit_id == appeal.subject_unit_id)).first()
    if old is None:
        raise InvalidInput("该单位尚无结果 — the unit has no result to adjust")
    unit = conn.execute(select(_u.c.id, _u.c.code, _u.c.name, _u.c.category)
                        .where(_u.c.id == appeal.subject_unit_id)).first()
    results = recompute(conn, cycle, {(unit.id, item): new_value})
    mine = next(r for r in results if r.unit_id == unit.id)
    before = {"composite": old.composite, "grade": old.grade, "rank": old.rank}
    after = {"composite": str(mine.composite), "grade": mine.grade, "rank": mine.rank}
    fire = fire_on(conn, db, appeal_id, "adjust", actor,
                   comment=f"{decision}({item}: → {new_value})", data={"decision": decision},
                   computed={"old_result": _text(before), "new_result": _text(after)})
    lock_cycle(conn, cycle)  # after the appeal's own lock, the order fire() takes them in
    now = utcnow()
    reason = f"申诉调整 appeal #{appeal_id}: {decision}"
    payload, changes = _apply(conn, cycle, actor, unit, item, new_value, reason, appeal_id, now)
    payload.update(appeal_id=appeal_id, decision=decision, appeal_seq=fire.version)
    record(conn, db, cycle, RESULTS_ADJUST, actor, _role_of(conn, appeal_id, fire.version),
           payload, comment=reason)
    return changes


def _role_of(conn: Connection, instance_id: int, seq: int) -> str:
    """The role the appeal's ``adjust`` entry was fired in."""
    return conn.execute(select(_h.c.role).where(_h.c.instance_id == instance_id,
                                                _h.c.seq == seq)).scalar() or "office"


def _text(values: dict[str, Any]) -> str:
    return (f"综合得分 {values['composite']},等次 {values['grade']},排名 "
            f"{values['rank'] if values['rank'] is not None else '—'}")
