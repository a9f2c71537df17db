"""``/api/v1`` reads about the organisation and the system: units, definitions (with
Mermaid), users (admins), cycle progress, calendar status, and chain verification for auditors."""

from __future__ import annotations

from sqlalchemy import func, select

from engine import verify_history
from engine.calendar import calendar_for, library_years
from engine.clock import local_today
from engine.cycles import cycle_for_year
from engine.models import Instance, Unit, User
from engine.registry import latest, list_versions
from engine.timers import flagged_timers
from workflow import mermaid

from . import bp, schemas, serialize
from .auth import require
from .instances import EXPORT_MEDIA, _db, stream_export
from .spec import operation
from ..views.common import ADMIN_ROLES, AUDIT_ROLES, OFFICE_ROLES

_i, _u, _users = Instance.__table__, Unit.__table__, User.__table__


@operation(bp, "GET", "/units", summary="Units", tag="organisation", response="UnitList")
def units():
    """Every unit (code, name, category, parent)."""
    with _db().read() as conn:
        rows = conn.execute(select(_u.c.id, _u.c.code, _u.c.name, _u.c.category,
                                   _u.c.parent_id).order_by(_u.c.code)).all()
    return {"items": [dict(r._mapping) for r in rows]}


@operation(bp, "GET", "/users", summary="Users (admin)", tag="organisation",
           response="UserList", errors=(403,))
def users():
    """Every user with roles, unit and whether active (admins only)."""
    require(*ADMIN_ROLES)
    with _db().read() as conn:
        rows = conn.execute(select(_users.c.id, _users.c.username, _users.c.display_name,
                                   _users.c.unit_id, _users.c.roles, _users.c.active)
                            .order_by(_users.c.username)).all()
    return {"items": [{**r._mapping, "roles": list(r.roles or ())} for r in rows]}


def _definition(db, key: str) -> dict:
    comp = latest(db, key)
    d = comp.definition
    return {"key": d.key, "version": comp.version, "content_hash": d.content_hash,
            "title": serialize.label(d.title), "description": d.describe(),
            "mermaid": mermaid(d)}


@operation(bp, "GET", "/definitions", summary="Process definitions", tag="definitions",
           response="DefinitionList")
def definitions():
    """The newest version of every process definition, with its Mermaid diagram."""
    db = _db()
    keys = sorted({v["key"] for v in list_versions(db)})
    return {"items": [_definition(db, k) for k in keys]}


@operation(bp, "GET", "/definitions/<key>", summary="One process definition",
           tag="definitions", response="Definition")
def definition(key: str):
    """The newest version of ``key``: states, transitions, fields, Mermaid diagram."""
    return _definition(_db(), key)


@operation(bp, "GET", "/cycles/<int:year>/progress", summary="Cycle progress",
           tag="cycles", response="CycleProgress", errors=(403,))
def cycle_progress(year: int):
    """The year's children counted per process, unit category and state (office roles)."""
    require(*OFFICE_ROLES, "auditor")
    db = _db()
    row = cycle_for_year(db, year)
    with db.read() as conn:
        state = conn.execute(select(_i.c.state).where(_i.c.id == row["instance_id"])).scalar()
        counts = conn.execute(
            select(_i.c.definition_key, _u.c.category, _i.c.state, func.count())
            .select_from(_i.outerjoin(_u, _u.c.id == _i.c.subject_unit_id))
            .where(_i.c.parent_id == row["instance_id"])
            .group_by(_i.c.definition_key, _u.c.category, _i.c.state)
            .order_by(_i.c.definition_key, _u.c.category, _i.c.state)).all()
    return {"year": year, "instance_id": row["instance_id"], "state": state,
            "counts": [{"process": k, "category": c, "state": s, "count": n}
                       for k, c, s, n in counts]}


@operation(bp, "GET", "/calendar", summary="Working-day calendar status", tag="calendar",
           response="CalendarStatus")
def calendar_status():
    """Which years have official holiday data (调休), overrides, and estimated timers."""
    db = _db()
    calendar = calendar_for(db)
    flagged = flagged_timers(db)
    overrides: dict[int, int] = {}
    for day in calendar.overrides:
        overrides[day.year] = overrides.get(day.year, 0) + 1
    today = local_today()
    return {"version": calendar.version, "covered_through_year": calendar.covered_through_year,
            "years": [{"year": y, "covered": calendar.is_covered(y),
                       "source": "holidays" if y in library_years() else (
                           "import" if y in calendar.imported_years else None),
                       "overrides": overrides.get(y, 0), "flagged_timers": flagged.get(y, 0)}
                      for y in range(today.year - 1, today.year + 3)]}


@operation(bp, "GET", "/audit/verify", summary="Verify every history chain", tag="audit",
           response="VerifyReport", errors=(403,))
def audit_verify():
    """Recompute every instance's hash chain (auditor, office, admin)."""
    require(*AUDIT_ROLES)
    report = verify_history(_db())
    return {"ok": report.ok, "instances": report.instances, "entries": report.entries,
            "problems": [{"instance_id": p.instance_id, "seq": p.seq, "reason": p.reason}
                         for p in report.problems]}


@operation(bp, "GET", "/audit/export", summary="Export every history entry", tag="audit",
           query=schemas.EXPORT_QUERY, errors=(403,), media=tuple(EXPORT_MEDIA.values()))
def audit_export(query: dict):
    """The whole history, hashes included, as CSV or JSON lines, so an auditor can
    re-verify the chains outside perfeval (auditor, office, admin); streamed, read in
    batches."""
    require(*AUDIT_ROLES)
    return stream_export(_db(), query["format"], f"perfeval-history.{query['format']}")
