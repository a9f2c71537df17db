"""``/api/v1/instances``: list with filters and a cursor, read, start, save, fire, history.

Another unit's instance is a 404 for a unit user (the API does not confirm that it
exists). Every change goes through the engine's ``start``/``update_data``/``fire``.
"""

from __future__ import annotations

from flask import Response, stream_with_context
from sqlalchemy import select

from engine import (NotFound, NotPermitted, available_triggers, fire, get_instance, read_history,
                    start, update_data)
from engine.audit import export_lines
from engine.clock import local_today
from engine.cycles import cycle_for_year
from engine.models import Instance, Unit
from engine.queries import editable_fields
from engine.registry import compiled
from engine.tasks import due_dates_subquery

from . import bp, schemas, serialize
from .auth import api_actor
from .errors import ApiError
from .spec import operation

_i, _u = Instance.__table__, Unit.__table__


def encode_cursor(last_id: int) -> str:
    """The cursor continuing after ``last_id`` (newest first); clients treat it as opaque."""
    return str(last_id)


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor continues after (its schema, ``schemas.CURSOR``, was checked)."""
    if not cursor:
        return None
    if not cursor.isdigit():
        raise ApiError(400, "invalid_cursor", "游标无效 — invalid cursor", {"cursor": cursor})
    return int(cursor)


def _item(db, row, today) -> dict:
    comp = compiled(db, row.definition_version_id)
    state = comp.definition.states[row.state]
    unit = (None if row.subject_unit_id is None else
            {"id": row.subject_unit_id, "code": row.unit_code, "name": row.unit_name})
    return {"id": row.id, "process": row.definition_key, "definition_version": comp.version,
            "title": comp.definition.title.zh, "unit": unit, "parent_id": row.parent_id,
            "state": row.state, "state_label": state.label.zh, "final": state.final,
            "version": row.version, "data": dict(row.data or {}),
            "due_date": serialize.day(row.due_date),
            "overdue": row.due_date is not None and row.due_date < today,
            "created_at": serialize.iso(row.created_at),
            "updated_at": serialize.iso(row.updated_at)}


def _query(actor):
    due = due_dates_subquery()
    query = (select(_i, _u.c.code.label("unit_code"), _u.c.name.label("unit_name"),
                    due.c.due_date)
             .select_from(_i.outerjoin(_u, _u.c.id == _i.c.subject_unit_id)
                          .outerjoin(due, due.c.instance_id == _i.c.id)))
    if not actor.is_org_wide:
        query = query.where(_i.c.subject_unit_id == actor.unit_id)
    return query, due


def _filtered(db, query, due, q: dict, today):
    if q["process"]:
        query = query.where(_i.c.definition_key == q["process"])
    if q["state"]:
        query = query.where(_i.c.state == q["state"])
    if q["unit"]:
        query = query.where(_u.c.code == q["unit"])
    if q["cycle"] is not None:
        try:
            parent = cycle_for_year(db, q["cycle"])["instance_id"]
        except NotFound:
            parent = 0
        query = query.where(_i.c.parent_id == parent)
    if q["overdue"] is True:
        query = query.where(due.c.due_date < today)
    elif q["overdue"] is False:
        query = query.where((due.c.due_date.is_(None)) | (due.c.due_date >= today))
    return query


def visible(db, instance_id: int) -> None:
    """404 unless the caller may see the instance (another unit's is not found)."""
    try:
        get_instance(db, instance_id, api_actor())
    except NotPermitted:
        raise NotFound(f"没有编号为 {instance_id} 的事项 — no instance {instance_id}",
                       instance=instance_id) from None


def detail(db, instance_id: int) -> dict:
    """One instance with its actions, as the caller may see it (404 otherwise)."""
    actor = api_actor()
    visible(db, instance_id)
    query, _due = _query(actor)
    row = _read(db, query.where(_i.c.id == instance_id))[0]
    out = _item(db, row, local_today())
    out["actions"] = [{"trigger": a.trigger, "to_state": a.to_state, "label": a.label,
                       "labels": _pair(a.caption, a.label),
                       "allowed": a.allowed, "comment_required": a.comment_required,
                       "roles": list(a.roles), "reasons": list(a.reasons),
                       "reason_labels": [_pair(r, "") for r in a.reason_labels]}
                      for a in available_triggers(db, instance_id, actor)]
    definition = compiled(db, row.definition_version_id).definition
    out["editable_fields"] = list(editable_fields(definition, row.state, actor,
                                                  row.subject_unit_id))
    return out


def _pair(label, fallback: str) -> dict:
    """A :class:`workflow.spec.Label` as ``{"zh": …, "en": …}``; ``fallback`` in both
    languages when there is none."""
    if label is None:
        return {"zh": fallback, "en": fallback}
    return serialize.label(label)


def _read(db, query):
    with db.read() as conn:
        return conn.execute(query).all()


def _db():
    from ..views.common import get_db

    return get_db()


@operation(bp, "GET", "/instances", summary="List instances", tag="instances",
           query=schemas.INSTANCE_QUERY, response="InstancePage")
def list_instances(query: dict):
    """Instances the caller may see, newest first, filtered by process, state, unit code,
    cycle year and overdue (the current state's due date has passed); paginate with
    ``next_cursor``."""
    db, today = _db(), local_today()
    base, due = _query(api_actor())
    select_ = _filtered(db, base, due, query, today).order_by(_i.c.id.desc())
    after = decode_cursor(query["cursor"])
    if after is not None:
        select_ = select_.where(_i.c.id < after)
    rows = _read(db, select_.limit(query["limit"] + 1))
    more = len(rows) > query["limit"]
    rows = rows[:query["limit"]]
    return {"items": [_item(db, r, today) for r in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more and rows else None}


@operation(bp, "GET", "/instances/<int:instance_id>", summary="Read an instance",
           tag="instances", response="InstanceDetail")
def read_instance(instance_id: int):
    """One instance with every trigger from its state: allowed, and the blocking reasons."""
    return detail(_db(), instance_id)


@operation(bp, "POST", "/instances", summary="Start an instance", tag="instances",
           body=schemas.START, status=201, response="InstanceDetail", errors=(403, 404))
def start_instance(body: dict):
    """Start the newest version of ``process`` for ``unit`` (a unit code; default: the
    caller's own unit)."""
    db, actor = _db(), api_actor()
    unit = {"unit_code": body["unit"]} if body.get("unit") else {"unit_id": actor.unit_id}
    result = start(db, body["process"], actor, data=body.get("data"), **unit)
    return detail(db, result.instance_id)


@operation(bp, "PUT", "/instances/<int:instance_id>/data", summary="Save field data",
           tag="instances", body=schemas.SAVE, response="FireResult", errors=(403, 409))
def save_data(instance_id: int, body: dict):
    """Save declared fields in a state the caller's role may edit (409 if stale); a
    field the caller may not set here (see ``editable_fields`` of the instance) is a 403
    ``field_not_editable`` naming it and the roles that may set it, and nothing is
    saved. A null value clears a field."""
    db = _db()
    visible(db, instance_id)
    r = update_data(db, instance_id, api_actor(), body["data"], comment=body.get("comment"),
                    expected_version=body["expected_version"])
    return dict(instance_id=r.instance_id, from_state=r.from_state, to_state=r.to_state,
                version=r.version, hash=r.hash)


@operation(bp, "POST", "/instances/<int:instance_id>/fire", summary="Fire a trigger",
           tag="instances", body=schemas.FIRE, response="FireResult", errors=(403, 409))
def fire_trigger(instance_id: int, body: dict):
    """The one state change; ``expected_version`` is required: a stale one is a 409
    ``conflict``, a trigger that does not leave the state a 409 ``invalid_transition``,
    a role that may not fire it a 403, data with a field the caller may not set a 403
    ``field_not_editable`` (details: ``field``, ``fields``), an unmet guard a 422 with
    every reason."""
    db = _db()
    visible(db, instance_id)
    r = fire(db, instance_id, body["trigger"], api_actor(), comment=body.get("comment"),
             data=body.get("data"), expected_version=body["expected_version"])
    return dict(instance_id=r.instance_id, from_state=r.from_state, to_state=r.to_state,
                version=r.version, hash=r.hash)


@operation(bp, "GET", "/instances/<int:instance_id>/history", summary="An instance's history",
           tag="instances", response="HistoryList")
def instance_history(instance_id: int):
    """The hash-chained history entries, oldest first."""
    db = _db()
    visible(db, instance_id)
    return {"items": [serialize.history_entry(e)
                      for e in read_history(db, instance_id, api_actor())]}


EXPORT_MEDIA = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


def stream_export(db, fmt: str, filename: str, instance_id: int | None = None) -> Response:
    """A streamed history export: the rows are read in batches while the response is
    being sent (``stream_with_context`` keeps the request, and so the database, open)."""
    return Response(stream_with_context(export_lines(db, fmt, instance_id)),
                    mimetype=EXPORT_MEDIA[fmt],
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@operation(bp, "GET", "/instances/<int:instance_id>/history/export",
           summary="Export an instance's history", tag="instances",
           query=schemas.EXPORT_QUERY, media=tuple(EXPORT_MEDIA.values()))
def instance_history_export(instance_id: int, query: dict):
    """The instance's history entries, oldest first, every hash-chain field included
    (``prev_hash``, ``hash``, ``data_hash``, ``definition_hash``), streamed as JSON lines
    or CSV — for whoever may read its history (another unit's instance is a 404)."""
    db = _db()
    visible(db, instance_id)  # read_history's own check, made before streaming starts
    return stream_export(db, query["format"],
                         f"perfeval-instance-{instance_id}-history.{query['format']}",
                         instance_id)

