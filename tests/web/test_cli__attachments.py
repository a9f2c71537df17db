"""``perfeval instances attach ID FILE`` and ``perfeval instances attachments ID``: the
file stored by its SHA-256, the hash in the history chain, refusals as exit codes."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from engine import Database, actor_for, read_history, start, update_data, verify_history
from web.cli import main

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
LIMIT = 4096


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The attachment folder (PERFEVAL_ATTACHMENT_DIR), files limited to 4 KB."""
    folder = tmp_path / "files"
    monkeypatch.setenv("PERFEVAL_ATTACHMENT_DIR", str(folder))
    monkeypatch.setenv("PERFEVAL_ATTACHMENT_MAX_BYTES", str(LIMIT))
    return folder


@pytest.fixture
def database(db_url):
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def plan(database):
    """Unit 101's plan, drafted (version 2)."""
    staff = actor_for(database, "staff101")
    instance_id = start(database, "performance_plan", staff, unit_code="101").instance_id
    update_data(database, instance_id, staff, {"goals": "目标", "measures": "措施"})
    return str(instance_id)


@pytest.fixture
def cli(db_url, store):
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, [*args, "--db", db_url], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "自评报告.pdf"
    path.write_bytes(PDF)
    return path


def test_attach_stores_the_file_and_records_its_hash(cli, plan, report, store, database):
    sha = hashlib.sha256(PDF).hexdigest()
    out = json.loads(cli("instances", "attach", plan, str(report), "--as", "staff101",
                         "--comment", "定稿", "--json").stdout)
    assert (out["filename"], out["size"], out["sha256"], out["content_type"]) == \
        ("自评报告.pdf", len(PDF), sha, "application/pdf")
    assert out["version"] == out["history_seq"] == 3 and out["uploaded_by"] == "staff101"
    assert out["at"].endswith("+08:00")
    assert (store / sha[:2] / sha).read_bytes() == PDF
    entry = read_history(database, int(plan))[-1]
    assert entry["trigger"] == "attach" and f"SHA-256 {sha}" in entry["comment"]
    assert "定稿" in entry["comment"]
    assert verify_history(database).ok

    text = cli("instances", "attach", plan, str(report), "--as", "head101",
               "--expected-version", "3").output
    assert "自评报告.pdf" in text and "version 4" in text and sha in text


def test_attachments_lists_them_oldest_first(cli, plan, report):
    assert cli("instances", "attachments", plan).output.strip() == "(none)"
    cli("instances", "attach", plan, str(report), "--as", "staff101")
    cli("instances", "attach", plan, str(report), "--as", "head101")
    listed = json.loads(cli("instances", "attachments", plan, "--json").stdout)
    assert [(a["uploaded_by"], a["history_seq"]) for a in listed] == \
        [("staff101", 3), ("head101", 4)]
    assert set(listed[0]) == {"id", "instance_id", "filename", "content_type", "size",
                              "sha256", "uploaded_by", "at", "history_seq"}
    text = cli("instances", "attachments", plan, "--as", "auditor").output
    assert text.count("自评报告.pdf") == 2 and listed[0]["sha256"] in text
    cli("instances", "attachments", plan, "--as", "head102", code=3)


@pytest.mark.parametrize("args, code, needle", [
    (["--as", "auditor"], 3, "unit_staff"),
    (["--as", "head102"], 3, "attach"),
    (["--as", "staff101", "--expected-version", "1"], 6, "version"),
])
def test_refusals_exit_with_the_engines_codes(cli, plan, report, database, args, code,
                                              needle):
    result = cli("instances", "attach", plan, str(report), *args, code=code)
    assert needle in result.output
    assert [e["trigger"] for e in read_history(database, int(plan))][-1] == "update_data"


def test_bad_files_exit_8_with_a_json_error(cli, plan, tmp_path, store):
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ\x90\x00")
    big = tmp_path / "big.pdf"
    big.write_bytes(PDF + b"0" * LIMIT)
    fake = tmp_path / "photo.png"
    fake.write_bytes(PDF)
    for path, needle in ((exe, "不支持的文件类型"), (big, "文件过大"), (fake, "不符")):
        result = cli("instances", "attach", plan, str(path), "--as", "staff101", "--json",
                     code=8)
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "invalid_input" and needle in error["message"]
    assert not [p for p in store.rglob("*") if p.is_file()]


def test_unknown_instance_and_missing_file(cli, report, tmp_path):
    assert "999999" in cli("instances", "attach", "999999", str(report), "--as", "office",
                           code=7).output
    cli("instances", "attachments", "999999", code=7)
    missing = cli("instances", "attach", "1", str(tmp_path / "nope.pdf"), "--as", "office",
                  code=2)
    assert "does not exist" in missing.output
