"""After the results: filing appeals within the window, and issuing rectification items.

The appeal window (default 5 working days from the result notice, a cycle setting
[inferred]) is counted on the working-day calendar from the local day the unit's result
was published; an appeal filed later is recorded with ``filed_in_time: "no"``, which the
``appeal_in_time`` guard turns into "reject as late" for the office.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from .authz import Actor
from .calendar import WorkCalendar
from .clock import local_today
from .cycle_config import config_from_mapping
from .cycles import cycle_for_year
from .db import Database
from .exceptions import InvalidInput
from .instances import FireResult, start
from .models import Unit
from .scoring_models import ResultRow

_r, _u = ResultRow.__table__, Unit.__table__


def appeal_deadline(db: Database, year: int, unit_id: int) -> date:
    """The last local day on which ``unit_id`` may appeal its ``year`` result."""
    cycle = cycle_for_year(db, year)
    config = config_from_mapping(cycle["config"])
    with db.read() as conn:
        published = conn.execute(select(_r.c.published_at).where(
            _r.c.cycle_id == cycle["id"], _r.c.unit_id == unit_id)).scalar()
    if published is None:
        raise InvalidInput("结果尚未公布,不能申诉 — the result is not published yet")
    return WorkCalendar().add_working_days(local_today(published),
                                           config.appeal_window_working_days)


def file_appeal(db: Database, year: int, actor: Actor, grounds: str, *,
                unit_id: int | None = None) -> FireResult:
    """File an appeal of the actor's unit (or ``unit_id``, for the office) against its
    ``year`` result, as a child of the cycle; lateness is recorded, not refused."""
    unit = unit_id if unit_id is not None else actor.unit_id
    if unit is None:
        raise InvalidInput("须指定申诉单位 — which unit appeals?")
    in_time = local_today() <= appeal_deadline(db, year, unit)
    parent = cycle_for_year(db, year)["instance_id"]
    return start(db, "appeal", actor, unit_id=unit, parent_id=parent,
                 data={"grounds": grounds, "filed_in_time": "yes" if in_time else "no"})


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
