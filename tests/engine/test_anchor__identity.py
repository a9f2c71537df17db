"""What an instance is about, the organisation and the cycles are anchored too: an
instance moved to another unit, parent or definition, an edited unit or cycle and an
entry appended with a date before the anchor are found after it; plain ``audit
verify`` finds a changed definition key, an edited attachment row and an edited result
change reason; a format 1 anchor still verifies as before."""

from __future__ import annotations

import base64
import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from freezegun import freeze_time
from sqlalchemy import select, text, update

from engine import start, update_data, verify_history
from engine.anchor import anchor, document_text, merkle_root, verify_anchor
from engine.anchor_keys import key_id
from engine.attachments import AttachmentSettings, attach
from engine.hashing import canonical
from engine.results import correct_result
from engine.scoring_models import ResultChange
from evaluation_support import OFFICE, published_year
from tamper_support import append_entry, rewrite_chain, tamper

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"


@pytest.fixture
def plans(db, actors):
    """Plan of unit 101 with data (2 entries), plan of unit 102 just started."""
    pid = start(db, "performance_plan", actors["office"], unit_code="101").instance_id
    other = start(db, "performance_plan", actors["office"], unit_code="102").instance_id
    update_data(db, pid, actors["staff101"], {"goals": "g", "measures": "m"})
    return [pid, other]


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def reasons(report) -> list[str]:
    return [p.reason for p in report.problems]


def scalar(db, sql: str):
    with db.read() as conn:
        return conn.execute(text(sql)).scalar()


@pytest.mark.parametrize("column", ["subject_unit_id", "parent_id"])
def test_an_instance_moved_after_the_anchor_is_caught(db, plans, key, column):
    pid, other = plans
    doc = anchor(db, key)
    value = scalar(db, "SELECT id FROM units WHERE code = '201'") if column == "subject_unit_id" \
        else other
    tamper(db, f"UPDATE instances SET {column} = {value} WHERE id = {pid}")
    assert verify_history(db).ok  # the row alone says nothing: only the anchor knows

    report = verify_anchor(db, doc, key.public_key())

    assert [(p.instance_id, p.seq) for p in report.problems] == [(pid, 0)]
    assert "identity changed since the anchor" in report.problems[0].reason


def test_a_changed_definition_key_is_caught_with_and_without_an_anchor(db, plans, key):
    pid = plans[0]
    doc = anchor(db, key)
    tamper(db, f"UPDATE instances SET definition_key = 'appeal' WHERE id = {pid}")

    plain = verify_history(db)
    assert [(p.instance_id, p.seq) for p in plain.problems] == [(pid, 1)]
    assert "definition_key altered" in plain.problems[0].reason
    anchored = reasons(verify_anchor(db, doc, key.public_key()))
    assert any("identity changed since the anchor" in r for r in anchored)


@pytest.mark.parametrize("change", ["category = 'forged'", "code = '999'",
                                    "parent_id = {other}"])
def test_a_unit_edited_after_the_anchor_is_caught_and_named(db, plans, key, change):
    unit = scalar(db, "SELECT id FROM units WHERE code = '101'")
    other = scalar(db, "SELECT id FROM units WHERE code = '102'")
    doc = anchor(db, key)
    tamper(db, f"UPDATE units SET {change.format(other=other)} WHERE id = {unit}")

    report = verify_anchor(db, doc, key.public_key())

    [reason] = reasons(report)
    assert "units changed since the anchor" in reason and f"unit #{unit} (code " in reason


def test_a_unit_added_after_the_anchor_is_not_a_change(db, plans, key):
    doc = anchor(db, key)
    tamper(db, "INSERT INTO units (code, name, category, created_at) "
               "VALUES ('777', '新单位', '县直单位', '2026-12-01 00:00:00')")
    report = verify_anchor(db, doc, key.public_key())
    assert report.ok, report.problems
    assert report.current["units"] == report.anchored["units"] + 1


@pytest.fixture
def year(db):
    with freeze_time("2027-01-10T02:00:00"):
        yield published_year(db)


