"""The indicator systems page: systems by year with the cycle each is bound to, the
office's copy (errors next to the field, input kept), export and import (every bad row
listed, nothing saved), in Chinese by default and without Chinese chrome in English."""

from __future__ import annotations

import io
import re

from freezegun import freeze_time
from openpyxl import load_workbook

from engine import Actor, fire, get_instance, start
from engine.cycles import open_cycle
from web_support import app, client_for, web_db  # noqa: F401

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
ROWS = [{"code": "K1", "name": "重点工作", "weight": 60, "method": "direct",
         "verifier": "督查室", "veto": "no"},
        {"code": "K2", "name": "依法行政", "weight": 40, "method": "direct",
         "verifier": "法制办", "veto": "no"}]
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def in_force(db, year: int, category: str = "县直单位") -> int:
    iid = start(db, "indicator_system", OFFICE, data={
        "year": year, "category": category, "indicators": ROWS}).instance_id
    for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                         ("approve", COMMITTEE), ("put_in_force", OFFICE)):
        fire(db, iid, trigger, who)
    return iid


def chrome(body: str) -> list[str]:
    """Texts of headings, table headers, buttons and labels with Chinese in them (data —
    category names — taken out)."""
    found = re.findall(r"<(h1|h2|h3|th|button|label|nav)[^>]*>(.*?)</\1>", body, re.S)
    texts = [re.sub(r"<select.*?</select>|<[^>]+>", "", t, flags=re.S).strip() for _, t in found]
    return [t for t in texts if t != "中文"  # the language switch
            and CJK.search(t.replace("县直单位", "").replace("乡镇场", ""))]


@freeze_time("2026-01-10 02:00:00")
def test_the_list_shows_years_states_and_bindings(client_for, web_db):
    bound = in_force(web_db, 2025)
    open_cycle(web_db, 2025, OFFICE)
    draft = start(web_db, "indicator_system", OFFICE, data={
        "year": 2026, "category": "乡镇场"}).instance_id
    office = client_for("office")
    page = office.get("/systems/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "指标体系" in body and 'id="nav-systems"' in body
    row = re.search(rf'<tr id="system-{bound}".*?</tr>', body, re.S).group(0)
    assert "执行中" in row and 'href="/cycles/2025"' in row and "2026-01-10 10:00" in row
    draft_row = re.search(rf'<tr id="system-{draft}".*?</tr>', body, re.S).group(0)
    assert "起草" in draft_row and f'id="import-form-{draft}"' in draft_row
    assert f'id="import-form-{bound}"' not in body  # in force: adjust it to change it
    assert body.index('id="year-2026"') < body.index('id="year-2025"')
    assert 'id="from_year" min="2000" max="2100" value="2026"' in body  # newest year
    # the committee reads the list but has no office forms
    committee_page = client_for("auditor").get("/systems/").get_data(as_text=True)
    assert f"system-{bound}" in committee_page and 'id="copy-form"' not in committee_page
    assert client_for("head101").get("/systems/").status_code == 403


@freeze_time("2026-01-10 02:00:00")
def test_copy_from_the_page_and_errors_next_to_the_field(client_for, web_db):
    in_force(web_db, 2025)
    office = client_for("office")
    missing = office.post("/systems/copy", {"from_year": "2019", "to_year": "2026",
                                            "category": "县直单位"})
    body = missing.get_data(as_text=True)
    assert missing.status_code == 422 and 'id="from_year-error"' in body
    assert 'value="2019"' in body and 'value="县直单位" selected' in body  # input kept
    bad = office.post("/systems/copy", {"from_year": "twenty", "to_year": "2026"})
    assert bad.status_code == 422 and "请填写四位数的年度" in bad.get_data(as_text=True)
    done = office.post("/systems/copy", {"from_year": "2025", "to_year": "2026"})
    assert done.status_code == 302 and done.headers["Location"].endswith("#year-2026")
    listing = office.get("/systems/").get_data(as_text=True)
    assert "已将 2025 年度的 1 个指标体系复制到 2026 年度" in listing
    again = office.post("/systems/copy", {"from_year": "2025", "to_year": "2026"})
    body = again.get_data(as_text=True)
    assert again.status_code == 422 and 'id="to_year-error"' in body
    assert "未复制任何体系" in body and body.count('data-year="2026"') == 1
    office.post("/lang", {"lang": "en"})
    english = office.post("/systems/copy", {"from_year": "2025", "to_year": "2026"})
    text = english.get_data(as_text=True)
    error = re.search(r'id="to_year-error">(.*?)</p>', text).group(1)
    assert "nothing was copied" in error and not CJK.search(error.replace("县直单位", ""))
    assert chrome(text) == []


@freeze_time("2026-01-10 02:00:00")
def test_export_and_import_from_the_page(client_for, web_db):
    source = in_force(web_db, 2025)
    draft = start(web_db, "indicator_system", OFFICE, data={
        "year": 2026, "category": "县直单位"}).instance_id
    office = client_for("office")
    exported = office.get(f"/systems/{source}/export.xlsx")
    assert exported.status_code == 200 and exported.mimetype.endswith("sheet")
    assert load_workbook(io.BytesIO(exported.data)).active["B2"].value == "重点工作"
    done = office.post(f"/systems/{draft}/import", {
        "file": (io.BytesIO(exported.data), "体系.xlsx")}, content_type="multipart/form-data")
    assert done.status_code == 302
    assert get_instance(web_db, draft).data["indicators"] == ROWS
    bad = "指标编号,指标名称,权重,计分方法,考核责任单位\nK9,,abc,直接计分,督查室\n".encode()
    refused = office.post(f"/systems/{draft}/import", {
        "file": (io.BytesIO(bad), "bad.csv")}, content_type="multipart/form-data")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="row-errors"' in body
    assert body.count("<tr><td>2</td>") == 2  # 指标名称 and 权重 of row 2
    assert get_instance(web_db, draft).data["indicators"] == ROWS
    wrong = office.post(f"/systems/{source}/import", {
        "file": (io.BytesIO(bad), "bad.csv")}, content_type="multipart/form-data")
    assert wrong.status_code == 422 and "只能导入到" in wrong.get_data(as_text=True)
    no_file = office.post(f"/systems/{draft}/import", {
        "file": (io.BytesIO(b"x"), "x.txt")}, content_type="multipart/form-data")
    assert no_file.status_code == 422
    office.post("/lang", {"lang": "en"})
    english = office.post(f"/systems/{draft}/import", {
        "file": (io.BytesIO(bad), "bad.csv")}, content_type="multipart/form-data")
    text = english.get_data(as_text=True)
    table = re.search(r'id="row-errors">.*?</table>', text, re.S).group(0)
    assert "Indicator" in table and "required" in table and not CJK.search(table)
    assert chrome(text) == []
    assert office.get("/systems/999999/export.xlsx").status_code == 404


@freeze_time("2026-01-10 02:00:00")
def test_forms_need_the_csrf_token(client_for, web_db):
    in_force(web_db, 2025)
    office = client_for("office")
    response = office.http.post("/systems/copy", data={"from_year": "2025", "to_year": "2026"})
    assert response.status_code == 400
    english = client_for("office")
    english.post("/lang", {"lang": "en"})
    body = english.get("/systems/").get_data(as_text=True)
    assert "Indicator systems" in body and chrome(body) == []
