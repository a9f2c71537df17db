"""An indicator system exported to .xlsx and imported from .xlsx or .csv: a round trip
keeps every indicator, every bad row of a file is reported at once with its row and
column and nothing is saved, Chinese labels are read, and text that a spreadsheet
would take for a formula is written as text."""

from __future__ import annotations

import io
import zipfile

import pytest
from freezegun import freeze_time
from openpyxl import Workbook, load_workbook

from engine import Actor, InvalidInput, NotPermitted, fire, get_instance, read_history, start
from engine.indicator_excel import export_system, import_system

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
HEADER = ["指标编号", "指标名称", "权重", "计分方法", "目标值", "考核责任单位", "一票否决"]
INDICATORS = [
    {"code": "K1", "name": "重点工作", "weight": 50, "method": "direct",
     "verifier": "县委督查室", "veto": "no"},
    {"code": "K2", "name": "招商引资", "weight": 30, "method": "attainment", "target": 12.5,
     "verifier": "县商务局", "veto": "no"},
    {"code": "K3", "name": "营商环境", "weight": 20, "method": "rank",
     "verifier": "县发改局", "veto": "no"},
    {"code": "V1", "name": "安全生产", "weight": 0, "method": "direct",
     "verifier": "县应急局", "veto": "yes"},
]


def draft(db, indicators=None) -> int:
    return start(db, "indicator_system", OFFICE, data={
        "year": 2026, "category": "县直单位",
        "indicators": indicators if indicators is not None else INDICATORS}).instance_id


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def data_of(db, iid: int) -> list[dict]:
    return get_instance(db, iid).data.get("indicators")


@freeze_time("2026-01-10 02:00:00")
def test_export_then_import_round_trips_every_indicator(db, actors):
    source = draft(db)
    exported = export_system(db, source, OFFICE)
    sheet = load_workbook(io.BytesIO(exported)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADER
    assert rows[2] == ["K2", "招商引资", 30, "目标完成率", 12.5, "县商务局", "否"]
    assert rows[4][3:] == ["直接计分", None, "县应急局", "是"]
    target = draft(db, indicators=[])
    assert import_system(db, target, OFFICE, exported, "体系.xlsx") == []
    assert data_of(db, target) == INDICATORS
    entry = read_history(db, target)[-1]
    assert entry["trigger"] == "update_data" and "体系.xlsx" in entry["comment"]


@freeze_time("2026-01-10 02:00:00")
def test_formula_looking_text_is_exported_as_text(db, actors):
    nasty = [{"code": "=1+2", "name": "=HYPERLINK(\"http://x\",\"点我\")", "weight": 50,
              "method": "direct", "verifier": "+cmd|' /C calc'!A0", "veto": "no"},
             {"code": "K2", "name": "@SUM(A1:A9)", "weight": 50, "method": "direct",
              "verifier": "-2+3", "veto": "no"}]
    exported = export_system(db, draft(db, nasty), OFFICE)
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    sheet = load_workbook(io.BytesIO(exported)).active
    for cell in ("A2", "B2", "F2", "B3", "F3"):
        assert sheet[cell].data_type == "s" and sheet[cell].quotePrefix, cell
    assert sheet["B2"].value.startswith("=HYPERLINK")
    # and the text comes back as text
    target = draft(db, indicators=[])
    assert import_system(db, target, OFFICE, exported, "x.xlsx") == []
    assert data_of(db, target) == nasty


@freeze_time("2026-01-10 02:00:00")
def test_every_bad_row_is_reported_at_once_and_nothing_is_saved(db, actors):
    iid = draft(db)
    before = read_history(db, iid)
    book = Workbook()
    sheet = book.active
    for row in (HEADER,
                ["K1", "重点工作", 50, "直接计分", None, "县委督查室", "否"],
                ["K2", "", "六十", "按感觉", None, "县商务局", "也许"],
                [None, None, None, None, None, None, None],       # blank: skipped
                ["K1", "重复编号", 20, "目标完成率", None, "", "是"],
                ["K4", "公式", 10, "direct", None, "县财政局", "no"]):
        sheet.append(row)
    sheet["C6"] = "=5*2"
    out = io.BytesIO()
    book.save(out)
    errors = import_system(db, iid, OFFICE, out.getvalue(), "bad.xlsx")
    found = {(e.row, e.column) for e in errors}
    assert found == {(3, "指标名称"), (3, "权重"), (3, "计分方法"), (3, "一票否决"),
                     (5, "目标值"), (5, "考核责任单位"), (5, "指标编号"), (6, "权重")}
    assert any("第 2 行" in e.reason for e in errors if e.row == 5 and e.column == "指标编号")
    assert data_of(db, iid) == INDICATORS and read_history(db, iid) == before


@freeze_time("2026-01-10 02:00:00")
def test_headers_checked_and_csv_with_codes_accepted(db, actors):
    iid = draft(db)
    errors = import_system(db, iid, OFFICE, xlsx([["指标编号", "名称", "权重"]]), "h.xlsx")
    assert {(e.row, e.column) for e in errors} == {
        (1, "名称"), (1, "指标名称"), (1, "计分方法"), (1, "考核责任单位")}
    csv_text = ("code,name,weight,method,target,verifier,veto\n"
                "A1,经济发展,70,attainment,8,县统计局,no\nA2,社会事业,30,rank,,县民政局,\n")
    assert import_system(db, iid, OFFICE, csv_text.encode("utf-8-sig"), "s.csv") == []
    assert data_of(db, iid) == [
        {"code": "A1", "name": "经济发展", "weight": 70, "method": "attainment", "target": 8,
         "verifier": "县统计局", "veto": "no"},
        {"code": "A2", "name": "社会事业", "weight": 30, "method": "rank",
         "verifier": "县民政局", "veto": "no"}]
    gbk = "指标编号,指标名称,权重,计分方法,考核责任单位\nB1,党建,100,直接计分,县委组织部\n"
    assert import_system(db, iid, OFFICE, gbk.encode("gb18030"), "g.csv") == []
    assert data_of(db, iid)[0]["name"] == "党建"
    assert import_system(db, iid, OFFICE, b"", "e.csv")[0].row == 1
    with pytest.raises(InvalidInput):
        import_system(db, iid, OFFICE, b"x", "s.txt")
    with pytest.raises(InvalidInput):
        import_system(db, iid, OFFICE, b"not a zip", "s.xlsx")


@freeze_time("2026-01-10 02:00:00")
def test_import_only_into_an_editable_system_by_the_office(db, actors):
    iid = draft(db)
    good = export_system(db, iid, OFFICE)
    with pytest.raises(NotPermitted):
        import_system(db, iid, actors["head101"], good, "x.xlsx")
    fire(db, iid, "submit", OFFICE)
    with pytest.raises(InvalidInput, match="起草、退回修改或调整中"):
        import_system(db, iid, OFFICE, good, "x.xlsx")
    fire(db, iid, "start_review", COMMITTEE)
    fire(db, iid, "approve", COMMITTEE)
    fire(db, iid, "put_in_force", OFFICE)
    fire(db, iid, "start_adjustment", COMMITTEE, comment="年中调整")
    assert import_system(db, iid, OFFICE, good, "x.xlsx") == []  # adjusting: allowed
