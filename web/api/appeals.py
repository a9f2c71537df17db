"""``POST /api/v1/cycles/{year}/appeals``: filing an appeal against a published result.

The API's one way to file an appeal (``POST /instances`` refuses the ``appeal``
process): :func:`engine.appeals.file_appeal` checks the cycle's stage, that the unit's
result is published and one appeal per indicator, and records whether the appeal was
filed within the window.
"""

from __future__ import annotations

from engine.appeals import OVERALL, file_appeal

from . import bp, schemas
from .auth import api_actor
from .instances import _db, detail
from .spec import operation

APPEAL_BODY = schemas.obj({
    "item": {"type": "string", "minLength": 1, "maxLength": 64,
             "description": "an indicator code of the system bound to the year, public, "
                            "leadership or overall (the default)"},
    "grounds": {"type": "string", "minLength": 1, "maxLength": 4000},
    "unit": {"type": "string", "minLength": 1, "maxLength": 64,
             "description": "the appealing unit's code (the office; default: the caller's "
                            "own unit)"}}, ("grounds",))


@operation(bp, "POST", "/cycles/<int:year>/appeals", summary="File an appeal", tag="cycles",
           body=APPEAL_BODY, status=201, response="InstanceDetail",
           errors=(403, 404, 409, 422))
def file_appeal_(year: int, body: dict):
    """File an appeal of the caller's unit (or ``unit``, for the office) against its
    published result on ``item``, with ``grounds``; the created appeal instance.
    Outside 公示/申诉复核, or before the unit's result is published: 409
    ``stage_closed`` (details: ``gate``, ``stage``, ``needed_stages``); a second appeal
    on the same item: 409 ``conflict``; an unknown indicator: 422; another unit's
    appeal: 403. An appeal after the window is recorded with ``filed_in_time: "no"``."""
    db = _db()
    result = file_appeal(db, year, api_actor(), body["grounds"],
                         item=body.get("item") or OVERALL, unit_code=body.get("unit"))
    return detail(db, result.instance_id)
