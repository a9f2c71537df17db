"""Operators' commands: definitions, init, org import, users, audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import text

from engine import Database
from web.cli import main

BUNDLED = Path(__file__).parents[2] / "workflow" / "definitions"
INVALID = Path(__file__).parents[1] / "workflow" / "data" / "invalid"


def run(*args, code=0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_validate_accepts_the_bundled_definitions():
    assert "OK" in run("definitions", "validate", str(BUNDLED)).output


def test_validate_reports_every_bad_file_with_location_and_no_traceback():
    result = run("definitions", "validate", str(INVALID), code=1)
    files = {p.name for p in INVALID.glob("*.yaml")}
    reported = {line.split(":")[0].rsplit("/", 1)[-1] for line in result.stderr.splitlines()
                if ": error: " in line}
    assert reported == files
    assert "Traceback" not in result.output
    assert "did you mean" in result.stderr


def test_validate_never_crashes_on_missing_or_binary_paths(tmp_path):
    blob = tmp_path / "blob.yaml"
    blob.write_bytes(bytes(range(256)))
    result = run("definitions", "validate", str(blob), str(tmp_path / "missing.yaml"), code=1)
    assert "blob.yaml:" in result.stderr and "missing.yaml" in result.stderr
    assert "Traceback" not in result.output


def test_show_prints_states_transitions_and_a_mermaid_diagram():
    output = run("definitions", "show", "performance_plan").output
    assert "stateDiagram-v2" in output
    assert "request_revision" in output and "退回修改" in output
    data = json.loads(run("definitions", "show", "performance_plan", "--json").output)
    assert data["initial"] == "draft" and "mermaid" in data


def test_list_shows_whether_the_database_is_in_sync(db_url):
    rows = json.loads(run("definitions", "list", "--db", db_url, "--json").output)
    plan = next(r for r in rows if r["key"] == "performance_plan")
    assert (plan["stored_version"], plan["in_sync"]) == (1, True)


def test_init_is_idempotent_and_versions_changed_definitions(db_url, tmp_path):
    again = json.loads(run("init", "--db", db_url, "--json").output)
    assert [d["created"] for d in again["definitions"]] == [False] * len(again["definitions"])
    changed = tmp_path / "defs"
    changed.mkdir()
    source = (BUNDLED / "performance_plan.yaml").read_text(encoding="utf-8")
    (changed / "performance_plan.yaml").write_text(
        source.replace("年度绩效计划", "年度绩效计划(修订)"), encoding="utf-8")
    loaded = json.loads(run("init", "--db", db_url, "--definitions", str(changed),
                            "--json").output)
    assert [(d["key"], d["version"], d["created"]) for d in loaded["definitions"]] == [
        ("performance_plan", 2, True)]


def _csv(tmp_path, body):
    path = tmp_path / "units.csv"
    path.write_text(body, encoding="utf-8-sig")
    return str(path)


def test_org_import_reports_every_bad_row_and_imports_nothing(db_url, tmp_path):
    path = _csv(tmp_path, "单位编码,单位名称,类别,上级单位编码\n"
                          "401,县水利局,县直单位,\n"
                          ",无编码单位,县直单位,\n"
                          "401,重复编码,县直单位,\n"
                          "402,县林业局,,999\n")
    result = run("org", "import", path, "--db", db_url, code=1)
    for needle in ("第 3 行 [code]", "第 4 行 [code]", "第 5 行 [category]", "第 5 行 [parent]"):
        assert needle in result.stderr
    db = Database(db_url)
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM units WHERE code IN ('401','402')")
                            ).scalar() == 0
    db.dispose()


def test_org_import_reads_excel_with_chinese_headers(db_url, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["单位编码", "单位名称", "类别", "上级单位编码"])
    sheet.append(["501", "县卫生健康局", "县直单位", None])
    sheet.append(["502", "县疾控中心", "县直单位", "501"])
    sheet.append(["101", "县发展和改革局(更名)", "县直单位", None])
    path = tmp_path / "units.xlsx"
    book.save(path)
    result = json.loads(run("org", "import", str(path), "--db", db_url, "--json").output)
    assert (result["created"], result["updated"], result["errors"]) == (2, 1, [])
    db = Database(db_url)
    with db.read() as conn:
        rows = dict(conn.execute(text(
            "SELECT u.code, p.code FROM units u LEFT JOIN units p ON p.id = u.parent_id "
            "WHERE u.code IN ('501','502')")).all())
        renamed = conn.execute(text("SELECT name FROM units WHERE code='101'")).scalar()
    db.dispose()
    assert rows == {"501": None, "502": "501"}
    assert renamed == "县发展和改革局(更名)"


def test_users_add_hashes_the_password_and_checks_roles(db_url, monkeypatch):
    monkeypatch.setenv("PERFEVAL_PASSWORD", "s3cret-pass")
    run("users", "add", "lisi", "--role", "unit_staff", "--unit", "102", "--db", db_url)
    bad = run("users", "add", "wangwu", "--role", "ofice", "--db", db_url, code=8)
    assert "ofice" in bad.output
    monkeypatch.setenv("PERFEVAL_PASSWORD", "12345678")
    weak = run("users", "add", "zhaoliu", "--role", "office", "--db", db_url, code=8)
    assert "至少 10 位" in weak.output and "字母" in weak.output
    db = Database(db_url)
    with db.read() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE username='lisi'")
                              ).scalar()
    db.dispose()
    assert "s3cret-pass" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    assert "lisi" in run("users", "list", "--db", db_url).output


def test_audit_verify_fails_naming_the_tampered_entry(db_url, tmp_path):
    pid = json.loads(run("start", "performance_plan", "--unit", "101", "--as", "office",
                         "--db", db_url, "--json").output)["instance_id"]
    run("save", str(pid), "--as", "staff101", "--data", '{"goals": "x"}', "--db", db_url)
    out = tmp_path / "history.csv"
    run("audit", "export", "--format", "csv", "--output", str(out), "--db", db_url)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    db = Database(db_url)
    with db.write() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER history_no_update"))
        else:
            conn.execute(text("DROP TRIGGER history_no_update ON history"))
        conn.execute(text(f"UPDATE history SET comment='x' WHERE instance_id={pid} AND seq=2"))
    db.dispose()
    result = run("audit", "verify", "--db", db_url, code=1)
    assert f"instance {pid} seq 2" in result.output


@pytest.mark.parametrize("args", [["history", "5"], ["list"], ["audit", "verify"]])
def test_commands_on_an_uninitialised_database_explain_instead_of_crashing(tmp_path, args):
    result = run(*args, "--db", f"sqlite:///{tmp_path}/empty.db", code=10)
    assert "perfeval init" in result.output and "Traceback" not in result.output
