"""``/api/v1/systems``: list with the cycle each system is bound to, copy a year (all or
nothing), export to .xlsx, import from .xlsx/.csv with every bad row in the error."""

from __future__ import annotations

import io

from freezegun import freeze_time
from openpyxl import load_workbook

from api_support import api_for, app, error_of, web_db  # noqa: F401
from engine import Actor, fire, get_instance, start
from engine.cycles import open_cycle
from web.api import schemas

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
ROWS = [{"code": "K1", "name": "重点工作", "weight": 100, "method": "direct",
         "verifier": "督查室", "veto": "no"}]


def in_force(db, year: int, category: str = "县直单位") -> int:
    iid = start(db, "indicator_system", OFFICE, data={
        "year": year, "category": category, "indicators": ROWS}).instance_id
    for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                         ("approve", COMMITTEE), ("put_in_force", OFFICE)):
        fire(db, iid, trigger, who)
    return iid


@freeze_time("2026-01-10 02:00:00")
def test_list_copy_export_import(api_for, web_db):
    source = in_force(web_db, 2025)
    open_cycle(web_db, 2025, OFFICE)
    office = api_for("office")
    listed = office.get("/api/v1/systems").get_json()
    assert schemas.validate(listed, schemas.ref("IndicatorSystemList")) == []
    [row] = listed["items"]
    assert (row["id"], row["year"], row["cycle_year"], row["state"]) == (
        source, 2025, 2025, "in_force")
    assert row["bound_at"].endswith("+08:00") and row["state_label"]["en"] == "In force"

    copied = office.post("/api/v1/systems/copy", json={"from_year": 2025, "to_year": 2026})
    assert copied.status_code == 201, copied.get_data(as_text=True)
    body = copied.get_json()
    assert schemas.validate(body, schemas.ref("SystemsCopied")) == []
    [new] = body["created"]
    assert body["items"][0]["state"] == "draft" and body["items"][0]["cycle_year"] is None
    error_of(office.post("/api/v1/systems/copy", json={"from_year": 2025, "to_year": 2026}),
             422, "invalid_input")
    error_of(office.post("/api/v1/systems/copy", json={"from_year": 2019, "to_year": 2026}),
             404)
    error_of(office.post("/api/v1/systems/copy", json={"from_year": 2025}), 422)
    assert office.get("/api/v1/systems?year=2026").get_json()["items"][0]["id"] == new

    exported = office.get(f"/api/v1/systems/{source}/export")
    assert exported.status_code == 200 and exported.mimetype.endswith("sheet")
    book = load_workbook(io.BytesIO(exported.data))
    book.active["C2"] = 100
    book.active["B2"] = "重点工作(调整)"
    out = io.BytesIO()
    book.save(out)
    imported = office.http.post(f"/api/v1/systems/{new}/import", headers=office.headers,
                                data={"file": (io.BytesIO(out.getvalue()), "s.xlsx")},
                                content_type="multipart/form-data")
    assert imported.status_code == 200, imported.get_data(as_text=True)
    assert imported.get_json()["indicators"] == 1
    assert get_instance(web_db, new).data["indicators"][0]["name"] == "重点工作(调整)"


@freeze_time("2026-01-10 02:00:00")
def test_bad_rows_refusals_and_who_may(api_for, web_db):
    source = in_force(web_db, 2025)
    office = api_for("office")
    bad = "指标编号,指标名称,权重,计分方法,考核责任单位\n,名称,120,直接计分,督查室\nK2,x,1,猜,\n"
    draft = start(web_db, "indicator_system", OFFICE, data={"year": 2026}).instance_id
    response = office.http.post(f"/api/v1/systems/{draft}/import", headers=office.headers,
                                data={"file": (io.BytesIO(bad.encode()), "bad.csv")},
                                content_type="multipart/form-data")
    error = error_of(response, 422, "invalid_rows")
    assert {(e["row"], e["column"]) for e in error["details"]["errors"]} == {
        (2, "指标编号"), (2, "权重"), (3, "计分方法"), (3, "考核责任单位")}
    assert "indicators" not in get_instance(web_db, draft).data
    in_force_refused = office.http.post(
        f"/api/v1/systems/{source}/import", headers=office.headers,
        data={"file": (io.BytesIO(bad.encode()), "bad.csv")}, content_type="multipart/form-data")
    error_of(in_force_refused, 422)
    unit = api_for("head101")
    error_of(unit.get("/api/v1/systems"), 403)
    error_of(unit.get(f"/api/v1/systems/{source}/export"), 403)
    error_of(unit.post("/api/v1/systems/copy", json={"from_year": 2025, "to_year": 2026}), 403)
    error_of(api_for("auditor").post("/api/v1/systems/copy",
                                     json={"from_year": 2025, "to_year": 2026}), 403)
    assert api_for("auditor").get("/api/v1/systems").status_code == 200
    plan = start(web_db, "performance_plan", OFFICE, unit_code="101").instance_id
    error_of(office.get(f"/api/v1/systems/{plan}/export"), 404)
