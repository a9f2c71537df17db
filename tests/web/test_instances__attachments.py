"""Attachments on the instance page: upload, list, download, refusals and error pages."""

from __future__ import annotations

import hashlib
import io
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from engine.attachments import attachments
from web.app import create_app
from web_support import advance, client_for, plan, plan_102, web_db  # noqa: F401

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
LIMIT = 64 * 1024


@pytest.fixture
def files(tmp_path):
    return tmp_path / "files"


@pytest.fixture
def app(web_db, files):
    """The application with attachments in a temporary folder, limited to 64 KB."""
    return create_app({"TESTING": True, "DB": web_db, "SECRET_KEY": "test-secret",
                       "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                       "ATTACHMENT_DIR": str(files), "ATTACHMENT_MAX_BYTES": LIMIT})


def _upload(client, instance_id, content=PDF, name="自评报告.pdf", **extra):
    return client.post(f"/instances/{instance_id}/attachments",
                       {"file": (io.BytesIO(content), name), **extra},
                       content_type="multipart/form-data")


def _count(db) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(attachments)).scalar()


def _only_id(db) -> int:
    with db.read() as conn:
        return conn.execute(select(attachments.c.id)).scalar_one()


def test_upload_lists_the_file_and_records_its_hash_in_history(client_for, plan, web_db,
                                                               files):
    client = client_for("staff101")
    response = _upload(client, plan, comment="初稿", version="2")
    assert response.status_code == 302
    sha = hashlib.sha256(PDF).hexdigest()
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已上传附件:自评报告.pdf" in body
    listing = body[body.index('id="attachment-list"'):body.index('id="history"')]
    assert "自评报告.pdf" in listing and f"{len(PDF)} B" in listing
    assert f'title="{sha}">{sha[:12]}…' in listing and "staff101" in listing
    timeline = body[body.index('id="history"'):]
    assert "上传附件" in timeline and f"SHA-256 {sha}" in timeline
    assert f'title="{sha}">{sha[:16]}…' in timeline
    assert (files / sha[:2] / sha).read_bytes() == PDF


def test_page_offers_the_form_with_accepted_types_and_limits(client_for, plan):
    body = client_for("staff101").get(f"/instances/{plan}").get_data(as_text=True)
    form = body[body.index('id="upload-form"'):]
    assert 'enctype="multipart/form-data"' in body and 'name="csrf_token"' in form
    assert 'accept=".pdf,.docx,.xlsx,.pptx,.doc,.xls,.jpg,.jpeg,.png,.txt,.csv"' in form
    assert "单个文件不超过 64 KB" in form and "暂无附件" in body


def test_download_returns_identical_bytes_with_safe_headers(client_for, plan, web_db):
    client = client_for("staff101")
    _upload(client, plan)
    response = client_for("auditor").get(f"/instances/{plan}/attachments/{_only_id(web_db)}")
    data = response.get_data()
    response.close()  # the test client keeps the file open until the response is closed
    assert response.status_code == 200 and data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('自评报告.pdf')}" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_another_unit_gets_404_for_page_upload_and_download(client_for, plan, web_db):
    _upload(client_for("staff101"), plan)
    other = client_for("head102")
    att = _only_id(web_db)
    assert other.get(f"/instances/{plan}/attachments/{att}").status_code == 404
    assert _upload(other, plan).status_code == 404
    assert _count(web_db) == 1


def test_attachment_of_another_instance_is_404(client_for, plan, plan_102, web_db):
    _upload(client_for("staff101"), plan)
    office = client_for("office")
    assert office.get(f"/instances/{plan_102}/attachments/{_only_id(web_db)}").status_code == 404
    assert office.get(f"/instances/{plan}/attachments/999").status_code == 404


def test_upload_without_csrf_token_is_refused(app, client_for, plan, web_db):
    client = client_for("staff101")
    response = client.http.post(f"/instances/{plan}/attachments",
                                data={"file": (io.BytesIO(PDF), "a.pdf")},
                                content_type="multipart/form-data")
    assert response.status_code == 400 and "安全令牌" in response.get_data(as_text=True)
    assert _count(web_db) == 0


def test_too_large_request_gets_a_friendly_413_page(client_for, plan, web_db, app):
    client = client_for("staff101")
    big = PDF + b"0" * app.config["MAX_CONTENT_LENGTH"]
    # encoded in memory: the test client would spool a body this big to a file it
    # never closes
    boundary, body = encode_multipart({"csrf_token": client.token,
                                       "file": FileStorage(io.BytesIO(big), "big.pdf")})
    response = client.http.post(f"/instances/{plan}/attachments", data=body,
                                content_type=f"multipart/form-data; boundary={boundary}")
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "上传的文件过大" in page and "单个附件不得超过 64 KB" in page
    assert _count(web_db) == 0


def test_file_over_the_limit_within_the_request_limit_is_refused(client_for, plan, web_db):
    response = _upload(client_for("staff101"), plan, PDF + b"0" * LIMIT, "big.pdf")
    assert response.status_code == 422
    assert "文件过大:附件不得超过 64 KB" in response.get_data(as_text=True)
    assert _count(web_db) == 0


@pytest.mark.parametrize("name, content, message", [
    ("setup.exe", b"MZ\x90\x00", "不支持的文件类型"),
    ("report.pdf", b"MZ\x90\x00" + b"\0" * 60, "可执行文件"),
    ("photo.png", PDF, "不符"),
])
def test_refused_types_show_the_reason(client_for, plan, web_db, name, content, message):
    response = _upload(client_for("staff101"), plan, content, name)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _count(web_db) == 0


def test_missing_file_field_is_a_clear_error(client_for, plan):
    response = client_for("staff101").post(f"/instances/{plan}/attachments", {},
                                           content_type="multipart/form-data")
    assert response.status_code == 422 and "请选择要上传的文件" in response.get_data(as_text=True)


def test_auditor_reads_and_downloads_but_may_not_upload(client_for, plan, web_db):
    _upload(client_for("staff101"), plan)
    auditor = client_for("auditor")
    body = auditor.get(f"/instances/{plan}").get_data(as_text=True)
    assert "自评报告.pdf" in body and 'id="upload-form"' not in body
    response = _upload(auditor, plan, name="x.pdf")
    assert response.status_code == 403 and "需要角色" in response.get_data(as_text=True)
    assert _count(web_db) == 1


def test_missing_or_altered_stored_file_is_an_error_page(client_for, plan, web_db, files):
    client = client_for("staff101")
    _upload(client, plan)
    sha = hashlib.sha256(PDF).hexdigest()
    url = f"/instances/{plan}/attachments/{_only_id(web_db)}"
    (files / sha[:2] / sha).write_bytes(PDF[:-1] + b"!")
    altered = client.get(url)
    (files / sha[:2] / sha).unlink()
    missing = client.get(url)
    assert altered.status_code == 500 and "SHA-256 不符" in altered.get_data(as_text=True)
    assert missing.status_code == 500 and "文件缺失" in missing.get_data(as_text=True)
    assert "Traceback" not in missing.get_data(as_text=True)


def test_stale_version_is_a_conflict_page(client_for, plan, web_db):
    response = _upload(client_for("staff101"), plan, version="1")
    assert response.status_code == 409 and _count(web_db) == 0


def test_english_page_shows_the_attachment_section_in_english(client_for, plan):
    client = client_for("staff101")
    _upload(client, plan)
    client.post("/lang", {"lang": "en"})
    body = client.get(f"/instances/{plan}").get_data(as_text=True)
    assert "Attachments" in body and "Uploaded by" in body and "Attachment uploaded" in body
    assert "at most 64 KB per file" in body
