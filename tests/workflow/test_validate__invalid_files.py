"""Each file in data/invalid/ breaks one rule; its diagnostic names the rule, file and line."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from workflow import DefinitionInvalid, load_definition, validate_paths

DATA = Path(__file__).parent / "data"
INVALID = DATA / "invalid"


class Case(NamedTuple):
    file: str
    message: str
    line: int
    col: int
    count: int = 1  # diagnostics the file produces in total
    across: bool = False  # a rule resolved across the set validated together


CASES = [
    # reading the file
    Case("syntax_error.yaml", "invalid YAML: expected ',' or '}'", 10, 3),
    Case("duplicate_key.yaml", "duplicate key 'title' (first defined on line 4)", 6, 1),
    Case("empty.yaml", "empty file", 1, 1),
    Case("comments_only.yaml", "empty file", 1, 1),
    Case("binary.yaml", "file is not UTF-8 text (byte 0x89 cannot be decoded)", 1, 1),
    Case("control_characters.yaml", "file contains control character #x0000", 2, 8),
    Case("plain_sentence.yaml", "top level must be a mapping, got a string", 1, 1),
    Case("top_level_list.yaml", "top level must be a mapping, got a list", 2, 1),
    Case("merge_key.yaml", "merge keys ('<<') are not supported", 9, 11, count=2),
    # top level
    Case("unknown_top_level_key.yaml", "unknown key 'transitons'", 11, 1, count=2),
    Case("unknown_optional_top_level_key.yaml",
         "unknown key 'deadline' — expected one of: schema_version", 13, 1),
    Case("unsupported_schema_version.yaml", "unsupported schema_version 2 — expected 1", 2, 17),
    Case("invalid_key_name.yaml", "key: invalid definition name 'Mini-Plan'", 3, 6),
    Case("missing_title_zh.yaml", "title: missing required key 'zh'", 4, 8),
    Case("empty_title_en.yaml", "title.en: must not be empty", 4, 22),
    Case("bad_subject.yaml", "unknown subject 'organization'", 5, 10),
    Case("missing_initial.yaml", "missing required key 'initial'", 2, 1),
    Case("unknown_initial.yaml", "initial: unknown state 'drafts'", 7, 10),
    Case("initial_is_final.yaml", "initial state 'done' is final", 7, 10),
    # roles
    Case("wrong_type_roles.yaml", "roles: wrong type: expected a list of role names, got a string", 6, 8),
    Case("empty_roles.yaml", "roles: must not be empty", 6, 8),
    Case("duplicate_role.yaml", "roles[2]: duplicate role 'unit_staff'", 6, 29),
    Case("unknown_catalogue_role.yaml", "roles[2]: unknown role 'ledaer'", 6, 29),
    Case("undeclared_role_in_transition.yaml", "role 'leader' is not declared in roles:", 12, 54),
    Case("read_only_role_in_transition.yaml",
         "role 'auditor' is read-only and cannot fire transitions", 12, 54),
    Case("read_only_role_editable_by.yaml", "role 'auditor' is read-only and cannot edit data", 9, 53),
    # fields
    Case("bad_field_type.yaml", "fields.goals.type: unknown field type 'txt'", 8, 17),
    Case("choice_without_choices.yaml", "fields.level: a choice field needs 'choices'", 8, 10),
    Case("choices_on_text_field.yaml", "'choices' is only allowed for choice fields, not text", 8, 51),
    Case("table_without_columns.yaml", "fields.indicators: a table field needs 'columns'", 8, 15),
    Case("negative_max_length.yaml",
         "fields.goals.max_length: must be a whole number of at least 0, got -1", 8, 63),
    # field rights: set_by on a field, editable: {role: [fields]} on a state
    Case("set_by_unknown_role.yaml", "fields.goals.set_by[0]: unknown role 'ofice'", 8, 60),
    Case("set_by_undeclared_role.yaml",
         "fields.goals.set_by[0]: role 'system' is not declared in roles:", 8, 59),
    Case("set_by_read_only_role.yaml",
         "fields.goals.set_by[0]: role 'auditor' is read-only and cannot edit data", 8, 59),
    Case("set_by_on_table_column.yaml",
         "fields.indicators.columns.weight: 'set_by' belongs to the table field, not to a "
         "column", 13, 59),
    Case("editable_unknown_field.yaml",
         "states.draft.editable.unit_staff[0]: unknown field 'goal'", 11, 63),
    Case("editable_unknown_role.yaml",
         "states.draft.editable.unit_stuff: unknown role 'unit_stuff'", 11, 62),
    Case("editable_read_only_role.yaml",
         "states.draft.editable.auditor: role 'auditor' is read-only and cannot edit data",
         11, 59),
    Case("editable_field_set_by_other.yaml",
         "states.draft.editable.unit_staff[0]: field 'late' is set_by system only; "
         "'unit_staff' can never set it", 11, 63),
    # states
    Case("wrong_type_states.yaml",
         "states: wrong type: expected a mapping of state names to states, got a list", 8, 9),
    Case("wrong_type_label.yaml", "states.draft.label: wrong type: expected a label", 9, 18),
    Case("invalid_state_name.yaml", "states: invalid state name 'Done'", 10, 3),
    Case("unknown_key_in_state.yaml", "states.draft: unknown key 'editabel_by'", 9, 39),
    # transitions
    Case("unknown_key_in_transition.yaml", "transitions[0]: unknown key 'comments'", 12, 63),
    Case("unknown_state_in_to.yaml", "transitions[0].to: unknown state 'dnoe'", 12, 40),
    Case("unknown_state_in_from.yaml", "transitions[0].from[0]: unknown state 'draf'", 12, 30),
    Case("unknown_guard.yaml", "transitions[0].guards[0]: unknown guard 'weights_total_10'", 12, 72),
    Case("unknown_field_in_requires.yaml", "transitions[0].requires[0]: unknown field 'goal'", 14, 74),
    Case("reserved_trigger_prefix.yaml", "trigger 'to_done' starts with the reserved prefix 'to_'", 12, 15),
    Case("reserved_trigger_name.yaml", "trigger name 'start' is reserved", 12, 15),
    Case("from_and_source.yaml", "use either 'from' or 'source', not both", 12, 36),
    Case("bad_comment_setting.yaml", "invalid comment setting 'requried'", 12, 72),
    # the graph
    Case("unreachable_state.yaml", "state 'limbo' is unreachable from initial state 'draft'", 10, 3),
    Case("dead_end_state.yaml", "state 'stuck' is not final but has no way out", 10, 3),
    Case("unused_state.yaml", "state 'spare' is not used by any transition", 10, 3),
    Case("final_with_way_out.yaml", "final state 'done' has a way out (trigger 'reopen')", 13, 29),
    Case("no_final_state.yaml", "no state is final", 9, 3),
    Case("cannot_reach_final.yaml", "state 'spin' cannot reach a final state", 10, 3),
    Case("ambiguous_trigger.yaml",
         "ambiguous trigger 'finish' from state 'draft': it leads to 'done'", 14, 15),
    # deadlines
    Case("date_02_30.yaml", "invalid date '02-30': February has no day 30", 14, 23),
    Case("date_13_01.yaml", "invalid date '13-01': there is no month 13", 14, 23),
    Case("date_02_29.yaml", "date '02-29' does not exist in every year", 14, 23),
    Case("date_format.yaml", "invalid date '2025-03-31'", 14, 23),
    Case("negative_working_days.yaml",
         "due.working_days: must be a positive whole number, got -3", 14, 31),
    Case("zero_days.yaml", "remind[0].before.days: must be a positive whole number, got 0", 16, 30),
    Case("boolean_days.yaml", "due.days: wrong type: expected a whole number, got a boolean", 14, 23),
    Case("two_due_kinds.yaml", "due takes only one of date, days, working_days, got date and days", 14, 32),
    Case("missing_due.yaml", "deadlines.draft: missing required key 'due'", 14, 10),
    Case("unknown_due_unit.yaml", "deadlines.draft.due: unknown key 'weeks'", 14, 17),
    Case("bad_reminder_on.yaml", "invalid reminder day 'tomorrow'", 14, 41),
    Case("unknown_deadline_state.yaml", "deadlines: unknown state 'drat'", 14, 3),
    Case("deadline_on_final_state.yaml", "deadline on final state 'done'", 14, 3),
    Case("bad_notify_role.yaml", "escalate[0].notify[0]: unknown role 'ofice'", 16, 44),
    Case("deadline_fire_without_system.yaml",
         "deadlines.draft.fire: the deadline fires 'finish' but its transition does not allow "
         "the system role", 16, 11),
    Case("due_field_unknown.yaml", "deadlines.draft.due.field: unknown field 'opens'", 15, 33),
    # several when_children conditions / then_children, resolved across the loaded set
    Case("when_children_unknown_definition.yaml",
         "transitions[0].when_children[1].definition: unknown definition 'mni'", 12, 128,
         across=True),
    Case("then_children_unknown_trigger.yaml",
         "transitions[0].then_children[0].fire: 'mini' has no trigger 'finsh'", 12, 112,
         across=True),
]

HINTS = {
    "unknown_top_level_key.yaml": "transitions",
    "unknown_optional_top_level_key.yaml": "deadlines",
    "unknown_key_in_transition.yaml": "comment",
    "unknown_key_in_state.yaml": "editable_by",
    "unknown_state_in_to.yaml": "done",
    "unknown_state_in_from.yaml": "draft",
    "unknown_initial.yaml": "draft",
    "unknown_catalogue_role.yaml": "leader",
    "unknown_guard.yaml": "weights_total_100",
    "unknown_field_in_requires.yaml": "goals",
    "set_by_unknown_role.yaml": "office",
    "editable_unknown_field.yaml": "goals",
    "editable_unknown_role.yaml": "unit_staff",
    "bad_field_type.yaml": "text",
    "bad_subject.yaml": "organisation",
    "bad_comment_setting.yaml": "required",
    "unknown_deadline_state.yaml": "draft",
    "bad_notify_role.yaml": "office",
    "when_children_unknown_definition.yaml": "mini",
    "then_children_unknown_trigger.yaml": "finish",
}


def _diagnostics(name: str):
    return validate_paths([INVALID / name])


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_invalid_file_reports_its_rule_at_the_offending_line(case: Case) -> None:
    diagnostics = _diagnostics(case.file)
    matching = [d for d in diagnostics if case.message in str(d)]

    assert len(matching) == 1, [str(d) for d in diagnostics]
    found = matching[0]
    assert found.file == str(INVALID / case.file)
    assert (found.line, found.col) == (case.line, case.col)
    assert len(diagnostics) == case.count, [str(d) for d in diagnostics]


@pytest.mark.parametrize("name,hint", sorted(HINTS.items()))
def test_unknown_names_come_with_did_you_mean(name: str, hint: str) -> None:
    hints = {d.hint for d in _diagnostics(name)}

    assert hint in hints
    assert any(f"(did you mean '{hint}'?)" in str(d) for d in _diagnostics(name))


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_load_definition_raises_with_the_same_diagnostics(case: Case) -> None:
    if case.across:  # one file alone cannot know the other definitions: checked by sets
        assert load_definition(INVALID / case.file).key == "mini"
        return
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(INVALID / case.file)

    assert caught.value.diagnostics == _diagnostics(case.file)


def test_every_invalid_file_is_in_the_table() -> None:
    on_disk = {p.name for p in INVALID.iterdir()}

    assert on_disk == {c.file for c in CASES}


def test_the_base_the_invalid_files_start_from_is_valid() -> None:
    assert validate_paths([DATA / "valid" / "mini.yaml"]) == []
