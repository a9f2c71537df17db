"""/api/v1/instances/{id}/attachments: list, multipart upload and download over the API
(bearer token and session), every error code, the roles, and the file's SHA-256 in the
hash chain — on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import io
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from engine import actor_for, fire, read_history, start, update_data, verify_history
from engine.attachments import attachments
from web.api import schemas
from web.api.tokens import create_token
from web.app import create_app
from api_support import Api, error_of
from web_support import Client

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
LIMIT = 64 * 1024
NAME = "2026年自评报告.pdf"


@pytest.fixture
def files(tmp_path):
    return tmp_path / "files"


@pytest.fixture
def app(db, files):
    """The application on the parametrised database, attachments in a temporary
    folder, limited to 64 KB (so requests over 64 KB + 1 MiB are cut off unread)."""
    return create_app({"TESTING": True, "DB": db, "SECRET_KEY": "test-secret",
                       "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                       "ATTACHMENT_DIR": str(files), "ATTACHMENT_MAX_BYTES": LIMIT})


@pytest.fixture
def api(app, db):
    return lambda username: Api(app, create_token(db, username, "t", created_by="test")[1])


@pytest.fixture
def plan(db):
    """Unit 101's plan, drafted with goals and measures (version 2)."""
    staff = actor_for(db, "staff101")
    instance_id = start(db, "performance_plan", staff, unit_code="101").instance_id
    update_data(db, instance_id, staff, {"goals": "投资增长8%", "measures": "项目清单化"})
    return instance_id


def upload(client, instance_id, content=PDF, name=NAME, headers=None, **fields):
    """POST the file (and text ``fields``) as multipart/form-data."""
    http = client.http if isinstance(client, (Api, Client)) else client
    merged = dict(getattr(client, "headers", {}), **(headers or {}))
    return http.post(f"/api/v1/instances/{instance_id}/attachments", headers=merged,
                     data={"file": (io.BytesIO(content), name), **fields},
                     content_type="multipart/form-data")


def count(db) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(attachments)).scalar()


