"""After the results: filing appeals within the window, and issuing rectification items.

The appeal window (default 5 working days from the result notice, a cycle setting
[inferred]) is counted on the database's working-day calendar (imported notices and
administrators' overrides included, as for every deadline) from the local day the unit's
result was published; an appeal filed later is recorded with ``filed_in_time: "no"`` (set
by the engine; no one may edit it), which the ``appeal_in_time`` guard turns into
"reject as late" for the office. Appeals are filed only against a published result and
only while the cycle is in the stages of its ``file_appeal`` gate (公示, 申诉复核). A
unit files at most one appeal per indicator (item) per cycle (:func:`file_appeal`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, select

from .authz import Actor, denial, usable_role
from .calendar import calendar_for
from .children import check_parent_open
from .clock import local_today, utcnow
from .cycle_config import config_from_mapping
from .cycles import cycle_for_year
from .db import Database
from .exceptions import Conflict, InvalidInput, StageClosed
from .gates import require_stage
from .indicator_systems import bound_systems
from .fields import validate_patch
from .instances import FireResult, _resolve_unit, create_instances, start, start_roles
from .models import Instance, Unit
from .registry import latest
from .scoring_models import Cycle, ResultRow

_r, _u, _i, _c = ResultRow.__table__, Unit.__table__, Instance.__table__, Cycle.__table__
APPEAL_KEY = "appeal"
OVERALL = "overall"
ITEM_LABELS = {OVERALL: "综合结果", "public": "公众评议", "leadership": "领导评价"}
APPEAL_GATE = "file_appeal"


def _published_at(conn: Connection, cycle_id: int, unit_id: int):
    published = conn.execute(select(_r.c.published_at).where(
        _r.c.cycle_id == cycle_id, _r.c.unit_id == unit_id)).scalar()
    if published is None:
        raise StageClosed("结果尚未公布,不能申诉 — the result is not published yet; an appeal "
                          "is filed against a published result", gate=APPEAL_GATE,
                          unit=unit_id)
    return published


def _deadline(db: Database, config, published) -> date:
    return calendar_for(db).add_working_days(local_today(published),
                                             config.appeal_window_working_days)


def appeal_deadline(db: Database, year: int, unit_id: int) -> date:
    """The last local day on which ``unit_id`` may appeal its ``year`` result."""
    cycle = cycle_for_year(db, year)
    with db.read() as conn:
        published = _published_at(conn, cycle["id"], unit_id)
    return _deadline(db, config_from_mapping(cycle["config"]), published)


def file_appeal(db: Database, year: int, actor: Actor, grounds: str, *,
                unit_id: int | None = None, item: str = OVERALL,
                unit_code: str | None = None) -> FireResult:
    """File an appeal of the actor's unit (or ``unit_id`` / ``unit_code``, for the
    office; NotFound for an unknown code) against its
    published ``year`` result on ``item`` (an indicator code of the system bound to the
    year for the unit's category, ``public``, ``leadership`` or, by default,
    ``overall``), as a child of the cycle. Only while the cycle is in a stage of the
    ``file_appeal`` gate (公示, 申诉复核) and only against a published result
    (:class:`StageClosed` otherwise); lateness is recorded (``filed_in_time``, set by
    the engine), not refused.

    One appeal per indicator: while an appeal of the unit on the same item exists in
    the cycle in any state but ``withdrawn`` (a rejected one included: it was decided),
    another is refused with :class:`Conflict` naming the indicator. The check and the
    insert share one transaction that first locks the cycle's row (``FOR UPDATE`` on
    PostgreSQL; SQLite serialises writers), so two filings at once cannot both pass.
    """
    item = (item or OVERALL).strip()
    cycle = cycle_for_year(db, year)
    comp = latest(db, APPEAL_KEY)
    with db.write() as conn:
        unit = _appeal_unit(conn, actor, unit_id, unit_code)
        role = usable_role(actor, start_roles(comp), unit)
        if role is None:
            raise denial(actor, start_roles(comp), unit, "start", definition=APPEAL_KEY)
        conn.execute(select(_c.c.id).where(_c.c.id == cycle["id"]).with_for_update())
        require_stage(conn, db, cycle["instance_id"], APPEAL_GATE)
        published = _published_at(conn, cycle["id"], unit)
        in_time = local_today() <= _deadline(db, config_from_mapping(cycle["config"]),
                                             published)
        check_parent_open(conn, db, cycle["instance_id"], definition=APPEAL_KEY)
        label = item_label(conn, unit, item, cycle["instance_id"])
        _refuse_second(conn, comp, cycle, unit, item, label)
        data = validate_patch(comp.definition, {"grounds": grounds, "item": item,
                                                "filed_in_time": "yes" if in_time else "no"})
        [instance_id] = create_instances(conn, db, comp, actor, role, [
            {"subject_unit_id": unit, "parent_id": cycle["instance_id"], "data": data}],
            utcnow())
        digest = conn.execute(select(_i.c.last_hash).where(_i.c.id == instance_id)).scalar()
    return FireResult(instance_id, None, comp.definition.initial, 1, digest)


def _appeal_unit(conn: Connection, actor: Actor, unit_id: int | None,
                 unit_code: str | None) -> int:
    """The appealing unit: ``unit_code`` or ``unit_id`` if given, else the actor's."""
    unit = _resolve_unit(conn, unit_code, unit_id)
    unit = unit if unit is not None else actor.unit_id
    if unit is None:
        raise InvalidInput("须指定申诉单位 — which unit appeals? (--unit CODE)")
    return unit


