"""The deadline keys that the time issue gives effect: ``on_holiday`` and an
escalation's ``fire`` (a trigger leaving the state that the system role may fire)."""

from __future__ import annotations

import pytest

from workflow import load_definition_text
from workflow.errors import DefinitionInvalid

BASE = """\
schema_version: 1
key: t
title: {zh: 测试, en: Test}
subject: unit
roles: [unit_head, office, system]
initial: open
states:
  open: {label: {zh: 办理中, en: Open}}
  late: {label: {zh: 逾期, en: Late}}
  done: {label: {zh: 完成, en: Done}, final: true}
transitions:
  - {trigger: finish, from: [open, late], to: done, roles: [unit_head]}
  - {trigger: mark_late, from: open, to: late, roles: [system]}
  - {trigger: office_late, from: open, to: late, roles: [office]}
deadlines:
  open:
"""


def _load(deadline: str):
    return load_definition_text(BASE + deadline, "t.yaml")


def test_on_holiday_and_fire_are_parsed():
    d = _load('    due: {date: "10-03", on_holiday: previous_working_day}\n'
              '    escalate: [{after: {days: 1}, notify: [office], fire: mark_late}]\n')
    spec = d.deadlines["open"]
    assert spec.due.on_holiday == "previous_working_day"
    assert spec.escalate[0].fire == "mark_late"


def test_the_default_holiday_policy_rolls_to_the_next_working_day():
    assert _load("    due: {working_days: 3}\n").deadlines["open"].due.on_holiday == (
        "next_working_day")


@pytest.mark.parametrize("deadline, message", [
    ('    due: {date: "10-03", on_holiday: sometimes}\n', "invalid holiday policy 'sometimes'"),
    ("    due: {days: 3}\n    escalate: [{after: {days: 1}, fire: mark_lat}]\n",
     "no transition 'mark_lat' leaves state 'open'"),
    ("    due: {days: 3}\n    escalate: [{after: {days: 1}, fire: office_late}]\n",
     "does not allow the system role"),
    ("    due: {days: 3}\n    escalate: [{after: {days: 1}, fire: 3}]\n", "fire"),
])
def test_bad_values_are_located_errors(deadline, message):
    with pytest.raises(DefinitionInvalid) as caught:
        _load(deadline)
    text = str(caught.value)
    assert message in text and "t.yaml:" in text