def content(client, path: str):
    """GET and close (the test client keeps a sent file open until then)."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def test_upload_list_and_download_identical_bytes_with_the_hash_in_history(api, plan, db,
                                                                           files):
    staff = api("staff101")
    created = upload(staff, plan, comment="自评报告定稿")
    assert created.status_code == 201, created.get_data(as_text=True)
    body, sha = created.get_json(), hashlib.sha256(PDF).hexdigest()
    assert schemas.validate(body, schemas.ref("NewAttachment")) == []
    assert (body["filename"], body["content_type"], body["size"], body["sha256"]) == \
        (NAME, "application/pdf", len(PDF), sha)
    assert body["uploaded_by"] == "staff101" and body["at"].endswith("+08:00")
    assert body["version"] == body["history_seq"] == 3
    assert body["download_url"] == \
        f"/api/v1/instances/{plan}/attachments/{body['id']}/content"
    assert (files / sha[:2] / sha).read_bytes() == PDF

    listed = staff.get(f"/api/v1/instances/{plan}/attachments")
    assert listed.status_code == 200
    assert listed.get_json() == {"items": [{k: v for k, v in body.items() if k != "version"}]}

    response = content(staff, body["download_url"])
    assert response.status_code == 200 and response.get_data() == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"2026.pdf\"; ")
    assert disposition.endswith(f"filename*=UTF-8''{quote(NAME, safe='')}")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Content-SHA256"] == sha
    assert response.headers["Repr-Digest"] == \
        f"sha-256=:{base64.b64encode(hashlib.sha256(PDF).digest()).decode()}:"
    assert response.headers["ETag"] == f'"{sha}"'
    assert "sandbox" in response.headers["Content-Security-Policy"]

    entry = read_history(db, plan)[-1]
    assert (entry["seq"], entry["trigger"], entry["from_state"], entry["to_state"]) == \
        (3, "attach", "draft", "draft")
    assert f"SHA-256 {sha}" in entry["comment"] and "自评报告定稿" in entry["comment"]
    assert verify_history(db).ok


def test_submit_a_report_upload_then_fire_with_the_returned_version(api, plan, db):
    head = api("head101")
    version = upload(head, plan, name="report.pdf").get_json()["version"]
    fired = head.post(f"/api/v1/instances/{plan}/fire",
                      json={"trigger": "submit", "expected_version": version})
    assert fired.status_code == 200 and fired.get_json()["to_state"] == "submitted"
    assert [e["trigger"] for e in read_history(db, plan)] == \
        ["start", "update_data", "attach", "submit"]
    assert verify_history(db).ok


def test_session_upload_needs_the_csrf_header(app, plan, db):
    client = Client(app, "staff101")
    refused = upload(client, plan)
    error_of(refused, 400, "csrf_failed")
    assert count(db) == 0
    created = upload(client, plan, headers={"X-CSRFToken": client.token})
    assert created.status_code == 201
    listed = client.get(f"/api/v1/instances/{plan}/attachments").get_json()
    assert [a["sha256"] for a in listed["items"]] == [hashlib.sha256(PDF).hexdigest()]
    assert content(client.http, listed["items"][0]["download_url"]).get_data() == PDF


def test_another_unit_gets_404_for_list_upload_and_download(api, plan, db):
    att = upload(api("staff101"), plan).get_json()
    other = api("head102")
    error_of(other.get(f"/api/v1/instances/{plan}/attachments"), 404, "not_found")
    error_of(upload(other, plan), 404, "not_found")
    error_of(other.get(att["download_url"]), 404, "not_found")
    assert count(db) == 1


def test_auditor_reads_and_downloads_but_may_not_upload(api, plan, db):
    att = upload(api("staff101"), plan).get_json()
    auditor = api("auditor")
    error = error_of(upload(auditor, plan, name="audit.pdf"), 403, "not_permitted")
    assert error["details"]["needed_roles"] == ["unit_staff", "unit_head"]
    assert "unit_staff" in error["message"] and "unit_head" in error["message"]
    assert count(db) == 1
    listed = auditor.get(f"/api/v1/instances/{plan}/attachments").get_json()["items"]
    assert [a["id"] for a in listed] == [att["id"]]
    assert content(auditor, att["download_url"]).get_data() == PDF


def test_office_attaches_once_it_acts_on_the_instance(api, plan, db):
    office = api("office")
    error = error_of(upload(office, plan), 403, "not_permitted")
    assert error["details"]["needed_roles"] == ["unit_staff", "unit_head"]
    fire(db, plan, "submit", actor_for(db, "head101"))
    created = upload(office, plan, name="审核意见.pdf", expected_version="3")
    assert created.status_code == 201 and created.get_json()["uploaded_by"] == "office"
    assert read_history(db, plan)[-1]["role"] == "office"


def test_stale_expected_version_is_a_409_and_stores_nothing(api, plan, db, files):
    staff = api("staff101")
    error = error_of(upload(staff, plan, expected_version="1"), 409, "conflict")
    assert (error["details"]["version"], error["details"]["expected_version"]) == (2, 1)
    assert count(db) == 0
    assert [p for p in files.rglob("*") if p.is_file()] == []
    assert upload(staff, plan, expected_version="2").status_code == 201


def test_file_over_the_limit_is_a_413_with_the_limit(api, plan, db):
    response = upload(api("staff101"), plan, PDF + b"0" * LIMIT, "big.pdf")
    error = error_of(response, 413, "payload_too_large")
    assert "文件过大:附件不得超过 64 KB" in error["message"]
    assert error["details"]["max_bytes"] == LIMIT and error["details"]["max_size"] == "64 KB"
    assert count(db) == 0


@pytest.mark.parametrize("auth", ["token", "session"])
def test_request_over_the_server_limit_is_a_json_413(app, api, plan, db, auth):
    big = PDF + b"0" * app.config["MAX_CONTENT_LENGTH"]
    # encoded in memory: the test client would spool a body this big to a file it
    # never closes
    if auth == "token":
        client = api("staff101")
        http, headers, fields = client.http, client.headers, {}
    else:
        client = Client(app, "staff101")
        http, headers = client.http, {"X-CSRFToken": client.token}
        fields = {"csrf_token": client.token}
    boundary, body = encode_multipart({**fields, "file": FileStorage(io.BytesIO(big),
                                                                     "big.pdf")})
    response = http.post(f"/api/v1/instances/{plan}/attachments", data=body, headers=headers,
                         content_type=f"multipart/form-data; boundary={boundary}")
    error = error_of(response, 413, "payload_too_large")
    assert "64 KB" in error["message"]
    assert error["details"] == {"max_bytes": LIMIT,
                                "max_request_bytes": app.config["MAX_CONTENT_LENGTH"]}
    assert count(db) == 0


@pytest.mark.parametrize("name, data, message", [
    ("setup.exe", b"MZ\x90\x00", "不支持的文件类型"),
    ("report.pdf", b"MZ\x90\x00" + b"\0" * 60, "可执行文件"),
    ("photo.png", PDF, "不符"),
    ("empty.pdf", b"", "文件为空"),
])
def test_refused_files_are_422_with_the_engines_message_and_the_limits(api, plan, db, name,
                                                                       data, message):
    error = error_of(upload(api("staff101"), plan, data, name), 422, "invalid_input")
    assert message in error["message"]
    assert error["details"]["allowed_types"] == ["pdf", "docx", "xlsx", "pptx", "doc", "xls",
                                                 "jpg", "jpeg", "png", "txt", "csv"]
    assert error["details"]["max_bytes"] == LIMIT
    assert count(db) == 0


def test_nothing_can_be_attached_in_a_final_state(api, db):
    office = actor_for(db, "office")
    instance_id = start(db, "performance_plan", office, unit_code="101",
                        data={"goals": "g", "measures": "m"}).instance_id
    for trigger, who in (("submit", "head101"), ("start_review", "office"),
                         ("approve", "office"), ("publish", "office")):
        fire(db, instance_id, trigger, actor_for(db, who))
    error = error_of(upload(api("office"), instance_id), 422, "invalid_input")
    assert "published" in error["message"]


def test_malformed_forms_are_refused_before_the_engine(api, plan, db):
    staff = api("staff101")
    path = f"/api/v1/instances/{plan}/attachments"
    error = error_of(staff.post(path, json={"file": "x"}), 415, "unsupported_media_type")
    assert "multipart/form-data" in error["message"]
    cases = [({"comment": "no file"}, "file", "is required"),
             ({"file": "text, not a file part"}, "file", "must be a file part"),
             ({"file": (io.BytesIO(PDF), NAME), "expected_version": "abc"},
              "expected_version", "integer"),
             ({"file": (io.BytesIO(PDF), NAME), "expected_version": "0"},
              "expected_version", "less than 1"),
             ({"file": (io.BytesIO(PDF), NAME), "comment": "x" * 4001}, "comment", "longer"),
             ({"file": (io.BytesIO(PDF), NAME), "colour": "red"}, "colour", "not a known"),
             ({"file": (io.BytesIO(PDF), ""), "comment": "c"}, "file", "no file name")]
    for data, where, text in cases:
        response = staff.http.post(path, headers=staff.headers, data=data,
                                   content_type="multipart/form-data")
        errors = error_of(response, 422, "invalid_input")["details"]["errors"]
        assert any(e["path"] == where and text in e["message"] for e in errors), errors
    assert count(db) == 0


def test_unknown_ids_and_another_instances_attachment_are_404(api, plan, db):
    att = upload(api("staff101"), plan).get_json()
    office = api("office")
    other = start(db, "performance_plan", actor_for(db, "office"), unit_code="101").instance_id
    error_of(office.get(f"/api/v1/instances/{other}/attachments/{att['id']}/content"), 404,
             "not_found")
    error_of(office.get(f"/api/v1/instances/{plan}/attachments/{att['id'] + 1}/content"),
             404, "not_found")
    error_of(office.get("/api/v1/instances/999999/attachments"), 404, "not_found")
    error_of(upload(office, 999999), 404, "not_found")
    assert office.get(f"/api/v1/instances/{other}/attachments").get_json() == {"items": []}


def test_without_credentials_every_endpoint_is_401(app, api, plan):
    att = upload(api("staff101"), plan).get_json()
    http = app.test_client()
    error_of(http.get(f"/api/v1/instances/{plan}/attachments"), 401, "unauthorized")
    error_of(upload(http, plan), 401, "unauthorized")
    error_of(http.get(att["download_url"]), 401, "unauthorized")


@pytest.mark.parametrize("damage", ["altered", "missing"])
def test_a_damaged_stored_file_is_a_json_error_not_the_bytes(api, plan, files, damage):
    att = upload(api("staff101"), plan).get_json()
    stored = files / att["sha256"][:2] / att["sha256"]
    if damage == "altered":
        stored.write_bytes(PDF.replace(b"Catalog", b"Catalo9"))
    else:
        stored.unlink()
    error = error_of(api("auditor").get(att["download_url"]), 500, "attachment_unavailable")
    assert NAME in error["message"]
    assert error["details"] == {"instance": plan, "attachment": att["id"]}


def test_openapi_describes_the_multipart_upload_and_the_binary_download(app):
    doc = app.test_client().get("/api/openapi.json").get_json()
    base = "/api/v1/instances/{instance_id}/attachments"
    post = doc["paths"][base]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form == schemas.ATTACH and form["properties"]["file"]["format"] == "binary"
    assert {"201", "400", "401", "403", "404", "409", "413", "415", "422"} <= \
        set(post["responses"])
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == \
        schemas.ref("NewAttachment")
    assert "multipart" in post["responses"]["415"]["description"]
    listing = doc["paths"][base]["get"]["responses"]["200"]["content"]["application/json"]
    assert listing["schema"] == schemas.ref("AttachmentList")
    download = doc["paths"][base + "/{attachment_id}/content"]["get"]
    media = download["responses"]["200"]["content"]
    assert "application/pdf" in media and "image/png" in media
    assert all(m["schema"] == {"type": "string", "format": "binary"} for m in media.values())
    assert {"X-Content-SHA256", "Content-Disposition"} <= \
        set(download["responses"]["200"]["headers"])
    assert "attachment_unavailable" in download["responses"]["500"]["description"]
    assert {p["name"] for p in download["parameters"]} == {"instance_id", "attachment_id"}