@pytest.mark.parametrize("change", ["year = 2025", "config = '{{}}'", "instance_id = {other}"])
def test_a_cycle_edited_after_the_anchor_is_caught_and_named(db, year, key, change):
    cycle = scalar(db, "SELECT id FROM cycles WHERE year = 2026")
    other = scalar(db, f"SELECT MIN(id) FROM instances WHERE id <> {year}")
    with freeze_time("2027-01-10T03:00:00"):
        doc = anchor(db, key)
    tamper(db, f"UPDATE cycles SET {change.format(other=other)} WHERE id = {cycle}")

    with freeze_time("2027-01-10T04:00:00"):
        report = verify_anchor(db, doc, key.public_key())

    changed = [r for r in reasons(report) if "cycles changed since the anchor" in r]
    assert changed and f"cycle #{cycle} (year " in changed[0]


def test_an_entry_appended_after_the_anchor_but_dated_before_it_is_caught(db, plans, key):
    pid = plans[0]
    with freeze_time("2027-01-10T03:00:00"):
        doc = anchor(db, key)
        seq = append_entry(db, pid, "2027-01-09 12:00:00")
        assert verify_history(db).ok
        report = verify_anchor(db, doc, key.public_key())

    assert [(p.instance_id, p.seq) for p in report.problems] == [(pid, seq)]
    assert "entry appended after the anchor is dated before it" in report.problems[0].reason


def test_an_entry_appended_after_the_anchor_and_dated_after_it_verifies(db, plans, key):
    with freeze_time("2027-01-10T03:00:00"):
        doc = anchor(db, key)
        append_entry(db, plans[0], "2027-01-10 03:00:01")
        assert verify_anchor(db, doc, key.public_key()).ok


def format1(doc: dict, key: Ed25519PrivateKey) -> dict:
    """``doc`` as the first anchor format wrote it: heads without identity, no units or
    cycles, signed again."""
    body = {k: v for k, v in doc["body"].items() if k not in ("units", "cycles")}
    body["heads"] = [h[:3] for h in body["heads"]]
    body.update(format_version=1, merkle_root=merkle_root(body["heads"]))
    signature = {**doc["signature"], "key_id": key_id(key.public_key()),
                 "value": base64.b64encode(key.sign(canonical(body))).decode()}
    return {"body": body, "signature": signature}


def test_a_format_1_anchor_still_verifies_as_before(db, plans, key):
    pid = plans[0]
    with freeze_time("2027-01-10T03:00:00"):
        old = json.loads(document_text(format1(anchor(db, key), key)))
        append_entry(db, pid, "2027-01-09 12:00:00")  # format 1 does not check dates
    tamper(db, "UPDATE units SET category = 'forged'")  # nor units
    report = verify_anchor(db, old, key.public_key())
    assert report.ok, report.problems
    assert report.anchored["format_version"] == 1 and "units" not in report.current

    rewrite_chain(db, pid, 2, data_patch={"goals": "forged", "measures": "m"})
    assert any("rewritten after the anchor" in r
               for r in reasons(verify_anchor(db, old, key.public_key())))


@pytest.mark.parametrize("change", ["sha256 = '{zero}'", "size = 1", "filename = 'x.pdf'"])
def test_an_attachment_row_edited_is_caught(db, plans, tmp_path, actors, change):
    pid = plans[0]
    att = attach(db, pid, actors["staff101"], "自评报告.pdf", io.BytesIO(PDF),
                 settings=AttachmentSettings(tmp_path / "files", max_bytes=64 * 1024))
    assert verify_history(db).ok
    tamper(db, f"UPDATE attachments SET {change.format(zero='0' * 64)} WHERE id = {att.id}")

    report = verify_history(db)

    assert [(p.instance_id, p.seq) for p in report.problems] == [(pid, att.history_seq)]
    assert "differs from the attach entry that recorded it" in report.problems[0].reason
    assert change.split(" ")[0] in report.problems[0].reason


def test_a_result_change_reason_edited_is_caught(db):
    _rc = ResultChange.__table__
    with freeze_time("2027-01-10T02:00:00"):
        published_year(db)
        correct_result(db, 2026, OFFICE, "101", "K1", "95", "复核")
    assert verify_history(db).ok
    with db.read() as conn:
        first = conn.execute(select(_rc.c.id).order_by(_rc.c.id)).scalar()
    with db.write() as conn:
        conn.execute(update(_rc).where(_rc.c.id == first).values(reason="录入错误"))

    found = reasons(verify_history(db))

    assert any("result change" in r and "reason '录入错误' ≠ '复核'" in r for r in found)
