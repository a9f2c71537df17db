"""``/api/v1/cycles/{year}/results``: each unit's composite score, grade and rank.

The rows are :func:`engine.results.read_results` (by category, then rank). Who sees
what follows the results page: the office, the committee, leaders, auditors and
admins see every row, published or not; anyone else (unit users, experts) sees only
their own unit's row, and only once the results are published (公示/通报).
"""

from __future__ import annotations

from engine.results import read_results

from . import bp, schemas, serialize
from .auth import api_user
from .instances import _db
from .spec import operation

READ_ALL = ("office", "committee", "leader", "auditor", "admin")  # as web/views/results.py


def visible_rows(rows: list[dict], user) -> list[dict]:
    """The rows ``user`` may see (see the module docstring)."""
    if user.has_any(*READ_ALL):
        return rows
    return [r for r in rows if r["published_at"] is not None and user.unit_id is not None
            and r["unit_id"] == user.unit_id]


@operation(bp, "GET", "/cycles/<int:year>/results", summary="Results of a cycle",
           tag="cycles", query=schemas.RESULTS_QUERY, response="Results")
def cycle_results(year: int, query: dict):
    """Every unit's scores (indicator, public, leadership, composite — exact decimal
    strings), grade, rank within its category and veto, by category then rank; filter
    with ``category``. ``published`` tells whether the results have been published.
    Office, committee, leaders, auditors and admins see every row; a unit user only
    their own unit's row, once published (an empty list before). No cycle that year: 404."""
    user = api_user()
    rows = read_results(_db(), year)
    categories = list(dict.fromkeys(r["category"] for r in rows))
    published = any(r["published_at"] is not None for r in rows)
    rows = visible_rows(rows, user)
    if query["category"]:
        rows = [r for r in rows if r["category"] == query["category"]]
    return {"year": year, "published": published,
            "categories": categories if user.has_any(*READ_ALL) else
            list(dict.fromkeys(r["category"] for r in rows)),
            "items": [serialize.result(r) for r in rows]}
