"""An upgrade moves running instances onto the new definition version, in the chain.

Instances started before an upgrade must be protected by the new version's field
rights: ``engine.upgrades.migrate_running`` moves them (when the new version still has
their state and fields) with a ``migration.definition`` entry that ``audit verify``
accepts, and the kernel then enforces the new rules on them.
"""

from __future__ import annotations

import pytest

from engine import fire, read_history, start, update_data, verify_history
from engine.exceptions import FieldNotEditable
from engine.queries import get_instance
from engine.registry import register
from engine.upgrades import migrate_running
from workflow import load_definition_text

OLD = """
schema_version: 1
key: upgrade_demo
title: {zh: 升级演示, en: Upgrade demo}
subject: unit
roles: [unit_staff, office, system]
fields:
  report: {type: text, label: {zh: 报告, en: Report}}
  late:   {type: choice, label: {zh: 逾期, en: Late}, choices: ["yes"]%s}
initial: draft
states:
  draft: {label: {zh: 起草, en: Draft}, editable_by: [unit_staff, system]}
  done:  {label: {zh: 完成, en: Done}, final: true}
transitions:
  - {trigger: finish, from: draft, to: done, roles: [office]}
"""


def _register(db, text):
    with db.write() as conn:
        return register(conn, load_definition_text(text, "upgrade_demo.yaml"))


def test_running_instance_moves_to_the_new_version_and_its_rights(db, actors):
    staff = actors["staff101"]
    _register(db, OLD % "")
    running = start(db, "upgrade_demo", staff, unit_code="101",
                    data={"report": "初稿"}).instance_id
    finished = start(db, "upgrade_demo", staff, unit_code="101").instance_id
    fire(db, finished, "finish", actors["office"])
    update_data(db, running, staff, {"late": "yes"})  # the old version let a unit do this
    new_id, new_version, created = _register(db, OLD % ", set_by: system")
    assert created

    assert migrate_running(db, {"upgrade_demo"}) == 1
    assert migrate_running(db, {"upgrade_demo"}) == 0  # idempotent

    entry = read_history(db, running)[-1]
    assert entry["trigger"] == "migration.definition"
    assert entry["data_patch"]["to_version"] == new_version
    assert get_instance(db, running).data == {"report": "初稿", "late": "yes"}
    assert get_instance(db, finished).version == 2  # a finished instance stays as it was
    assert verify_history(db).ok
    with pytest.raises(FieldNotEditable) as refused:
        update_data(db, running, staff, {"late": None})
    assert refused.value.context["field"] == "late"
    update_data(db, running, staff, {"report": "二稿"})
    assert get_instance(db, running).data["report"] == "二稿"
    assert verify_history(db).ok


def test_incompatible_new_version_leaves_the_instance_where_it_was(db, actors):
    staff = actors["staff101"]
    _register(db, OLD % "")
    iid = start(db, "upgrade_demo", staff, unit_code="101", data={"late": "yes"}).instance_id
    # the new version drops the field the instance holds: not migrated
    _register(db, OLD.replace('  late:   {type: choice, label: {zh: 逾期, en: Late}, '
                              'choices: ["yes"]%s}\n', ""))
    assert migrate_running(db, {"upgrade_demo"}) == 0
    assert get_instance(db, iid).version == 1