def _refuse_second(conn: Connection, comp, cycle: dict, unit: int, item: str,
                   label: str) -> None:
    """Conflict when the unit already has an appeal on ``item`` (not withdrawn)."""
    for other in conn.execute(select(_i.c.id, _i.c.state, _i.c.data).where(
            _i.c.parent_id == cycle["instance_id"], _i.c.definition_key == APPEAL_KEY,
            _i.c.subject_unit_id == unit, _i.c.state != "withdrawn").order_by(_i.c.id)):
        if ((other.data or {}).get("item") or OVERALL) == item:
            raise Conflict(
                f"指标「{label}」已有申诉(#{other.id},{comp.definition.state_label(other.state).zh}),"
                f"同一指标每个年度只能申诉一次 — an appeal on {item!r} already exists "
                f"(#{other.id}, {other.state}); one appeal per indicator per cycle",
                item=item, appeal=other.id, state=other.state)


def item_label(conn: Connection, unit_id: int, item: str,
               cycle_instance_id: int | None = None) -> str:
    """``item`` as people know it (``K1 县委县政府重点工作``, 公众评议, …); an indicator
    code unknown to the system bound to the cycle for the unit's category is refused
    (without a cycle, or with nothing bound, the code is shown as it is)."""
    if item in ITEM_LABELS:
        return ITEM_LABELS[item]
    category = conn.execute(select(_u.c.category).where(_u.c.id == unit_id)).scalar()
    bound = (bound_systems(conn, cycle_instance_id).get(category)
             if cycle_instance_id is not None else None)
    if not bound:
        return item
    rows = {str(r.get("code")): r for r in bound.get("indicators") or []}
    if item not in rows:
        known = ", ".join(list(rows) + list(ITEM_LABELS))
        raise InvalidInput(f"没有指标 {item} — {category} has no indicator {item!r} (known: "
                           f"{known})", item=item)
    return f"{item} {rows[item].get('name') or ''}".strip()


def issue_rectifications(db: Database, year: int, actor: Actor) -> list[int]:
    """Start a rectification item (child of the cycle) for every unit whose grade is one
    of the cycle's ``rectify_grades`` (default: the lowest, 不合格)."""
    cycle = cycle_for_year(db, year)
    config = config_from_mapping(cycle["config"])
    with db.read() as conn:
        rows = conn.execute(select(_r.c.unit_id, _r.c.grade, _r.c.composite).where(
            _r.c.cycle_id == cycle["id"], _r.c.grade.in_(config.rectify_grades))
            .order_by(_r.c.unit_id)).all()
    return [start(db, "rectification", actor, unit_id=r.unit_id, parent_id=cycle["instance_id"],
                  data={"problem": f"{year} 年度绩效评估等次为{r.grade}(综合得分 {r.composite}),"
                                   f"须制定整改措施"}).instance_id for r in rows]
