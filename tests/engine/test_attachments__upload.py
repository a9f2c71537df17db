"""Attaching a file: its SHA-256 in the hash chain, limits and permissions, all or nothing."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import func, select

from engine import (Conflict, InvalidInput, NotPermitted, fire, read_history, start,
                    update_data, verify_history)
from engine.attachments import (ATTACH_TRIGGER, AttachmentSettings, AttachmentUnavailable,
                                attach, attachments, list_attachments, open_attachment,
                                storage_path)
from engine.models import HistoryEntry, Instance

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"


def ooxml(part: str) -> bytes:
    """A minimal Office Open XML package with ``part`` (word/, xl/ or ppt/)."""
    buffer = io.BytesIO()
    stamp = (2026, 1, 1, 0, 0, 0)  # fixed: the bytes name test cases, which every
    with zipfile.ZipFile(buffer, "w") as archive:  # xdist worker must collect alike
        archive.writestr(zipfile.ZipInfo("[Content_Types].xml", stamp), "<Types/>")
        archive.writestr(zipfile.ZipInfo(part + "document.xml", stamp), "<doc/>")
    return buffer.getvalue()


@pytest.fixture
def settings(tmp_path):
    return AttachmentSettings(tmp_path / "files", max_bytes=64 * 1024)


@pytest.fixture
def plan(db, actors):
    """Unit 101's performance plan in draft (version 1)."""
    return start(db, "performance_plan", actors["staff101"], unit_code="101").instance_id


def _counts(db, instance_id):
    with db.read() as conn:
        history = conn.execute(select(func.count()).select_from(HistoryEntry.__table__).where(
            HistoryEntry.__table__.c.instance_id == instance_id)).scalar()
        files = conn.execute(select(func.count()).select_from(attachments)).scalar()
        version = conn.execute(select(Instance.__table__.c.version).where(
            Instance.__table__.c.id == instance_id)).scalar()
    return history, files, version


def _stored(settings):
    return sorted(p.name for p in settings.directory.rglob("*") if p.is_file())


def test_sha256_goes_into_a_hash_chained_history_entry(db, actors, plan, settings):
    att = attach(db, plan, actors["staff101"], "自评报告.pdf", io.BytesIO(PDF),
                 "application/octet-stream", comment="初稿", settings=settings)
    sha = hashlib.sha256(PDF).hexdigest()
    assert (att.sha256, att.size, att.filename) == (sha, len(PDF), "自评报告.pdf")
    assert att.content_type == "application/pdf" and att.history_seq == 2
    entry = read_history(db, plan)[-1]
    assert entry["trigger"] == ATTACH_TRIGGER and entry["from_state"] == entry["to_state"]
    assert f"SHA-256 {sha}" in entry["comment"] and "自评报告.pdf" in entry["comment"]
    assert f"{len(PDF)} 字节" in entry["comment"] and entry["comment"].endswith("初稿")
    assert storage_path(settings, sha).read_bytes() == PDF
    assert _stored(settings) == [sha]  # the temporary file is gone
    report = verify_history(db)
    assert report.ok and report.entries == 2
    listed = list_attachments(db, plan, actors["head101"])
    assert [a.id for a in listed] == [att.id]


def test_altered_comment_breaks_the_chain(db, actors, plan, settings):
    attach(db, plan, actors["staff101"], "a.pdf", io.BytesIO(PDF), settings=settings)
    with db.write() as conn:
        if db.dialect == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER history_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER history_no_update ON history")
        conn.exec_driver_sql("UPDATE history SET comment = replace(comment, 'SHA-256 ', "
                             "'SHA-256 0') WHERE trigger = 'attach'")
    report = verify_history(db)
    assert [(p.instance_id, p.seq) for p in report.problems] == [(plan, 2)]


@pytest.mark.parametrize("name, content", [
    ("plan.docx", ooxml("word/")), ("table.xlsx", ooxml("xl/")), ("deck.pptx", ooxml("ppt/")),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64),
    ("photo.JPG", b"\xff\xd8\xff\xe0" + b"\0" * 32), ("scan.png", b"\x89PNG\r\n\x1a\n" + b"x" * 8),
    ("notes.txt", "说明文字\n".encode()), ("data.csv", "单位,得分\n县财政局,95\n".encode("gbk")),
])
def test_each_allowed_type_is_accepted(db, actors, plan, settings, name, content):
    att = attach(db, plan, actors["staff101"], name, io.BytesIO(content), settings=settings)
    assert att.size == len(content)


