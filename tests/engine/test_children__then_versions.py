"""``then_children`` reads each child's own definition version: children started
before a new version of their definition was loaded still move when their version
lets the trigger leave their state (the states of the newest version do not decide)."""

from __future__ import annotations

from engine import fire, get_instance, load_definitions, start

from test_cycles__several_conditions import (CLAIM, OFFICE, PARENT,  # noqa: F401
                                             REPORT, family)

#: report v2: a new first state; ``lock`` now leaves ``queued`` only
REPORT_V2 = REPORT.replace(
    "  draft:    {label: {zh: 草拟, en: Draft}}\n",
    "  queued:   {label: {zh: 排队, en: Queued}}\n  draft:    {label: {zh: 草拟, en: Draft}}\n"
).replace("initial: draft", "initial: queued").replace(
    "  - {trigger: lock, from: draft,", "  - {trigger: requeue, from: draft, to: queued, "
    "roles: [office]}\n  - {trigger: prepare, from: queued, to: draft, roles: [office]}\n"
    "  - {trigger: lock, from: queued,")


def test_children_of_an_older_version_move_by_their_own_version(db, family, tmp_path):  # noqa: F811
    parent, reports, _ = family
    folder = tmp_path / "v2"
    folder.mkdir()
    (folder / "report.yaml").write_text(REPORT_V2, encoding="utf-8")
    load_definitions(db, folder)
    newer = start(db, "report", OFFICE, unit_code="201", parent_id=parent,
                  data={"text": "报告"}).instance_id
    assert get_instance(db, newer).definition_version == 2
    fire(db, parent, "start_review", OFFICE)
    assert [get_instance(db, r).state for r in (*reports, newer)] == [
        "locked", "locked", "locked"]
