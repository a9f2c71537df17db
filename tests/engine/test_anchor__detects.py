"""A signed anchor catches every edit an administrator could make after it — even a
chain rewritten with recomputed hashes that plain ``audit verify`` accepts — and a
valid database verifies against it."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from freezegun import freeze_time
from sqlalchemy import text

from engine import fire, start, update_data, verify_history
from engine.anchor import (ChainsBroken, InvalidAnchor, anchor, document_text, list_anchors,
                           merkle_root, verify_anchor)
from engine.anchor_keys import AnchorKeyMissing, KEY_ENV, keygen, public_pem, signing_key
from engine.hashing import canonical
from tamper_support import delete_instance, rewrite_chain, tamper, truncate_chain


@pytest.fixture
def plans(db, actors):
    """Plan of unit 101 at 'under_review' (4 entries), plan of unit 102 started (1)."""
    pid = start(db, "performance_plan", actors["office"], unit_code="101").instance_id
    other = start(db, "performance_plan", actors["office"], unit_code="102").instance_id
    update_data(db, pid, actors["staff101"], {"goals": "g", "measures": "m"})
    fire(db, pid, "submit", actors["head101"])
    fire(db, pid, "start_review", actors["office"])
    return [pid, other]


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def anchored(db, plans, key):
    """The anchor file's text, written now (later work is dated after it)."""
    doc = anchor(db, key)
    return document_text({k: v for k, v in doc.items() if k != "id"})


def located(report) -> list[tuple[int | None, int]]:
    return [(p.instance_id, p.seq) for p in report.problems]


def test_anchor_body_lists_every_head_with_counts_root_and_moment(db, plans, key):
    with freeze_time("2026-12-03 18:00:00"):
        doc = anchor(db, key)
    body = doc["body"]
    assert body["moment"] == "2026-12-03T18:00:00.000000Z"
    assert (body["format"], body["format_version"]) == ("perfeval-anchor", 2)
    with db.read() as conn:
        rows = conn.execute(text("SELECT id, version, last_hash, definition_key, "
                                 "subject_unit_id, parent_id FROM instances ORDER BY id")).all()
    heads = [[r[0], r[1], r[2], hashlib.sha256(canonical({
        "definition_key": r[3], "subject_unit_id": r[4], "parent_id": r[5]})).hexdigest()]
        for r in rows]
    assert body["heads"] == heads and (body["instances"], body["entries"]) == (2, 5)
    assert body["merkle_root"] == merkle_root(heads)
    key.public_key().verify(base64.b64decode(doc["signature"]["value"]), canonical(body))
    [row] = list_anchors(db)
    assert (row["instances"], row["entries"], row["merkle_root"]) == (2, 5, body["merkle_root"])


def test_anchor_body_digests_every_unit_and_cycle(db, plans, key):
    body = anchor(db, key)["body"]
    with db.read() as conn:
        units = conn.execute(text("SELECT id, code, category, parent_id FROM units "
                                  "ORDER BY id")).all()
    rows = [[u.id, hashlib.sha256(canonical({"id": u.id, "code": u.code, "category": u.category,
                                             "parent_id": u.parent_id})).hexdigest()]
            for u in units]
    assert body["units"] == {"count": len(rows), "rows": rows,
                             "digest": hashlib.sha256(canonical(rows)).hexdigest()}
    assert body["cycles"] == {"count": 0, "rows": [],
                              "digest": hashlib.sha256(b"[]").hexdigest()}


