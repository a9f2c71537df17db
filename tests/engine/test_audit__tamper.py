"""History is append-only in the database, and tampering behind its back is found."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine import export_history, fire, start, update_data, verify_history


@pytest.fixture
def plans(db, actors):
    """Plan of unit 101 at 'approved' (5 entries), plan of unit 102 just started (1)."""
    pid = start(db, "performance_plan", actors["office"], unit_code="101").instance_id
    other = start(db, "performance_plan", actors["office"], unit_code="102").instance_id
    update_data(db, pid, actors["staff101"], {"goals": "g", "measures": "m"})
    fire(db, pid, "submit", actors["head101"])
    fire(db, pid, "start_review", actors["office"])
    fire(db, pid, "approve", actors["office"])
    return [pid, other]


def _drop_triggers(db):
    with db.write() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER history_no_update"))
            conn.execute(text("DROP TRIGGER history_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER history_no_update ON history"))


def _sql(db, statement):
    with db.write() as conn:
        conn.execute(text(statement))


@pytest.mark.parametrize("statement", [
    "UPDATE history SET comment = 'rewritten'",
    "UPDATE history SET to_state = 'published' WHERE seq = 2",
    "DELETE FROM history WHERE seq = 3",
])
def test_database_refuses_update_and_delete_on_history(db, plans, statement):
    with pytest.raises(DBAPIError) as refused:
        _sql(db, statement)
    assert "append-only" in str(refused.value)
    report = verify_history(db)
    assert report.ok and report.entries == 6


def test_postgres_refuses_truncate(db, plans):
    if db.dialect != "postgresql":
        pytest.skip("TRUNCATE does not exist on SQLite")
    with pytest.raises(DBAPIError):
        _sql(db, "TRUNCATE history CASCADE")
    assert verify_history(db).entries == 6


def test_unchanged_history_verifies(db, plans):
    report = verify_history(db)
    assert (report.ok, report.instances, report.entries) == (True, 2, 6)


def test_edited_entry_is_reported_with_instance_and_seq(db, plans):
    _drop_triggers(db)
    _sql(db, f"UPDATE history SET actor = 'someone_else' WHERE instance_id = {plans[0]} AND seq = 3")
    report = verify_history(db)
    assert not report.ok
    assert [(p.instance_id, p.seq) for p in report.problems] == [(plans[0], 3)]
    assert "altered" in report.problems[0].reason


def test_deleted_middle_entry_is_reported(db, plans):
    _drop_triggers(db)
    _sql(db, f"DELETE FROM history WHERE instance_id = {plans[0]} AND seq = 2")
    report = verify_history(db)
    assert [(p.instance_id, p.seq) for p in report.problems] == [(plans[0], 2)]


def test_deleted_last_entry_is_reported(db, plans):
    _drop_triggers(db)
    _sql(db, f"DELETE FROM history WHERE instance_id = {plans[0]} AND seq = 5")
    report = verify_history(db)
    assert [(p.instance_id, p.seq) for p in report.problems] == [(plans[0], 5)]
    assert "removed" in report.problems[0].reason


def test_swapped_entries_are_reported(db, plans):
    _drop_triggers(db)
    pid = plans[0]
    _sql(db, f"UPDATE history SET seq = 100 WHERE instance_id = {pid} AND seq = 3")
    _sql(db, f"UPDATE history SET seq = 3 WHERE instance_id = {pid} AND seq = 4")
    _sql(db, f"UPDATE history SET seq = 4 WHERE instance_id = {pid} AND seq = 100")
    report = verify_history(db)
    assert [(p.instance_id, p.seq) for p in report.problems] == [(pid, 3)]


def test_export_writes_every_entry_in_both_formats(db, plans):
    out = io.StringIO()
    assert export_history(db, out, "jsonl") == 6
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["instance_id"], e["seq"]) for e in lines][:2] == [(plans[0], 1), (plans[0], 2)]
    assert lines[1]["data_patch"] == {"goals": "g", "measures": "m"}
    out = io.StringIO()
    assert export_history(db, out, "csv") == 6
    rows = out.getvalue().splitlines()
    assert rows[0].startswith("instance_id,seq,at") and len(rows) == 7
