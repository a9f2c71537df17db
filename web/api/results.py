"""``/api/v1/cycles/{year}/results``: each unit's composite score, grade and rank.

The rows are :func:`engine.results.read_results` (by category, then rank). Who sees
what (:func:`visible_rows`, which the results page uses too): the office, the committee,
leaders, auditors and admins see every row, published or not; experts see every row
once published; anyone else (unit users) only their own unit's row, and only once the
results are published (公示/通报).
"""

from __future__ import annotations

from engine.results import read_results

from . import bp, schemas, serialize
from .auth import api_user
from .instances import _db
from .spec import operation

READ_ALL = ("office", "committee", "leader", "auditor", "admin")  # the results page too
PUBLISHED_ALL = ("expert",)


def visible_rows(rows: list[dict], user) -> list[dict]:
    """The rows ``user`` may see (see the module docstring)."""
    if user.has_any(*READ_ALL):
        return rows
    rows = [r for r in rows if r["published_at"] is not None]
    if user.has_any(*PUBLISHED_ALL):
        return rows
    return [r for r in rows if user.unit_id is not None and r["unit_id"] == user.unit_id]


@operation(bp, "GET", "/cycles/<int:year>/results", summary="Results of a cycle",
           tag="cycles", query=schemas.RESULTS_QUERY, response="Results")
def cycle_results(year: int, query: dict):
    """Every unit's scores (indicator, public, leadership, composite — exact decimal
    strings), grade, rank within its category and veto, by category then rank; filter
    with ``category``; ``categories`` lists those of the rows the caller may see.
    ``published`` tells whether the results have been published.
    Office, committee, leaders, auditors and admins see every row; experts every row
    once published; a unit user only their own unit's row, once published (an empty
    list before). No cycle that year: 404."""
    rows = read_results(_db(), year)
    published = any(r["published_at"] is not None for r in rows)
    rows = visible_rows(rows, api_user())
    categories = list(dict.fromkeys(r["category"] for r in rows))
    if query["category"]:
        rows = [r for r in rows if r["category"] == query["category"]]
    return {"year": year, "published": published, "categories": categories,
            "items": [serialize.result(r) for r in rows]}
