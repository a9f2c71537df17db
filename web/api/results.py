"""``/api/v1/cycles/{year}/results``: each unit's composite score, grade and rank; the
evaluation steps of the year (scores, vetoes, computing, publishing by the committee's
approval, corrections) and their recorded history.

The rows are :func:`engine.results.read_results` (by category, then rank). Who sees
what (:func:`visible_rows`, which the results page uses too): the office, the committee,
leaders, auditors and admins see every row, published or not; experts see every row
once published; anyone else (unit users) only their own unit's row, and only once the
results are published (公示/通报).
"""

from __future__ import annotations

from engine.evaluation_steps import allowed_steps, fact_history
from engine.results import (compute_results, correct_result, enter_scores, publish_results,
                            read_results, record_veto, remove_veto)

from . import bp, schemas, serialize
from .auth import api_actor, api_user
from .errors import ApiError
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


# --- evaluation steps (gated by the cycle's stage; each a fact in the cycle's chain) ---

TEXT = {"type": "string", "minLength": 1, "maxLength": 4000}
CODE = {"type": "string", "minLength": 1, "maxLength": 64}
STAGES = {"type": "array", "items": {"type": "string"}}
SCORES_BODY = schemas.obj({"rows": {"type": "array", "minItems": 1, "maxItems": 5000,
                                    "items": schemas.obj({"unit": CODE, "item": CODE,
                                                          "value": {"type": "string",
                                                                    "maxLength": 40}})},
                           "source": {"type": "string", "maxLength": 200}}, ("rows",))
REASON_BODY = schemas.obj({"reason": TEXT}, ())
VETO_BODY = schemas.obj({"unit": CODE, "item": {"type": "string", "minLength": 1,
                                                "maxLength": 200}, "reason": TEXT})
PUBLISH_BODY = schemas.obj({"comment": {"type": "string", "maxLength": 4000}}, ())
CORRECTION_BODY = schemas.obj({"unit": CODE, "item": CODE,
                               "value": {"type": "string", "minLength": 1, "maxLength": 40},
                               "reason": TEXT})
CHANGE = schemas.obj({"unit_id": schemas.ID, "revision": {"type": "integer"},
                      "old": {"type": "object"}, "new": {"type": "object"}}, additional=True)
schemas.COMPONENTS.update({
    "EvaluationSteps": schemas.obj({
        "year": {"type": "integer"}, "stage": {"type": "string"}, "stage_label": schemas.LABELS,
        "published": {"type": "boolean"},
        "allowed": {"type": "array", "items": {"type": "string"},
                    "description": "of enter_scores, record_veto, remove_veto, "
                                   "compute_results, publish, file_appeal, correct_results"},
        "needs": {"type": "object", "additionalProperties": STAGES,
                  "description": "per step, the cycle stages that allow it"}}),
    "EvaluationFact": schemas.obj({
        "seq": {"type": "integer"}, "kind": {"type": "string"}, "label": schemas.LABELS,
        "actor": {"type": "string"}, "role": {"type": "string"}, "at": schemas.TIME,
        "reason": schemas.nullable({"type": "string"}),
        "source": schemas.nullable({"type": "string"}),
        "lines": {"type": "array", "items": {"type": "string"},
                  "description": "before → after, one line per changed item"}}),
    "EvaluationFacts": schemas.obj({"year": {"type": "integer"}, "items": {
        "type": "array", "items": schemas.ref("EvaluationFact")}}),
    "StepDone": schemas.obj({"year": {"type": "integer"}, "count": {"type": "integer"},
                             "veto_id": schemas.ID,
                             "changes": {"type": "array", "items": CHANGE}}, ("year", "count")),
})


def _label(value) -> dict:
    return {"zh": value.zh, "en": value.en}


def _needs_reader() -> None:
    if not api_user().has_any(*READ_ALL):
        raise ApiError(403, "not_permitted", "需要绩效办、委员会、领导、审计或管理员角色 — "
                       "requires an organisation-wide reading role")


@operation(bp, "GET", "/cycles/<int:year>/steps", summary="Evaluation steps allowed now",
           tag="cycles", response="EvaluationSteps", errors=(404,))
def evaluation_steps(year: int):
    """The cycle's stage and the evaluation steps it allows now (the rule the engine
    enforces: the stage gates of the cycle definition, and the freeze once the results
    are published), with the stages each step needs. No cycle that year: 404."""
    steps = allowed_steps(_db(), year)
    return {"year": year, "stage": steps.stage, "stage_label": _label(steps.stage_label),
            "published": steps.published, "allowed": sorted(steps.allowed),
            "needs": {k: list(v) for k, v in steps.needs.items()}}


@operation(bp, "GET", "/cycles/<int:year>/facts", summary="Score and result history",
           tag="cycles", response="EvaluationFacts", errors=(403, 404))
