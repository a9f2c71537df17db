"""Stage gates: the evaluation steps a cycle allows only in some of its states.

The cycle definition declares them (``gates: {enter_scores: [verification, scoring],
…}``, catalogue :data:`workflow.stages.GATES`). :func:`require_stage` reads the cycle
instance's state on the caller's connection — inside the step's own write
transaction, so a step and a concurrent cycle transition cannot interleave — and
raises :class:`~engine.exceptions.StageClosed` (HTTP 409, CLI exit 5) naming the
stages the step needs. A cycle started on a definition version without ``gates``
(a database from before they existed) is gated by the newest version's.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from workflow.stages import GATES

from .db import Database
from .exceptions import NotFound, StageClosed
from .models import Instance
from .registry import compiled, latest

_i = Instance.__table__


def stage_gates(db: Database, version_id: int, key: str) -> dict[str, tuple[str, ...]]:
    """The gates of a cycle definition version (the newest version's when it has none)."""
    gates = compiled(db, version_id).definition.gates
    return dict(gates or latest(db, key).definition.gates)


def require_stage(conn: Connection, db: Database, cycle_instance_id: int, gate: str) -> str:
    """The cycle's state, if it allows ``gate``; else raise StageClosed."""
    row = conn.execute(select(_i.c.state, _i.c.definition_version_id, _i.c.definition_key)
                       .where(_i.c.id == cycle_instance_id)).first()
    if row is None:
        raise NotFound(f"没有编号为 {cycle_instance_id} 的年度考评 — no cycle instance "
                       f"{cycle_instance_id}", instance=cycle_instance_id)
    allowed = stage_gates(db, row.definition_version_id, row.definition_key).get(gate)
    if allowed is None or row.state in allowed:
        return row.state
    definition = compiled(db, row.definition_version_id).definition
    names_zh = "、".join(definition.state_label(s).zh for s in allowed)
    step = GATES[gate] if gate in GATES else None
    raise StageClosed(
        f"{step.zh if step else gate}只能在「{names_zh}」阶段进行,当前阶段为"
        f"「{definition.state_label(row.state).zh}」 — {gate} is allowed only in the cycle "
        f"stages {', '.join(allowed)} (the cycle is in {row.state})",
        gate=gate, stage=row.state, needed_stages=list(allowed),
        instance=cycle_instance_id)
