"""``audit verify`` checks data, not only hashes: each entry's data hash recomputes from
its stored patch, each instance's data equals the replay of its non-fact patches, and an
instance that other tables still name but that is gone is reported."""

from __future__ import annotations

import pytest

from engine import fire, start, update_data, verify_history
from engine.instances import record_fact
from tamper_support import tamper


@pytest.fixture
def plans(db, actors):
    """Plan of unit 101 at 'submitted' (seq 2 sets goals and measures, seq 3 changes
    goals), plan of unit 102 just started."""
    pid = start(db, "performance_plan", actors["office"], unit_code="101").instance_id
    other = start(db, "performance_plan", actors["office"], unit_code="102").instance_id
    update_data(db, pid, actors["staff101"], {"goals": "g", "measures": "m"})
    update_data(db, pid, actors["staff101"], {"goals": "g2"})
    fire(db, pid, "submit", actors["head101"])
    return [pid, other]


def located(report) -> list[tuple[int, int]]:
    return [(p.instance_id, p.seq) for p in report.problems]


def test_edited_data_patch_is_reported_at_its_entry(db, plans):
    pid = plans[0]
    tamper(db, "UPDATE history SET data_patch = '{\"goals\": \"forged\", \"measures\": \"m\"}' "
               f"WHERE instance_id = {pid} AND seq = 2")

    report = verify_history(db)

    assert located(report) == [(pid, 2)]
    assert "data_patch altered" in report.problems[0].reason


def test_instance_data_edited_directly_is_reported(db, plans):
    pid = plans[0]
    tamper(db, "UPDATE instances SET data = '{\"goals\": \"g2\", \"measures\": \"rewritten\", "
               f"\"year\": 2026}}' WHERE id = {pid}")

    report = verify_history(db)

    assert located(report) == [(pid, 2)]  # seq 2 last wrote "measures"
    reason = report.problems[0].reason
    assert "instance data differs from its history" in reason
    assert "measures" in reason and "year" in reason


def test_a_field_removed_from_instance_data_is_reported(db, plans):
    pid = plans[0]
    tamper(db, f"UPDATE instances SET data = '{{\"goals\": \"g2\"}}' WHERE id = {pid}")

    report = verify_history(db)

    assert located(report) == [(pid, 2)]
    assert "measures" in report.problems[0].reason


def test_fact_patches_are_not_replayed_into_data_but_are_hashed(db, plans, actors):
    pid = plans[0]
    with db.write() as conn:
        record_fact(conn, db, pid, "test.note", actors["office"], "office",
                    {"goals": "a fact, not the plan's goals"})
    assert verify_history(db).ok  # the fact's patch is not part of the instance's data

    tamper(db, "UPDATE history SET data_patch = '{\"goals\": \"another fact\"}' "
               f"WHERE instance_id = {pid} AND seq = 5")
    report = verify_history(db)
    assert located(report) == [(pid, 5)]
    assert "data_patch altered" in report.problems[0].reason


def test_deleted_instance_still_referenced_elsewhere_is_reported(db, plans):
    other = plans[1]
    tamper(db, f"DELETE FROM history WHERE instance_id = {other}",
           f"DELETE FROM instances WHERE id = {other}")

    report = verify_history(db)

    assert not report.ok and report.instances == 1
    assert located(report) == [(other, 0)]
    assert "outbox.instance_id" in report.problems[0].reason
    assert "missing" in str(report.problems[0])


def test_deleted_parent_of_a_child_is_reported(db, plans):
    pid, child = plans
    tamper(db, f"UPDATE instances SET parent_id = {pid + 1000} WHERE id = {child}")

    report = verify_history(db)

    assert (pid + 1000, 0) in located(report)
    assert any("instances.parent_id" in p.reason for p in report.problems)


def test_unchanged_database_with_nulls_and_removals_verifies(db, plans, actors):
    pid = plans[0]
    fire(db, pid, "start_review", actors["office"])
    fire(db, pid, "request_revision", actors["office"], comment="补充")
    update_data(db, pid, actors["staff101"], {"measures": None})
    report = verify_history(db)
    assert report.ok, report.problems
    assert report.entries == 8


def test_edited_definition_source_is_reported(db, plans):
    tamper(db, "UPDATE definition_versions SET source = replace(source, '草拟', '已批准') "
               "WHERE key = 'performance_plan'")

    report = verify_history(db)

    assert [p.instance_id for p in report.problems] == [None]
    assert "definition performance_plan v1" in report.problems[0].reason


def test_entry_pointed_at_another_definition_version_is_reported(db, plans):
    pid = plans[0]
    tamper(db, "UPDATE history SET definition_version_id = (SELECT min(id) FROM "
               "definition_versions WHERE key <> 'performance_plan') "
               f"WHERE instance_id = {pid} AND seq = 3")

    report = verify_history(db)

    assert located(report) == [(pid, 3)]
    assert "definition_version_id altered" in report.problems[0].reason


def test_instance_moved_to_another_definition_version_is_reported(db, plans):
    other = plans[1]
    tamper(db, "UPDATE instances SET definition_version_id = (SELECT min(id) FROM "
               f"definition_versions WHERE key <> 'performance_plan') WHERE id = {other}")

    report = verify_history(db)

    assert located(report) == [(other, 2)]
    assert "definition version differs" in report.problems[0].reason
