"""What a year's evaluation allows now, and the history of its score and result facts.

:func:`allowed_steps` is the rule the engine enforces (stage gates of the cycle
definition and the freeze after publication) turned into the list a page shows: the
results page offers only the buttons of the steps allowed now. :func:`fact_history`
reads the cycle's chain for the evaluation facts (who, when, before → after, reason),
for the office, the committee and auditors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from workflow.spec import Label

from .db import Database
from .evaluation_facts import cycle_on, is_published
from .facts import FACT_LABELS, fact_label
from .gates import stage_gates
from .models import HistoryEntry, Instance, Unit
from .registry import compiled

_h, _i, _u = HistoryEntry.__table__, Instance.__table__, Unit.__table__
PUBLISH_STAGE = "review_approval"
#: each step and the gate that opens it; ``before``/``after``: only before/after publication
STEPS = {"enter_scores": ("enter_scores", "before"), "record_veto": ("enter_scores", "before"),
         "remove_veto": ("enter_scores", "before"),
         "compute_results": ("compute_results", "before"),
         "file_appeal": ("file_appeal", "after"),
         "correct_results": ("correct_results", "after")}


@dataclass(frozen=True)
class EvaluationSteps:
    """The cycle's stage and the evaluation steps it allows now."""

    year: int
    stage: str
    stage_label: Label
    published: bool
    allowed: frozenset[str]
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # of every state of the cycle

    def allows(self, step: str) -> bool:
        """Whether ``step`` (a key of :data:`STEPS`, or ``publish``) is allowed now."""
        return step in self.allowed


def allowed_steps(db: Database, year: int) -> EvaluationSteps:
    """The evaluation steps the ``year`` cycle allows now (NotFound: no cycle)."""
    with db.read() as conn:
        cycle = cycle_on(conn, year)
        row = conn.execute(select(_i.c.state, _i.c.definition_version_id, _i.c.definition_key)
                           .where(_i.c.id == cycle["instance_id"])).first()
        published = is_published(conn, cycle["id"])
    gates = stage_gates(db, row.definition_version_id, row.definition_key)
    allowed = {step for step, (gate, when) in STEPS.items()
               if (gate not in gates or row.state in gates[gate])
               and published == (when == "after")}
    if row.state == PUBLISH_STAGE and not published:
        allowed.add("publish")
    definition = compiled(db, row.definition_version_id).definition
    return EvaluationSteps(year, row.state, definition.state_label(row.state), published,
                           frozenset(allowed),
                           {step: tuple(gates.get(gate, ())) for step, (gate, _) in
                            STEPS.items()},
                           {s: definition.state_label(s) for s in definition.states})


def _score_lines(patch: dict[str, Any], codes: dict[int, str]) -> list[str]:
    lines = [f"{s.get('unit') or codes.get(s['unit_id'], s['unit_id'])} {s['item']}: "
             f"{s['before'] if s['before'] is not None else '—'} → {s['after']}"
             for s in patch.get("scores") or ()]
    lines += [f"{v['unit']} 一票否决 veto「{v['item']}」: {v['reason']}"
              for v in patch.get("vetoes_added") or ()]
    lines += [f"{v['unit']} 撤销一票否决 veto withdrawn「{v['item']}」"
              for v in patch.get("vetoes_removed") or ()]
    return lines


def _result_lines(patch: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for r in patch.get("results") or ():
        new, old = r["after"], r["before"]
        if old is None:
            lines.append(f"{r['unit']} 综合得分 {new['composite']},{new['grade']},"
                         f"排名 {new['rank'] or '—'}")
        else:
            lines.append(f"{r['unit']} 综合得分 {old['composite']} → {new['composite']},"
                         f"{old['grade']} → {new['grade']},排名 {old['rank'] or '—'} → "
                         f"{new['rank'] or '—'}")
    if patch.get("category") and patch.get("indicators") is not None:
        lines.append(f"{patch['category']}: {len(patch['indicators'])} 项指标 indicators"
                     + (f"(指标体系 #{patch['system_id']})" if patch.get("system_id") else ""))
    if patch.get("published") and not patch.get("results"):
        lines.append(f"公布 {len(patch['published'])} 个单位的结果 — {len(patch['published'])} "
                     f"results published")
    return lines


def fact_history(db: Database, year: int, *, limit: int = 500) -> list[dict[str, Any]]:
    """The ``year`` cycle's evaluation facts, newest first: seq, kind, label, actor,
    role, moment, reason and the before → after lines."""
    with db.read() as conn:
        cycle = cycle_on(conn, year)
        rows = conn.execute(select(_h.c.seq, _h.c.trigger, _h.c.actor, _h.c.role, _h.c.at,
                                   _h.c.comment, _h.c.data_patch).where(
            _h.c.instance_id == cycle["instance_id"], _h.c.trigger.in_(list(FACT_LABELS)))
            .order_by(_h.c.seq.desc()).limit(limit)).all()
        codes = dict(conn.execute(select(_u.c.id, _u.c.code)).all())
    return [{"seq": r.seq, "kind": r.trigger, "label": fact_label(r.trigger), "actor": r.actor,
             "role": r.role, "at": r.at, "reason": (r.data_patch or {}).get("reason")
             or r.comment, "source": (r.data_patch or {}).get("source"),
             "lines": _score_lines(r.data_patch or {}, codes) + _result_lines(r.data_patch or {})}
            for r in rows]
