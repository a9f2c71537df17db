"""An upgrade step: record in the chain the scores and results made before they were.

A database from before evaluation facts holds score entries, vetoes and results that
no fact accounts for, so ``audit verify`` (:mod:`engine.facts_audit`) would report
every one of them. :func:`backfill_facts` writes, for each cycle whose chain holds no
evaluation fact at all, ONE ``migration.backfill`` fact carrying those rows as they
are (the scores with who entered them, the vetoes, each result with its revision and
publication moment), written by the system with the reason. A cycle that already has
facts is never backfilled — after the upgrade a row outside the chain is tampering,
not history, and stays reported.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from .authz import Actor
from .db import Database
from .facts import MIGRATION
from .facts_audit import REPLAYED, VALUE_KEYS, _moment
from .instances import record_fact
from .models import HistoryEntry
from .scoring_models import Cycle, ResultRow, ScoreEntry, Veto

_h, _c = HistoryEntry.__table__, Cycle.__table__
_s, _v, _r = ScoreEntry.__table__, Veto.__table__, ResultRow.__table__
BACKFILL_REASON = ("系统升级:补记升级前已录入的得分、否决和结果 — upgrade: the scores, vetoes and "
                   "results entered before they were recorded in the chain")


def _payload(conn: Connection, cycle_id: int) -> dict:
    scores = [{"unit_id": r.unit_id, "item": r.item, "before": None, "after": r.value,
               "entered_by": r.entered_by}
              for r in conn.execute(select(_s).where(_s.c.cycle_id == cycle_id)
                                    .order_by(_s.c.id))]
    vetoes = [{"veto_id": r.id, "unit_id": r.unit_id, "item": r.item, "reason": r.reason}
              for r in conn.execute(select(_v).where(_v.c.cycle_id == cycle_id)
                                    .order_by(_v.c.id))]
    rows = list(conn.execute(select(_r).where(_r.c.cycle_id == cycle_id).order_by(_r.c.id)))
    results = [{"unit_id": r.unit_id, "before": None, "revision": r.revision,
                "after": {k: getattr(r, k) for k in VALUE_KEYS}} for r in rows]
    published = {str(r.unit_id): _moment(r.published_at) for r in rows
                 if r.published_at is not None}
    return {"scores": scores, "vetoes_added": vetoes, "results": results,
            "published": published}


def backfill_facts(db: Database) -> int:
    """Backfill every cycle without evaluation facts that has rows; how many cycles."""
    done = 0
    with db.write() as conn:
        for cycle in conn.execute(select(_c.c.id, _c.c.instance_id)
                                  .order_by(_c.c.id)).all():
            has_facts = conn.execute(select(_h.c.id).where(
                _h.c.instance_id == cycle.instance_id, _h.c.trigger.in_(REPLAYED))
                .limit(1)).first() is not None
            if has_facts:
                continue
            payload = _payload(conn, cycle.id)
            if not any(payload.values()):
                continue
            record_fact(conn, db, cycle.instance_id, MIGRATION, Actor.system(), "system",
                        payload, comment=BACKFILL_REASON)
            done += 1
    return done