def test_merkle_root_follows_the_documented_rule():
    def sha(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    heads = [[1, 3, "a" * 64], [2, 1, "b" * 64], [7, 2, "c" * 64]]
    leaves = [sha(b"\x00" + json.dumps(h, separators=(",", ":")).encode()) for h in heads]
    expected = sha(b"\x01" + sha(b"\x01" + leaves[0] + leaves[1]) + leaves[2]).hex()
    assert merkle_root(heads) == expected
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()
    assert merkle_root(heads[:1]) == leaves[0].hex()


def test_valid_database_verifies_against_the_pinned_key_after_more_work(db, plans, anchored,
                                                                         key, actors):
    fire(db, plans[0], "approve", actors["office"])
    start(db, "performance_plan", actors["office"], unit_code="201")

    report = verify_anchor(db, anchored, public_pem(key.public_key()))

    assert report.ok, report.problems
    assert report.key_source == "pinned" and not report.warnings
    units = json.loads(anchored)["body"]["units"]["count"]
    assert report.current == {"instances": 3, "entries": 7, "units": units, "cycles": 0}


def test_consistent_rewrite_with_recomputed_hashes_is_caught(db, plans, anchored, key):
    pid = plans[0]
    rewrite_chain(db, pid, 2, data_patch={"goals": "forged", "measures": "m"})
    assert verify_history(db).ok  # the chain verifies on its own: only the anchor knows

    report = verify_anchor(db, anchored, key.public_key())

    assert not report.ok and located(report) == [(pid, 4)]
    assert "rewritten after the anchor" in report.problems[0].reason


def test_truncated_tail_with_the_row_rolled_back_is_caught(db, plans, anchored, key):
    pid = plans[0]
    truncate_chain(db, pid, keep=2)
    assert verify_history(db).ok

    report = verify_anchor(db, anchored, key.public_key())

    problems = {(p.instance_id, p.seq): p.reason for p in report.problems}
    assert "history truncated after the anchor" in problems[(pid, 4)]
    assert "entries count went down from 5 to 3" in problems[(None, 0)]


def test_deleted_instance_is_caught(db, plans, anchored, key):
    other = plans[1]
    delete_instance(db, other)
    assert verify_history(db).ok

    report = verify_anchor(db, anchored, key.public_key())

    assert (other, 0) in located(report)
    reasons = " ".join(p.reason for p in report.problems)
    assert "instance deleted after the anchor" in reasons
    assert "instances count went down from 2 to 1" in reasons


def test_instance_data_edited_after_the_anchor_is_caught(db, plans, anchored, key):
    pid = plans[0]
    tamper(db, f"UPDATE instances SET data = '{{\"goals\": \"g\", \"measures\": \"x\"}}' "
               f"WHERE id = {pid}")

    report = verify_anchor(db, anchored, key.public_key())

    assert located(report) == [(pid, 2)]
    assert "instance data differs" in report.problems[0].reason


def test_forged_anchor_is_refused(db, plans, anchored, key):
    doc = json.loads(anchored)
    doc["body"]["heads"][0][2] = "0" * 64  # the attacker's new head, not re-signed
    doc["body"]["merkle_root"] = merkle_root(doc["body"]["heads"])
    report = verify_anchor(db, doc, key.public_key())
    assert not report.ok and not report.signature_ok
    assert "signature does not verify" in report.problems[0].reason

    forger = Ed25519PrivateKey.generate()  # re-signed with the attacker's own key
    body = doc["body"]
    doc["signature"]["value"] = base64.b64encode(forger.sign(canonical(body))).decode()
    doc["signature"]["public_key"] = base64.b64encode(forger.public_key().public_bytes_raw()
                                                      ).decode()
    report = verify_anchor(db, doc, key.public_key())
    assert not report.signature_ok and "another key" in report.problems[0].reason

    embedded = verify_anchor(db, doc)  # no pinned key: only self-consistency, and it says so
    assert embedded.key_source == "embedded" and embedded.warnings
    assert embedded.signature_ok and not embedded.ok  # the forged head is still not in the chain


def test_the_configured_key_is_used_when_none_is_pinned(db, plans, tmp_path, monkeypatch):
    path, public, _key_id = keygen(tmp_path / "anchor.pem")
    assert path.stat().st_mode & 0o777 == 0o600 and public.read_text().startswith("-----BEGIN")
    monkeypatch.setenv(KEY_ENV, str(path))
    doc = anchor(db, signing_key())

    report = verify_anchor(db, doc)

    assert report.ok and report.key_source == "configured"


def test_no_key_configured_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(AnchorKeyMissing) as refused:
        signing_key()
    assert refused.value.exit_code == 8 and "PERFEVAL_ANCHOR_KEY" in refused.value.message


def test_a_broken_database_is_not_anchored(db, plans, key):
    tamper(db, f"UPDATE history SET comment = 'x' WHERE instance_id = {plans[0]} AND seq = 2")
    with pytest.raises(ChainsBroken):
        anchor(db, key)
    assert list_anchors(db) == []


@pytest.mark.parametrize("text", ["not json", "[]", '{"body": {}, "signature": {}}'])
def test_malformed_anchor_files_are_invalid_input(db, text):
    with pytest.raises(InvalidAnchor) as refused:
        verify_anchor(db, text)
    assert refused.value.http_status == 422
