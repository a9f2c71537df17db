"""Storing computed results: the inputs of a computation and the ``results`` rows.

Shared by :mod:`engine.results` (computing, publishing) and :mod:`engine.corrections`
(corrections and appeal adjustments after publication). :func:`store_results` returns
what the caller's fact records (:mod:`engine.evaluation_facts`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .cycle_config import CycleConfig, config_from_mapping
from .evaluation_facts import moment
from .indicator_systems import indicators_for_cycle
from .models import Unit
from .scoring import Indicator, Result, UnitScores, compute
from .scoring_models import ResultChange, ResultRow, ScoreEntry, Veto
from .scores import COMPONENT_ITEMS

_u = Unit.__table__
_s, _v, _r, _rc = (ScoreEntry.__table__, Veto.__table__, ResultRow.__table__,
                   ResultChange.__table__)
VALUE_KEYS = ("indicator", "public", "leadership", "composite", "grade", "rank", "vetoed")


def indicator_systems(conn: Connection, cycle_instance_id: int) -> dict[str, list[Indicator]]:
    """The scored indicators of each category bound to the cycle's year."""
    return indicators_for_cycle(conn, cycle_instance_id)


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


def stored_values(row) -> dict[str, Any]:
    """A ``results`` row's comparable values (as :meth:`Result.values`)."""
    return {k: getattr(row, k) for k in VALUE_KEYS}


def _row(cycle_id: int, r: Result, revision: int, now) -> dict[str, Any]:
    return {"cycle_id": cycle_id, "unit_id": r.unit_id, "category": r.category,
            **r.values(), "revision": revision, "computed_at": now, "published_at": None}


def store_results(conn: Connection, cycle: dict, results: list[Result], reason: str,
                  appeal_id: int | None, now) -> tuple[list[dict], list[dict], dict[str, str]]:
    """Insert new results; update changed ones (revision + 1, re-published when they
    were published) recording old and new. Returns the fact's ``results`` list, the
    ``result_changes`` rows written and the fact's ``published`` map."""
    old = {r.unit_id: r for r in conn.execute(select(_r).where(_r.c.cycle_id == cycle["id"]))}
    facts, changes, published = [], [], {}
    fresh = [_row(cycle["id"], r, 1, now) for r in results if r.unit_id not in old]
    if fresh:
        conn.execute(insert(_r), fresh)
    for r in results:
        before = old.get(r.unit_id)
        previous = stored_values(before) if before is not None else None
        if previous == r.values():
            continue
        revision = before.revision + 1 if before is not None else 1
        facts.append({"unit_id": r.unit_id, "unit": r.code, "revision": revision,
                      "before": previous, "after": r.values()})
        if before is None:
            continue
        row = _row(cycle["id"], r, revision, now)
        row["published_at"] = before.published_at and now  # a published result is re-published
        if before.published_at is not None:
            published[str(r.unit_id)] = moment(now)
        conn.execute(update(_r).where(_r.c.id == before.id).values(**row))
        change = {"cycle_id": cycle["id"], "unit_id": r.unit_id, "revision": revision,
                  "old": previous, "new": r.values(), "reason": reason,
                  "appeal_id": appeal_id, "at": now}
        conn.execute(insert(_rc).values(**change))
        changes.append(change)
    return facts, changes, published


def recompute(conn: Connection, cycle: dict,
              override: dict[tuple[int, str], Decimal] | None = None) -> list[Result]:
    """Every in-scope unit's result from the stored inputs (and ``override``), with the
    cycle's bound indicator systems."""
    config = config_from_mapping(cycle["config"])
    return compute(_inputs(conn, cycle, config, override),
                   indicator_systems(conn, cycle["instance_id"]), config)
