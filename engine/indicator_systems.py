"""Indicator systems bound to an evaluation year.

An ``indicator_system`` instance carries its ``year`` and ``category``. When one is put
in force (or an adjustment of it finishes) the declared effect
``bind_indicator_system`` records a ``systems.bind`` fact in the chain of that year's
cycle, with a snapshot of the indicators; opening a cycle binds the systems already in
force for its year. Computing a year, an appeal's indicator list and the verifying
departments' rights read only that year's bindings (:func:`bound_systems`), so
adjusting a later year's system never changes an earlier year.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from .facts import SYSTEMS_BIND
from .models import HistoryEntry
from .scoring import Indicator

_h = HistoryEntry.__table__


def bound_systems(conn: Connection, cycle_instance_id: int) -> dict[str, dict[str, Any]]:
    """Each category's binding in the cycle's chain (the newest per category): the
    ``systems.bind`` payload — ``category``, ``year``, ``system_id``, ``system_hash``,
    ``indicators`` (the snapshot rows) and ``seq`` (the entry's place in the chain)."""
    found: dict[str, dict[str, Any]] = {}
    for seq, patch in conn.execute(select(_h.c.seq, _h.c.data_patch).where(
            _h.c.instance_id == cycle_instance_id, _h.c.trigger == SYSTEMS_BIND)
            .order_by(_h.c.seq)):
        found[patch["category"]] = {**patch, "seq": seq}
    return found


def scored_indicators(rows: list[dict[str, Any]]) -> list[Indicator]:
    """The scored indicators of a system's rows (veto items are not scored)."""
    return [Indicator(str(r["code"]), Decimal(str(r["weight"])), r.get("method") or "direct",
                      None if r.get("target") is None else Decimal(str(r["target"])))
            for r in rows or [] if r.get("veto") != "yes"]


def indicators_for_cycle(conn: Connection, cycle_instance_id: int) -> dict[str, list[Indicator]]:
    """The scored indicators of each category bound to the cycle."""
    return {category: scored_indicators(b.get("indicators") or [])
            for category, b in bound_systems(conn, cycle_instance_id).items()}
