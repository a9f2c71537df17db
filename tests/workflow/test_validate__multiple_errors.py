"""One load reports every problem in a file, in file order, not just the first."""

from __future__ import annotations

import pytest

from workflow import DefinitionInvalid, load_definition_text

MANY = """\
schema_version: 1
key: many
title: {zh: 多处错误}
subject: organization
roles: [unit_staff, office, auditor]
initial: draft
states:
  draft: {label: {zh: 草拟, en: Draft}, editable_by: [unit_staf]}
  done: {label: {zh: 完成, en: Done}, final: true}
transitions:
  - {trigger: finish, from: draft, to: dnoe, roles: [auditor]}
deadlines:
  draft: {due: {date: "02-30"}}
"""


def test_all_problems_are_reported_in_file_order() -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition_text(MANY, "many.yaml")

    found = [(d.line, d.col, d.message) for d in caught.value.diagnostics]
    assert found == [
        (3, 8, "title: missing required key 'en'"),
        (4, 10, "subject: unknown subject 'organization'"),
        (8, 53, "states.draft.editable_by[0]: unknown role 'unit_staf'"),
        (11, 40, "transitions[0].to: unknown state 'dnoe'"),
        (11, 54, "transitions[0].roles[0]: role 'auditor' is read-only and cannot fire transitions"),
        (13, 23, "deadlines.draft.due.date: invalid date '02-30': February has no day 30"),
    ]
    assert str(caught.value).count("\n") == 5
    assert all(d.file == "many.yaml" for d in caught.value.diagnostics)


def test_duplicate_keys_and_rule_errors_are_reported_together() -> None:
    text = MANY.replace("key: many\n", "key: many\nkey: again\n")

    with pytest.raises(DefinitionInvalid) as caught:
        load_definition_text(text)

    messages = [d.message for d in caught.value.diagnostics]
    assert messages[0].startswith("duplicate key 'key'")
    assert len(messages) == 7


def test_broken_sections_do_not_cascade() -> None:
    """A states section of the wrong type is one error, not one per reference to a state."""
    text = MANY.replace("states:\n", "states: oops\nunused:\n")

    with pytest.raises(DefinitionInvalid) as caught:
        load_definition_text(text)

    messages = [d.message for d in caught.value.diagnostics]
    assert "states: wrong type: expected a mapping of state names to states, got a string" in messages
    assert not any("unknown state" in m for m in messages)