@pytest.mark.parametrize("name, content, message", [
    ("tool.exe", b"MZ\x90\x00", "不支持的文件类型"),
    ("report.pdf", b"MZ\x90\x00" + b"\0" * 60, "可执行文件"),
    ("run.txt", b"#!/bin/sh\nrm -rf /\n", "可执行文件"),
    ("report.pdf", ooxml("word/"), "不符"),
    ("table.xlsx", ooxml("word/"), "不符"),
    ("table.xlsx", b"PK\x03\x04 not really a zip", "不符"),
    ("notes.txt", b"\x00\x01\x02binary", "不符"),
    ("noext", PDF, "不支持的文件类型"),
])
def test_wrong_or_dangerous_types_are_refused_and_nothing_written(db, actors, plan, settings,
                                                                  name, content, message):
    with pytest.raises(InvalidInput) as refused:
        attach(db, plan, actors["staff101"], name, io.BytesIO(content), settings=settings)
    assert message in refused.value.message
    assert _counts(db, plan) == (1, 0, 1)
    assert _stored(settings) == []


def test_too_large_is_refused_with_the_limit_and_nothing_written(db, actors, plan, settings):
    big = PDF + b"0" * settings.max_bytes
    with pytest.raises(InvalidInput) as refused:
        attach(db, plan, actors["staff101"], "big.pdf", io.BytesIO(big), settings=settings)
    assert "文件过大" in refused.value.message and "64 KB" in refused.value.message
    assert _counts(db, plan) == (1, 0, 1)
    assert _stored(settings) == []


def test_filename_is_sanitised(db, actors, plan, settings):
    att = attach(db, plan, actors["staff101"], "..\\..\\etc/<坏>\x07名.pdf", io.BytesIO(PDF),
                 settings=settings)
    assert att.filename == "_坏__名.pdf"


def test_unit_user_only_on_their_own_unit(db, actors, plan, settings):
    with pytest.raises(NotPermitted) as refused:
        attach(db, plan, actors["head102"], "a.pdf", io.BytesIO(PDF), settings=settings)
    assert "本单位" in refused.value.message
    assert _counts(db, plan) == (1, 0, 1)


def test_auditor_is_refused_with_the_roles_needed(db, actors, plan, settings):
    with pytest.raises(NotPermitted) as refused:
        attach(db, plan, actors["auditor"], "a.pdf", io.BytesIO(PDF), settings=settings)
    assert "需要角色" in refused.value.message and "unit_staff" in refused.value.message
    assert _counts(db, plan) == (1, 0, 1)
    assert _stored(settings) == []


def test_office_may_attach_only_where_it_acts(db, actors, plan, settings):
    with pytest.raises(NotPermitted):
        attach(db, plan, actors["office"], "意见.pdf", io.BytesIO(PDF), settings=settings)
    update_data(db, plan, actors["staff101"], {"goals": "g", "measures": "m"})
    fire(db, plan, "submit", actors["head101"])
    att = attach(db, plan, actors["office"], "意见.pdf", io.BytesIO(PDF), settings=settings)
    assert (att.uploaded_by, att.history_seq) == ("office", 4)
    assert read_history(db, plan)[-1]["role"] == "office"


def test_stale_version_is_a_conflict_and_writes_nothing(db, actors, plan, settings):
    with pytest.raises(Conflict):
        attach(db, plan, actors["staff101"], "a.pdf", io.BytesIO(PDF), expected_version=7,
               settings=settings)
    assert _counts(db, plan) == (1, 0, 1)
    assert _stored(settings) == []


def test_storage_failure_inside_the_transaction_leaves_no_row(db, actors, plan, settings):
    sha = hashlib.sha256(PDF).hexdigest()
    settings.directory.mkdir(parents=True)
    (settings.directory / sha[:2]).write_text("a file where the folder should be")
    with pytest.raises(OSError):
        attach(db, plan, actors["staff101"], "a.pdf", io.BytesIO(PDF), settings=settings)
    assert _counts(db, plan) == (1, 0, 1)
    assert not list((settings.directory / "tmp").iterdir())
    assert verify_history(db).ok


def test_download_rehashes_and_refuses_a_missing_or_altered_file(db, actors, plan, settings):
    att = attach(db, plan, actors["staff101"], "a.pdf", io.BytesIO(PDF), settings=settings)
    found, path = open_attachment(db, plan, att.id, actors["auditor"], settings)
    assert path.read_bytes() == PDF and found.sha256 == att.sha256
    path.write_bytes(PDF.replace(b"Catalog", b"Catalox"))
    with pytest.raises(AttachmentUnavailable) as altered:
        open_attachment(db, plan, att.id, actors["auditor"], settings)
    path.unlink()
    with pytest.raises(AttachmentUnavailable) as missing:
        open_attachment(db, plan, att.id, actors["auditor"], settings)
    assert "SHA-256 不符" in altered.value.message and "缺失" in missing.value.message
    with pytest.raises(NotPermitted):
        open_attachment(db, plan, att.id, actors["head102"], settings)
