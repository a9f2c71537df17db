"""Audit of the evaluation projections against the facts in the chain.

:func:`check_projections` replays every cycle's fact entries (``engine.facts``, in the
shape described in :mod:`engine.evaluation_facts`) and compares them with the tables
the pages read: ``score_entries`` (value, who entered it), ``vetoes``, ``results``
(values, revision and publication) and ``result_changes`` (old and new values of each
revision after the first, and its reason when the fact gives one; those older than a
backfilled revision predate the chain).
A row the chain does not account for, a row the chain has but the table lacks, and a
row that differs are each reported.
``engine.audit.verify`` calls it after the chains themselves verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from .facts import (MIGRATION, RESULTS_ADJUST, RESULTS_COMPUTE, RESULTS_CORRECT,
                    RESULTS_PUBLISH, SCORE_ENTER, SCORE_IMPORT, VETO_RECORD, VETO_REMOVE)
from .models import HistoryEntry
from .scoring_models import Cycle, ResultChange, ResultRow, ScoreEntry, Veto

_h, _c = HistoryEntry.__table__, Cycle.__table__
_s, _v, _r = ScoreEntry.__table__, Veto.__table__, ResultRow.__table__
_rc = ResultChange.__table__
REPLAYED = (SCORE_ENTER, SCORE_IMPORT, VETO_RECORD, VETO_REMOVE, RESULTS_COMPUTE,
            RESULTS_PUBLISH, RESULTS_CORRECT, RESULTS_ADJUST, MIGRATION)
VALUE_KEYS = ("indicator", "public", "leadership", "composite", "grade", "rank", "vetoed")
Problem = tuple[int, int, str]


@dataclass
class Replayed:
    """What the facts of one cycle say its projections hold (each with the seq of the
    fact that last set it)."""

    scores: dict[tuple[int, str], tuple[str, str, int]] = field(default_factory=dict)
    vetoes: dict[int, tuple[int, str, str, int]] = field(default_factory=dict)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: (unit id, revision) → (old, new, seq, reason or None): the ``result_changes`` rows
    #: the facts made
    changes: dict[tuple[int, int], tuple[dict, dict, int, str | None]] = field(
        default_factory=dict)
    #: unit id → the revision a backfill found (older changes predate the chain)
    baseline: dict[int, int] = field(default_factory=dict)
    last_seq: int = 0

    def apply(self, seq: int, actor: str, patch: dict[str, Any]) -> None:
        """Apply one fact's payload."""
        self.last_seq = seq
        for s in patch.get("scores") or ():
            self.scores[(int(s["unit_id"]), s["item"])] = (s["after"], s.get("entered_by", actor),
                                                           seq)
        for v in patch.get("vetoes_added") or ():
            self.vetoes[int(v["veto_id"])] = (int(v["unit_id"]), v["item"], v["reason"], seq)
        for v in patch.get("vetoes_removed") or ():
            self.vetoes.pop(int(v["veto_id"]), None)
        for r in patch.get("results") or ():
            self.results[int(r["unit_id"])] = {"values": r["after"], "revision": r["revision"],
                                                "published_at": None, "seq": seq}
            if r.get("before") is not None:
                self.changes[(int(r["unit_id"]), r["revision"])] = (
                    r["before"], r["after"], seq, patch.get("reason"))
            elif r["revision"] > 1:  # a backfilled result: its earlier changes are history
                self.baseline[int(r["unit_id"])] = r["revision"]
        for unit_id, at in (patch.get("published") or {}).items():
            found = self.results.setdefault(int(unit_id), {"values": None, "revision": None,
                                                           "published_at": None, "seq": seq})
            found.update(published_at=at, seq=seq)


def replay(conn: Connection, instance_id: int) -> Replayed:
    """Replay the evaluation facts of the cycle instance ``instance_id``."""
    state = Replayed()
    for seq, actor, patch in conn.execute(
            select(_h.c.seq, _h.c.actor, _h.c.data_patch).where(
                _h.c.instance_id == instance_id, _h.c.trigger.in_(REPLAYED))
            .order_by(_h.c.seq)):
        state.apply(seq, actor, patch or {})
    return state


def _moment(value) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat(
        timespec="microseconds")


def _scores(conn: Connection, cycle, state: Replayed) -> list[Problem]:
    out, seen = [], set()
    for row in conn.execute(select(_s).where(_s.c.cycle_id == cycle.id).order_by(_s.c.id)):
        key = (row.unit_id, row.item)
        seen.add(key)
        fact = state.scores.get(key)
        where = f"得分 score unit {row.unit_id} {row.item}"
        if fact is None:
            out.append((cycle.instance_id, state.last_seq,
                        f"{where} = {row.value}: 链中无记录 — not recorded in the chain"))
        elif (row.value, row.entered_by) != fact[:2]:
            out.append((cycle.instance_id, fact[2],
                        f"{where}: 表中为 {row.value}({row.entered_by}),链中为 {fact[0]}"
                        f"({fact[1]}) — the table differs from the chain"))
    out += [(cycle.instance_id, fact[2], f"得分 score unit {u} {i} = {fact[0]}: 表中缺失 — "
                                         f"recorded in the chain, missing from the table")
            for (u, i), fact in state.scores.items() if (u, i) not in seen]
    return out


