"""``/api/v1/systems``: indicator systems by year — list, copy last year's into a new
year, export one to .xlsx and import one from .xlsx or .csv.

The same engine calls as the indicator systems page (``web/views/systems.py``):
:func:`engine.indicator_systems.copy_year` (all or nothing),
:func:`engine.indicator_excel.export_system` and
:func:`engine.indicator_excel.import_system` (every bad row at once, nothing saved).
Indicator systems are organisation-wide: the organisation-wide roles read them; the
engine decides who may copy and import (the office).
"""

from __future__ import annotations

import io

from flask import send_file

from engine.indicator_excel import export_system, import_system
from engine.indicator_systems import copy_year, list_systems

from . import bp, schemas, serialize
from .auth import api_actor, require
from .errors import ApiError
from .instances import _db
from .spec import operation

READERS = ("office", "committee", "leader", "expert", "auditor", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YEAR = {"type": "integer", "minimum": 2000, "maximum": 2100}
CATEGORY = {"type": "string", "minLength": 1, "maxLength": 64}

SYSTEM = schemas.obj({
    "id": schemas.ID, "year": schemas.nullable({"type": "integer"}),
    "category": schemas.nullable({"type": "string"}), "state": {"type": "string"},
    "state_label": schemas.LABEL, "version": {"type": "integer"},
    "edition": {"type": "integer", "description": "times put in force (1 + adjustments)"},
    "indicators": {"type": "integer"}, "weight_total": {"type": "number"},
    "updated_at": schemas.TIME,
    "cycle_year": schemas.nullable({"type": "integer"}),
    "bound_at": schemas.nullable(schemas.TIME), "bound_by": schemas.nullable({"type": "string"})})
ROW_ERROR = schemas.obj({"row": {"type": "integer"}, "column": {"type": "string"},
                         "reason": {"type": "string"}, "path": {"type": "string"},
                         "message": {"type": "string"}})
schemas.COMPONENTS.update({
    "IndicatorSystem": SYSTEM,
    "IndicatorSystemList": schemas.list_of("IndicatorSystem"),
    "SystemsCopied": schemas.obj({"created": {"type": "array", "items": schemas.ID},
                                  "items": {"type": "array",
                                            "items": schemas.ref("IndicatorSystem")}}),
    "SystemImported": schemas.obj({"system_id": schemas.ID,
                                   "indicators": {"type": "integer"},
                                   "version": {"type": "integer"}}),
    "RowError": ROW_ERROR,
})
SYSTEMS_QUERY = {"year": YEAR, "category": CATEGORY}
COPY = schemas.obj({"from_year": YEAR, "to_year": YEAR, "category": CATEGORY},
                   ("from_year", "to_year"))
IMPORT = schemas.obj({"file": {"type": "string", "format": "binary",
                               "description": "an .xlsx or .csv file (header row: 指标编号、"
                                              "指标名称、权重、计分方法、目标值、考核责任单位、一票否决)"}},
                     ("file",))


def system_json(s: dict) -> dict:
    """One row of :func:`engine.indicator_systems.list_systems`."""
    return {**s, "state_label": serialize.label(s["state_label"]),
            "updated_at": serialize.iso(s["updated_at"]), "bound_at": serialize.iso(s["bound_at"])}


@operation(bp, "GET", "/systems", summary="List indicator systems", tag="systems",
           query=SYSTEMS_QUERY, response="IndicatorSystemList", errors=(403,))
def systems_list(query: dict):
    """Every indicator system, newest year first: year, category, state, edition, the
    number of indicators and their weight total, and the cycle it is bound to
    (``cycle_year``, ``bound_at``, ``bound_by``; null when not bound). Filter with
    ``year`` and ``category``. Organisation-wide roles only (else 403)."""
    require(*READERS)
    rows = list_systems(_db(), year=query.get("year"), category=query.get("category"))
    return {"items": [system_json(s) for s in rows]}


@operation(bp, "POST", "/systems/copy", summary="Copy a year's indicator systems",
           tag="systems", body=COPY, status=201, response="SystemsCopied",
           errors=(403, 404, 422))
def systems_copy(body: dict):
    """Copy the ``from_year`` systems (every category, or ``category``) into ``to_year``
    as drafts with the same indicators, in one transaction: all or nothing. Each copy's
    creation entry names its source. ``to_year`` already having a system for one of the
    categories: 422 naming them; nothing to copy: 404. The office (else 403)."""
    db = _db()
    ids = copy_year(db, body["from_year"], body["to_year"], api_actor(),
                    category=body.get("category"))
    rows = [s for s in list_systems(db, year=body["to_year"]) if s["id"] in ids]
    return {"created": ids, "items": [system_json(s) for s in rows]}


@operation(bp, "GET", "/systems/<int:system_id>/export", summary="Export an indicator system",
           tag="systems", media=(XLSX,), binary=True, errors=(403,),
           headers={"Content-Disposition": "attachment; filename=\"indicator-system-<id>.xlsx\""})
def systems_export(system_id: int):
    """The system's indicators as an .xlsx workbook (Chinese headers; text that looks
    like a formula is written as text). Organisation-wide roles (else 403); not an
    indicator system: 404."""
    require(*READERS)
    data = export_system(_db(), system_id, api_actor())
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=f"indicator-system-{system_id}.xlsx")


@operation(bp, "POST", "/systems/<int:system_id>/import", summary="Import an indicator system",
           tag="systems", form=IMPORT, response="SystemImported", errors=(403, 422))
def systems_import(system_id: int, form: dict):
    """Replace the indicators of a draft, returned or adjusting system with the rows of
    ``file`` (.xlsx or .csv; 计分方法 and 一票否决 as Chinese labels or codes). Every bad
    row is listed at once in ``details.errors`` (``row``, ``column``, ``reason``; the
    header is row 1) with code ``invalid_rows``, and nothing is saved (422). Another
    state: 422; not the office: 403."""
    db = _db()
    upload = form["file"]
    errors = import_system(db, system_id, api_actor(), upload.stream.read(), upload.filename)
    if errors:
        raise ApiError(422, "invalid_rows", f"文件有 {len(errors)} 处错误,未导入任何指标 — "
                       f"{len(errors)} problems in the file; nothing was imported",
                       {"errors": [{"row": e.row, "column": e.column, "reason": e.reason,
                                    "path": f"row {e.row}/{e.column}", "message": e.reason}
                                   for e in errors]})
    from engine import get_instance

    view = get_instance(db, system_id)
    return {"system_id": system_id, "indicators": len(view.data.get("indicators") or []),
            "version": view.version}