def evaluation_facts(year: int):
    """The year's score entries and imports, vetoes, computations, publications,
    corrections and appeal adjustments as recorded in the cycle's hash chain, newest
    first: who, when, before → after, reason (office, committee, leaders, auditors,
    admins)."""
    _needs_reader()
    return {"year": year, "items": [
        {**f, "label": _label(f["label"]), "at": serialize.iso(f["at"])}
        for f in fact_history(_db(), year)]}


@operation(bp, "POST", "/cycles/<int:year>/scores", summary="Enter scores", tag="cycles",
           body=SCORES_BODY, response="StepDone", errors=(403, 404, 409))
def enter_scores_(year: int, body: dict):
    """Record ``rows`` (unit code, item — an indicator code, ``public`` or
    ``leadership`` — and value), all or nothing; a bad row is a 422 listing every one
    (``details.errors``: row, column, reason) and nothing is recorded.
    Outside its cycle stages, or once the year is published: 409 ``stage_closed``
    (details: ``gate``, ``stage``, ``needed_stages``)."""
    rows = [(r["unit"], r["item"], r["value"]) for r in body["rows"]]
    errors = enter_scores(_db(), year, api_actor(), rows, source=body.get("source") or None)
    if errors:
        raise ApiError(422, "invalid_input", "有错误的行,未录入任何数据 — rows refused, nothing "
                       "recorded", {"errors": [e.__dict__ for e in errors]})
    return {"year": year, "count": len(rows)}


@operation(bp, "POST", "/cycles/<int:year>/vetoes", summary="Record a veto", tag="cycles",
           body=VETO_BODY, status=201, response="StepDone", errors=(403, 404, 409))
def record_veto_(year: int, body: dict):
    """Record a one-vote veto (一票否决) against ``unit`` (office).
    Outside its cycle stages, or once the year is published: 409 ``stage_closed``
    (details: ``gate``, ``stage``, ``needed_stages``)."""
    veto = record_veto(_db(), year, api_actor(), body["unit"], body["item"], body["reason"])
    return {"year": year, "count": 1, "veto_id": veto}


@operation(bp, "POST", "/cycles/<int:year>/vetoes/<int:veto_id>/withdraw",
           summary="Withdraw a veto", tag="cycles", body=REASON_BODY, response="StepDone",
           errors=(403, 404, 409))
def withdraw_veto(year: int, veto_id: int, body: dict):
    """Withdraw a veto recorded in error, with ``reason`` (office, before publication;
    the results change when they are recomputed).
    Outside its cycle stages, or once the year is published: 409 ``stage_closed``
    (details: ``gate``, ``stage``, ``needed_stages``)."""
    remove_veto(_db(), year, api_actor(), veto_id, body.get("reason") or "")
    return {"year": year, "count": 1}


@operation(bp, "POST", "/cycles/<int:year>/results/compute", summary="Compute the results",
           tag="cycles", body=REASON_BODY, response="StepDone", errors=(403, 404, 409))
def compute_results_(year: int, body: dict):
    """Compute every in-scope unit's composite, grade and rank (office), with the
    ``reason`` recorded.
    Outside its cycle stages, or once the year is published: 409 ``stage_closed``
    (details: ``gate``, ``stage``, ``needed_stages``)."""
    results = compute_results(_db(), year, api_actor(),
                              body.get("reason") or "计算结果 computed")
    return {"year": year, "count": len(results)}


@operation(bp, "POST", "/cycles/<int:year>/results/publish",
           summary="Approve and publish the results", tag="cycles", body=PUBLISH_BODY,
           response="StepDone", errors=(403, 404, 409))
def publish_results_(year: int, body: dict):
    """The committee approves the results (the cycle's ``approve_results``, from 结果
    审定), which publishes them; refused (422) when a unit in scope has no result or
    scores changed since the last computation; in any other stage 409 ``stage_closed``
    (details: ``gate`` ``publish_results``, ``stage``, ``needed_stages``
    ``["review_approval"]``)."""
    count = publish_results(_db(), year, api_actor(), comment=body.get("comment") or None)
    return {"year": year, "count": count}


@operation(bp, "POST", "/cycles/<int:year>/results/corrections",
           summary="Correct a published result", tag="cycles", body=CORRECTION_BODY,
           status=201, response="StepDone", errors=(403, 404, 409))
def correct_result_(year: int, body: dict):
    """Correct one entered value of a published year with a ``reason`` (office or
    committee): recomputed, the changed results re-published, the units told; the
    changes list every unit whose result moved (old and new values)."""
    changes = correct_result(_db(), year, api_actor(), body["unit"], body["item"],
                             body["value"], body["reason"])
    return {"year": year, "count": len(changes), "changes": [
        {"unit_id": c["unit_id"], "revision": c["revision"], "old": c["old"], "new": c["new"]}
        for c in changes]}