def _vetoes(conn: Connection, cycle, state: Replayed) -> list[Problem]:
    out, seen = [], set()
    for row in conn.execute(select(_v).where(_v.c.cycle_id == cycle.id).order_by(_v.c.id)):
        seen.add(row.id)
        fact = state.vetoes.get(row.id)
        where = f"一票否决 veto #{row.id} unit {row.unit_id} {row.item}"
        if fact is None:
            out.append((cycle.instance_id, state.last_seq,
                        f"{where}: 链中无记录 — not recorded in the chain"))
        elif (row.unit_id, row.item, row.reason) != fact[:3]:
            out.append((cycle.instance_id, fact[3],
                        f"{where}: 表中与链中不符 — the table differs from the chain"))
    out += [(cycle.instance_id, fact[3], f"一票否决 veto #{vid} unit {fact[0]} {fact[1]}: 表中"
                                         f"缺失 — recorded in the chain, missing from the table")
            for vid, fact in state.vetoes.items() if vid not in seen]
    return out


def _result_differences(row, fact: dict[str, Any]) -> list[str]:
    stored = {k: getattr(row, k) for k in VALUE_KEYS}
    diffs = [f"{k} {stored[k]!r} ≠ {(fact['values'] or {}).get(k)!r}" for k in VALUE_KEYS
             if fact["values"] is not None and stored[k] != fact["values"].get(k)]
    if fact["revision"] is not None and row.revision != fact["revision"]:
        diffs.append(f"revision {row.revision} ≠ {fact['revision']}")
    if _moment(row.published_at) != fact["published_at"]:
        diffs.append(f"published_at {_moment(row.published_at)} ≠ {fact['published_at']}")
    return diffs


def _results(conn: Connection, cycle, state: Replayed) -> list[Problem]:
    out, seen = [], set()
    for row in conn.execute(select(_r).where(_r.c.cycle_id == cycle.id).order_by(_r.c.id)):
        seen.add(row.unit_id)
        fact = state.results.get(row.unit_id)
        where = f"结果 result unit {row.unit_id}"
        if fact is None or fact["values"] is None:
            out.append((cycle.instance_id, state.last_seq,
                        f"{where}: 链中无计算记录 — not recorded in the chain"))
        elif diffs := _result_differences(row, fact):
            out.append((cycle.instance_id, fact["seq"], f"{where}: 表中与链中不符 — the table "
                                                        f"differs from the chain: "
                                                        + "; ".join(diffs)))
    out += [(cycle.instance_id, fact["seq"], f"结果 result unit {u}: 表中缺失 — recorded in "
                                             f"the chain, missing from the table")
            for u, fact in state.results.items() if u not in seen]
    return out


def _changes(conn: Connection, cycle, state: Replayed) -> list[Problem]:
    out, seen = [], set()
    for row in conn.execute(select(_rc).where(_rc.c.cycle_id == cycle.id).order_by(_rc.c.id)):
        key = (row.unit_id, row.revision)
        seen.add(key)
        fact = state.changes.get(key)
        where = f"结果变动 result change unit {row.unit_id} revision {row.revision}"
        if fact is None:
            if row.revision > state.baseline.get(row.unit_id, 0):
                out.append((cycle.instance_id, state.last_seq,
                            f"{where}: 链中无记录 — not recorded in the chain"))
        elif (dict(row.old), dict(row.new)) != (fact[0], fact[1]) or \
                (fact[3] is not None and row.reason != fact[3]):
            out.append((cycle.instance_id, fact[2],
                        f"{where}: 表中与链中不符 — the table differs from the chain"
                        + ("" if fact[3] is None or row.reason == fact[3]
                           else f" (reason {row.reason!r} ≠ {fact[3]!r})")))
    out += [(cycle.instance_id, fact[2], f"结果变动 result change unit {u} revision {rev}: "
                                         f"表中缺失 — recorded in the chain, missing from the "
                                         f"table")
            for (u, rev), fact in state.changes.items() if (u, rev) not in seen]
    return out


def check_projections(conn: Connection) -> list[Problem]:
    """``(instance id, seq, reason)`` for every projection row that the chain does not
    account for (empty when they agree)."""
    problems: list[Problem] = []
    for cycle in conn.execute(select(_c.c.id, _c.c.instance_id, _c.c.year).order_by(_c.c.id)):
        state = replay(conn, cycle.instance_id)
        for check in (_scores, _vetoes, _results, _changes):
            problems += check(conn, cycle, state)
    return problems
