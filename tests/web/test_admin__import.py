"""Units and users imported from the admin page: all or nothing; a bad file imports
nothing and the page lists every bad row (row number, column, reason) in a table."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from sqlalchemy import func, select

from engine.models import Unit, User
from web_support import app, client_for, web_db  # noqa: F401


def _count(db, model):
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar()


def _post(client, kind, name, content, **form):
    return client.post(f"/admin/import/{kind}", {"file": (io.BytesIO(content), name), **form},
                       content_type="multipart/form-data")


def _error_rows(body):
    table = body.split('id="import-errors"')[1].split("</table>")[0]
    return re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table)


def test_a_bad_users_file_shows_every_error_and_imports_nothing(client_for, web_db):
    before = _count(web_db, User)
    csv = ("用户名,姓名,角色,单位编码,密码\n"
           "good1,好人,office,,long-enough-1\n"
           "x,短名,office,,long-enough-1\n"
           "staffx,某人,unit_staff,,long-enough-1\n"
           "good2,某人,wizard,101,short\n"
           "good1,重复,office,,long-enough-1\n").encode()
    response = _post(client_for("admin"), "users", "users.csv", csv)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "未导入任何数据" in body
    rows = _error_rows(body)
    assert [(r[0], r[1]) for r in rows] == [
        ("第 3 行", "username"), ("第 4 行", "unit"), ("第 5 行", "roles"),
        ("第 5 行", "password"), ("第 6 行", "username")]
    assert "未知角色 wizard" in rows[2][2]
    assert _count(web_db, User) == before


def test_a_bad_units_file_shows_every_error_and_imports_nothing(client_for, web_db):
    before = _count(web_db, Unit)
    csv = ("单位编码,单位名称,类别,上级单位编码\n"
           "501,县水利局,县直单位,\n"
           ",无编码,县直单位,\n"
           "501,重复,县直单位,\n"
           "502,某局,县直单位,999\n").encode()
    body = _post(client_for("admin"), "units", "units.csv", csv).get_data(as_text=True)
    assert [(r[0], r[1]) for r in _error_rows(body)] == [
        ("第 3 行", "code"), ("第 4 行", "code"), ("第 5 行", "parent")]
    assert _count(web_db, Unit) == before


def test_a_file_without_the_needed_columns_is_explained(client_for, web_db):
    response = _post(client_for("admin"), "units", "units.csv", "名称\n某局\n".encode())
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "表头缺少列" in body


def test_a_good_xlsx_users_file_is_imported(client_for, web_db):
    book = Workbook()
    sheet = book.active
    sheet.append(["用户名", "姓名", "角色", "单位编码"])
    sheet.append(["xl_staff", "表格用户", "unit_staff", "101"])
    sheet.append(["xl_expert", "专家", "expert", ""])
    data = io.BytesIO()
    book.save(data)
    client = client_for("admin")
    response = _post(client, "users", "users.xlsx", data.getvalue(), password="initial-pass-1")
    assert response.status_code == 302
    assert "新增 2 条" in client.get("/admin/").get_data(as_text=True)
    assert "xl_expert" in client.get("/admin/users?role=expert").get_data(as_text=True)
    assert "import_users" in client.get("/admin/changes").get_data(as_text=True)


def test_an_unknown_import_kind_is_a_404(client_for):
    client = client_for("admin")
    assert _post(client, "wizards", "w.csv", b"a\n").status_code == 404
