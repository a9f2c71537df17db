"""Sample organisations and the all-or-nothing user import."""

from __future__ import annotations

import csv
import json
from collections import Counter

from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import func, select

from engine import Database, check_password
from engine.models import Unit, User
from engine.people import samples_dir
from engine.org import read_table
from web.cli import main

FUXIN_I = ("市发改委、经委、财政局、审计局、国资委、外经局、科技局、国土资源局、建委、公用事业与房产局、"
           "交通局、旅游局、金融办、商业银行、农委、中小企业局、水利局、林业局、农机总站、商业局、粮食局、"
           "供销社、信息产业局、机械建材行办、轻工纺织行办、化工医药行办、经济开发区、高新区").split("、")
FUXIN_II = ("市人事局、统计局、民政局、劳动和社会保障局、环保局、教育局、卫生局、文化局、广播电视局、体育局、"
            "人口和计生委、公安局、司法局、法制办、物价局、信访局、行政服务办、公积金管理中心、民委、外事办、"
            "市志办、老龄办、民防办、扶贫办、地震局、煤管局、安监局、动监局").split("、")


def run(*args, code=0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def categories(db_url):
    db = Database(db_url)
    try:
        with db.read() as conn:
            return Counter(conn.execute(select(Unit.category)).scalars())
    finally:
        db.dispose()


def test_county_sample_has_158_units_in_three_categories(db_url):
    out = json.loads(run("org", "load-sample", "county", "--db", db_url, "--json").output)
    assert out["units_created"] + out["units_updated"] == 158
    counts = categories(db_url)
    rows = read_table(samples_dir() / "county_units.csv")[1:]
    assert len(rows) == 158
    assert Counter(r[2] for r in rows) == {"乡镇场": 26, "县直单位": 104, "驻县单位": 28}
    assert counts["驻县单位"] == 28 and counts["乡镇场"] >= 26


def test_city_sample_uses_the_56_fuxin_names_in_series_one_and_two(db_url):
    run("org", "load-sample", "city", "--db", db_url)
    rows = read_table(samples_dir() / "city_units.xlsx")[1:]
    assert len(rows) == 74
    by_series = {s: [r[1] for r in rows if r[2] == s] for s in ("系列Ⅰ", "系列Ⅱ", "系列Ⅲ")}
    assert by_series["系列Ⅰ"] == FUXIN_I and by_series["系列Ⅱ"] == FUXIN_II
    assert len(by_series["系列Ⅲ"]) == 18
    assert categories(db_url)["系列Ⅰ"] == 28


def test_load_sample_twice_updates_instead_of_duplicating(db_url):
    run("org", "load-sample", "city", "--db", db_url)
    out = json.loads(run("org", "load-sample", "city", "--db", db_url, "--json").output)
    assert (out["units_created"], out["units_updated"]) == (0, 74)


def test_users_import_creates_everyone_from_xlsx(db_url, tmp_path):
    wb = Workbook()
    wb.active.append(["用户名", "姓名", "角色", "单位编码", "密码"])
    wb.active.append(["li101", "李四", "unit_staff、unit_head", "101", "long-enough-1"])
    wb.active.append(["wang", "王五", "committee", None, None])
    wb.save(tmp_path / "users.xlsx")
    out = run("users", "import", str(tmp_path / "users.xlsx"), "--initial-password",
              "initial-pass-9", "--db", db_url)
    assert "created 2" in out.output
    db = Database(db_url)
    try:
        assert check_password(db, "li101", "long-enough-1").roles == {"unit_staff", "unit_head"}
        assert check_password(db, "wang", "initial-pass-9") is not None
    finally:
        db.dispose()


def test_users_import_reports_every_bad_row_and_imports_nothing(db_url, tmp_path):
    path = tmp_path / "users.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["用户名", "角色", "单位编码", "密码"])
        w.writerow(["ok1", "office", "", "password-1"])
        w.writerow(["office", "office", "", "password-1"])      # exists already
        w.writerow(["bad2", "boss", "", "password-1"])          # unknown role
        w.writerow(["bad3", "unit_head", "", "password-1"])     # unit role without unit
        w.writerow(["bad4", "unit_head", "999", "password-1"])  # unknown unit
        w.writerow(["bad5", "office", "", "short"])             # short password
        w.writerow(["ok1", "office", "", "password-1"])         # duplicate in file
        w.writerow(["", "office", "", "password-1"])            # missing username
    result = run("users", "import", str(path), "--db", db_url, code=1)
    lines = [l for l in result.stderr.splitlines() if l.startswith("第")]
    assert [l.split()[1] for l in lines] == ["3", "4", "5", "6", "7", "8", "9"]
    assert "[roles]" in lines[1] and "[unit]" in lines[2] and "[password]" in lines[4]
    db = Database(db_url)
    try:
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(User)
                                .where(User.username == "ok1")).scalar() == 0
    finally:
        db.dispose()


def test_sample_users_are_created_with_a_password(db_url):
    out = json.loads(run("org", "load-sample", "county", "--users-password", "sample-pass-1",
                         "--db", db_url, "--json").output)
    assert out["users_created"] == 0  # 'office' exists in the test organisation
