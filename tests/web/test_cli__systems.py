"""``perfeval systems list|copy|export|import`` on the small test organisation."""

from __future__ import annotations

import json

from click.testing import CliRunner
from freezegun import freeze_time
from openpyxl import load_workbook

from engine import Actor, Database, fire, get_instance, start
from web.cli import main

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
ROWS = [{"code": "K1", "name": "重点工作", "weight": 60, "method": "direct", "verifier": "督查室",
         "veto": "no"},
        {"code": "K2", "name": "=1+1 自身建设", "weight": 40, "method": "rank",
         "verifier": "组织部", "veto": "no"}]


def run(*args, code=0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def systems_2025(db_url) -> list[int]:
    db = Database(db_url)
    ids = []
    try:
        for category in ("县直单位", "乡镇场"):
            iid = start(db, "indicator_system", OFFICE, data={
                "year": 2025, "category": category, "indicators": ROWS}).instance_id
            for trigger, actor in (("submit", OFFICE), ("start_review", COMMITTEE),
                                   ("approve", COMMITTEE), ("put_in_force", OFFICE)):
                fire(db, iid, trigger, actor)
            ids.append(iid)
    finally:
        db.dispose()
    return ids


@freeze_time("2026-01-10 02:00:00")
def test_copy_list_export_and_import(db_url, tmp_path):
    sources = systems_2025(db_url)
    run("cycle", "open", "--year", "2025", "--as", "office", "--db", db_url)
    listed = json.loads(run("systems", "list", "--db", db_url, "--json").output)
    assert {s["cycle_year"] for s in listed} == {2025}
    copied = json.loads(run("systems", "copy", "--from-year", "2025", "--to-year", "2026",
                            "--as", "office", "--db", db_url, "--json").output)["created"]
    assert len(copied) == 2
    again = run("systems", "copy", "--from-year", "2025", "--to-year", "2026", "--as",
                "office", "--db", db_url, code=8)
    assert "nothing was copied" in again.stderr
    text = run("systems", "list", "--year", "2026", "--db", db_url).output
    assert "起草(draft)" in text and "not bound" in text and " 2025 " not in text

    out = tmp_path / "s.xlsx"
    run("systems", "export", str(sources[0]), "-o", str(out), "--db", db_url)
    sheet = load_workbook(out).active
    assert sheet["A1"].value == "指标编号" and sheet["B3"].data_type == "s"
    sheet["C2"], sheet["C3"] = 70, 30
    sheet.parent.save(out)
    run("systems", "import", str(copied[0]), str(out), "--as", "office", "--db", db_url)
    db = Database(db_url)
    try:
        weights = [r["weight"] for r in get_instance(db, copied[0]).data["indicators"]]
    finally:
        db.dispose()
    assert weights == [70, 30]


@freeze_time("2026-01-10 02:00:00")
def test_a_bad_file_lists_every_row_and_exits_nonzero(db_url, tmp_path):
    sources = systems_2025(db_url)
    bad = tmp_path / "bad.csv"
    bad.write_text("指标编号,指标名称,权重,计分方法,考核责任单位\nK1,,x,直接计分,督查室\n"
                   "K2,名称,50,乱写,\n", encoding="utf-8")
    [copied] = json.loads(run("systems", "copy", "--from-year", "2025", "--to-year", "2026",
                              "--category", "乡镇场", "--as", "office", "--db", db_url,
                              "--json").output)["created"]
    result = run("systems", "import", str(copied), str(bad), "--as", "office", "--db", db_url,
                 "--json", code=8)
    errors = json.loads(result.output)["error"]["errors"]
    assert {(e["row"], e["column"]) for e in errors} == {
        (2, "指标名称"), (2, "权重"), (3, "计分方法"), (3, "考核责任单位")}
    refused = run("systems", "import", str(sources[0]), str(bad), "--as", "office", "--db",
                  db_url, code=8)
    assert "只能导入到" in refused.stderr
    run("systems", "export", str(sources[0]), "-o", str(tmp_path / "x.csv"), "--db", db_url,
        code=8)
