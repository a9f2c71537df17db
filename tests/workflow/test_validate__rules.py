"""What the language accepts, and how it fills the spec objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from workflow import DefinitionInvalid, FieldSpec, Label, guards, load_definition_text

BASE: dict[str, Any] = {
    "schema_version": 1,
    "key": "mini",
    "title": {"zh": "小流程", "en": "Mini"},
    "subject": "organisation",
    "roles": ["unit_staff", "office", "committee"],
    "initial": "draft",
    "states": {
        "draft": {"label": {"zh": "草拟", "en": "Draft"}},
        "done": {"label": {"zh": "完成", "en": "Done"}, "final": True},
        "other": {"label": {"zh": "其他", "en": "Other"}, "final": True},
    },
    "transitions": [
        {"trigger": "finish", "from": "draft", "to": "done", "roles": ["office"]},
        {"trigger": "divert", "from": "draft", "to": "other", "roles": ["office"]},
    ],
}


def load(**changes: Any):
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return load_definition_text(yaml.safe_dump(doc, allow_unicode=True))


def messages(**changes: Any) -> list[str]:
    with pytest.raises(DefinitionInvalid) as caught:
        load(**changes)
    return [d.message for d in caught.value.diagnostics]


def transitions(*extra: dict) -> list[dict]:
    return copy.deepcopy(BASE["transitions"]) + list(extra)


def test_source_is_accepted_instead_of_from() -> None:
    t = {"trigger": "finish", "source": ["draft"], "to": "done", "roles": ["office"]}

    definition = load(transitions=[t, BASE["transitions"][1]])

    assert definition.transitions[0].sources == ("draft",)


def test_same_trigger_to_two_targets_is_fine_when_both_have_different_guards(monkeypatch) -> None:
    monkeypatch.setitem(guards._REGISTRY, "always_ok", lambda ctx: None)
    first = {"trigger": "finish", "from": "draft", "to": "done", "roles": ["office"],
             "guards": ["weights_total_100"]}
    second = {"trigger": "finish", "from": "draft", "to": "other", "roles": ["office"],
              "guards": ["always_ok"]}

    definition = load(transitions=[first, second])

    assert [t.guards for t in definition.transitions] == [("weights_total_100",), ("always_ok",)]


def test_a_guard_on_only_one_of_them_does_not_tell_them_apart() -> None:
    first = {"trigger": "finish", "from": "draft", "to": "done", "roles": ["office"],
             "guards": ["weights_total_100"]}
    second = {"trigger": "finish", "from": "draft", "to": "other", "roles": ["office"]}

    assert messages(transitions=[first, second]) == [
        "transitions[1].trigger: ambiguous trigger 'finish' from state 'draft': it leads to "
        "'done' (transitions[0]) and to 'other'"]


def test_same_trigger_to_two_targets_is_fine_when_requires_differ() -> None:
    fields = {"goals": {"type": "text", "label": {"zh": "目标", "en": "Goals"}}}
    first = {"trigger": "finish", "from": "draft", "to": "done", "roles": ["office"],
             "requires": ["goals"]}
    second = {"trigger": "finish", "from": "draft", "to": "other", "roles": ["office"]}

    definition = load(fields=fields, transitions=[first, second])

    assert [t.dest for t in definition.transitions] == ["done", "other"]


def test_same_trigger_to_the_same_target_for_different_roles_is_fine() -> None:
    extra = {"trigger": "finish", "from": "draft", "to": "done", "roles": ["committee"]}

    definition = load(transitions=transitions(extra))

    assert [t.roles for t in definition.transitions_from("draft")] == [
        ("office",), ("office",), ("committee",)]


def test_self_loop_and_transition_labels() -> None:
    loop = {"trigger": "touch", "from": "draft", "to": "draft", "roles": ["unit_staff"],
            "comment": "optional", "label": {"zh": "修改", "en": "Touch"}}

    definition = load(transitions=transitions(loop))

    assert definition.transitions[2].label == Label("修改", "Touch")
    assert definition.transitions[2].comment_required is False


def test_fields_are_filled_in() -> None:
    fields = {
        "level": {"type": "choice", "label": {"zh": "等级", "en": "Level"}, "choices": ["优", "良"],
                  "required": True},
        "score": {"type": "number", "label": {"zh": "得分", "en": "Score"}, "minimum": 0,
                  "maximum": 100.5},
        "summary": {"type": "text", "label": {"zh": "摘要", "en": "Summary"}, "min_length": 10,
                    "max_length": 2000},
        "indicators": {"type": "table", "label": {"zh": "指标", "en": "Indicators"},
                       "columns": {"name": {"type": "text", "label": {"zh": "名称", "en": "Name"}},
                                   "weight": {"type": "number", "label": {"zh": "权重", "en": "Weight"}}}},
        "due_on": {"type": "date", "label": {"zh": "日期", "en": "Date"}},
        "evidence": {"type": "file", "label": {"zh": "附件", "en": "Evidence"}},
    }

    f = load(fields=fields).fields

    assert f["level"].choices == ("优", "良") and f["level"].required is True
    assert (f["score"].minimum, f["score"].maximum) == (0, 100.5)
    assert (f["summary"].min_length, f["summary"].max_length) == (10, 2000)
    assert [c.name for c in f["indicators"].columns] == ["name", "weight"]
    assert isinstance(f["indicators"].columns, tuple)
    assert f["evidence"] == FieldSpec("evidence", "file", Label("附件", "Evidence"))


def test_deadline_reminder_on_due_and_escalation_without_notify() -> None:
    deadlines = {"draft": {"due": {"days": 7}, "remind": [{"on": "due"}],
                           "escalate": [{"after": {"days": 2}}]}}

    spec = load(deadlines=deadlines).deadlines["draft"]

    assert spec.remind[0].before is None
    assert spec.escalate[0].notify == ()


def test_description_and_empty_optional_sections() -> None:
    definition = load(description="年度计划。", fields=None, deadlines=None)

    assert definition.description == "年度计划。"
    assert dict(definition.fields) == {} and dict(definition.deadlines) == {}


@pytest.mark.parametrize("value,expected", [
    ("office", "roles: wrong type: expected a list of role names, got a string"),
    (5, "roles: wrong type: expected a list of role names, got a whole number"),
    ({"a": 1}, "roles: wrong type: expected a list of role names, got a mapping"),
    (None, "roles: wrong type: expected a list of role names, got nothing (null)"),
])
def test_wrong_types_say_what_was_expected_and_what_was_found(value: Any, expected: str) -> None:
    assert expected in messages(roles=value)


@pytest.mark.parametrize("field,value", [("days", 1.5), ("days", True), ("working_days", "3")])
def test_offsets_must_be_whole_numbers(field: str, value: Any) -> None:
    found = messages(deadlines={"draft": {"due": {field: value}}})

    assert found == [f"deadlines.draft.due.{field}: wrong type: expected a whole number, "
                     f"got {'a boolean' if value is True else 'a decimal number' if value == 1.5 else 'a string'}"]


@pytest.mark.parametrize("trigger", ["to_done", "is_done", "may_finish", "trigger", "update_data",
                                     "start", "attach", "remind_now", "extend_deadline",
                                     "Finish", "finish-now", "1st"])
def test_reserved_or_malformed_trigger_names_are_rejected(trigger: str) -> None:
    t = {"trigger": trigger, "from": "draft", "to": "done", "roles": ["office"]}

    assert any(m.startswith("transitions[2].trigger:") for m in messages(transitions=transitions(t)))


@pytest.mark.parametrize("date", ["01-31", "02-28", "04-30", "12-31", "03-01"])
def test_real_month_days_are_accepted(date: str) -> None:
    spec = load(deadlines={"draft": {"due": {"date": date}}}).deadlines["draft"]

    assert spec.due.month_day == (int(date[:2]), int(date[3:]))


@pytest.mark.parametrize("date", ["04-31", "00-10", "12-00", "06-31", "2-3", "0331"])
def test_impossible_or_malformed_month_days_are_rejected(date: str) -> None:
    assert messages(deadlines={"draft": {"due": {"date": date}}})[0].startswith(
        f"deadlines.draft.due.date: invalid date '{date}'")
