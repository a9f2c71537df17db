"""The audit page lists the signed anchors and verifies an uploaded one (CSRF, messages
next to the field, never a 500); the API lists them and verifies one (JSON errors)."""

from __future__ import annotations

import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine import actor_for, fire, start, update_data
from engine.anchor import anchor, document_text
from engine.anchor_keys import KEY_ENV, public_pem
from tamper_support import rewrite_chain
from web.api.tokens import create_token
from web.app import create_app
from web_support import Client


@pytest.fixture
def site(db, monkeypatch):
    """The application on the parametrised ``db`` (SQLite and PostgreSQL), CSRF on."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    app = create_app({"TESTING": True, "DB": db, "SECRET_KEY": "test-secret",
                      "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
    return lambda username=None: Client(app, username)


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def plan(db):
    pid = start(db, "performance_plan", actor_for(db, "office"), unit_code="101").instance_id
    update_data(db, pid, actor_for(db, "staff101"), {"goals": "g", "measures": "m"})
    fire(db, pid, "submit", actor_for(db, "head101"))
    return pid


def _file(doc_or_text, name="anchor.json"):
    text = doc_or_text if isinstance(doc_or_text, str) else document_text(
        {k: v for k, v in doc_or_text.items() if k != "id"})
    return (io.BytesIO(text.encode("utf-8")), name)


def _upload(client, anchor_file=None, key_file=None, **extra):
    data = {**extra}
    if anchor_file is not None:
        data["anchor"] = anchor_file
    if key_file is not None:
        data["public_key"] = key_file
    return client.post("/audit/anchors/verify", data, content_type="multipart/form-data")


def test_page_lists_anchors_with_counts_root_and_download(db, site, plan, key):
    first = anchor(db, key)
    second = anchor(db, key)
    auditor = site("auditor")

    page = auditor.get("/audit/anchors").get_data(as_text=True)

    assert page.index(f"<td>{second['id']}</td>") < page.index(f"<td>{first['id']}</td>")
    assert second["body"]["merkle_root"][:16] in page and "命令行" in page
    assert 'id="anchors-link"' in auditor.get("/audit/").get_data(as_text=True)
    download = auditor.get(f"/audit/anchors/{first['id']}.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert json.loads(download.data)["body"] == first["body"]
    assert auditor.get("/audit/anchors/999.json").status_code == 404
    assert site("head101").get("/audit/anchors").status_code == 403


def test_upload_verifies_and_locates_a_rewrite(db, site, plan, key):
    doc = anchor(db, key)
    auditor = site("auditor")
    pem = (io.BytesIO(public_pem(key.public_key()).encode()), "anchor.pem.pub")

    good = _upload(auditor, _file(doc), pem).get_data(as_text=True)
    assert "锚点校验通过" in good and "上传的公钥" in good and "anchor-warning" not in good

    rewrite_chain(db, plan, 2, comment="rewritten")
    bad = _upload(auditor, _file(doc))
    body = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "锚点校验失败" in body
    assert f"<td>#{plan}</td><td>3</td>" in body and "rewritten after the anchor" in body
    assert "anchor-warning" in body  # no key pinned: the page says what that means

    auditor.post("/lang", {"lang": "en", "next": "/audit/anchors"})
    english = _upload(auditor, _file(doc)).get_data(as_text=True)
    assert "Anchor check failed" in english and "Signed anchors" in english


def test_bad_uploads_are_answered_next_to_the_field(db, site, plan, key):
    auditor = site("auditor")
    doc = anchor(db, key)

    missing = _upload(auditor)
    assert missing.status_code == 422 and 'id="anchor-error"' in missing.get_data(as_text=True)
    junk = _upload(auditor, _file("{not json"))
    text = junk.get_data(as_text=True)
    assert junk.status_code == 422 and 'id="anchor-error"' in text and "not a valid" in text
    wrong_key = _upload(auditor, _file(doc), (io.BytesIO(b"not a key"), "k.pub"))
    assert wrong_key.status_code == 422
    assert 'id="public_key-error"' in wrong_key.get_data(as_text=True)
    forged = _upload(auditor, _file(doc), (io.BytesIO(public_pem(
        Ed25519PrivateKey.generate().public_key()).encode()), "other.pub"))
    assert "锚点签名无效" in forged.get_data(as_text=True)
    no_csrf = auditor.http.post("/audit/anchors/verify", data={"anchor": _file(doc)},
                                content_type="multipart/form-data")
    assert no_csrf.status_code == 400


def test_api_lists_and_verifies_anchors(db, site, plan, key):
    doc = anchor(db, key)
    http = site().http
    auditor = {"Authorization": "Bearer " + create_token(db, "auditor", "t", created_by="t")[1]}
    unit = {"Authorization": "Bearer " + create_token(db, "head101", "t", created_by="t")[1]}

    [item] = http.get("/api/v1/audit/anchors", headers=auditor).get_json()["items"]
    assert (item["id"], item["instances"], item["entries"]) == (doc["id"], 1, 3)
    assert item["download_url"] == f"/audit/anchors/{doc['id']}.json"
    assert http.get("/api/v1/audit/anchors", headers=unit).status_code == 403

    body = {"anchor": {k: v for k, v in doc.items() if k != "id"},
            "public_key": public_pem(key.public_key())}
    report = http.post("/api/v1/audit/anchors/verify", json=body, headers=auditor).get_json()
    assert report["ok"] and report["key_source"] == "pinned" and report["problems"] == []

    rewrite_chain(db, plan, 3, comment="rewritten")
    report = http.post("/api/v1/audit/anchors/verify", json=body, headers=auditor).get_json()
    assert not report["ok"] and report["problems"][0]["seq"] == 3

    bad = http.post("/api/v1/audit/anchors/verify", json={"anchor": {"body": {}}},
                    headers=auditor)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_anchor"
    key_bad = http.post("/api/v1/audit/anchors/verify", headers=auditor,
                        json={**body, "public_key": "nope"})
    assert key_bad.status_code == 422
    assert key_bad.get_json()["error"]["code"] == "anchor_key_invalid"
    assert http.post("/api/v1/audit/anchors/verify", data="x", headers=auditor
                     ).status_code == 415
