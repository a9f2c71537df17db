"""The bundled performance_plan definition loads and says what the regulation says."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from workflow import (
    Definition,
    Due,
    Escalation,
    Offset,
    Reminder,
    bundled_definitions_dir,
    load_bundled,
    load_definition,
    validate_paths,
)


@pytest.fixture(scope="module")
def plan() -> Definition:
    return load_definition(bundled_definitions_dir() / "performance_plan.yaml")


def test_bundled_directory_validates_cleanly() -> None:
    assert validate_paths([bundled_definitions_dir()]) == []


def test_load_bundled_returns_definitions_by_key() -> None:
    definitions = load_bundled()

    assert "performance_plan" in definitions
    assert definitions["performance_plan"].key == "performance_plan"


def test_header(plan: Definition) -> None:
    assert plan.schema_version == 1
    assert plan.title.get("zh") == "年度绩效计划"
    assert plan.title.get("en") == "Annual performance plan"
    assert plan.subject == "unit"
    assert plan.roles == ("unit_staff", "unit_head", "office", "auditor")
    assert plan.initial == "draft"
    assert plan.path.endswith("performance_plan.yaml")
    assert plan.source.startswith("# Annual performance plan")


def test_states(plan: Definition) -> None:
    assert list(plan.states) == ["draft", "submitted", "under_review", "revise", "approved",
                                 "published"]
    assert plan.final_states == frozenset({"published"})
    assert plan.states["draft"].editable_by == ("unit_staff", "unit_head")
    assert plan.states["submitted"].editable_by == ()
    assert plan.states["revise"].label.get("zh") == "退回修改"


def test_transitions(plan: Definition) -> None:
    summary = [(t.trigger, t.sources, t.dest, t.roles) for t in plan.transitions]

    assert summary == [
        ("submit", ("draft", "revise"), "submitted", ("unit_head",)),
        ("start_review", ("submitted",), "under_review", ("office",)),
        ("request_revision", ("under_review",), "revise", ("office",)),
        ("approve", ("under_review",), "approved", ("office",)),
        ("publish", ("approved",), "published", ("office",)),
    ]
    assert plan.transitions[0].requires == ("goals", "measures")
    assert plan.transitions[2].comment_required is True
    assert [t.index for t in plan.transitions] == [0, 1, 2, 3, 4]
    assert [t.trigger for t in plan.transitions_from("under_review")] == ["request_revision",
                                                                         "approve"]


def test_fields(plan: Definition) -> None:
    assert list(plan.fields) == ["goals", "measures", "year"]  # year: the cycle's (dates)
    assert plan.fields["goals"].type == "text"
    assert plan.fields["goals"].label.get("zh") == "年度绩效目标"
    assert plan.fields["goals"].required is False


def test_deadlines(plan: Definition) -> None:
    draft, review = plan.deadlines["draft"], plan.deadlines["under_review"]

    assert sorted(plan.deadlines) == ["draft", "under_review"]
    assert draft.due == Due(month_day=(3, 31))
    assert draft.remind == (Reminder(Offset(5, "working_days")), Reminder(Offset(1, "working_days")))
    assert draft.escalate == (Escalation(Offset(1, "working_days"), ("office",)),)
    assert review.due == Due(offset=Offset(10, "working_days"))
    assert review.remind == (Reminder(Offset(2, "working_days")), Reminder(before=None))
    assert review.escalate == ()


def test_definition_is_immutable(plan: Definition) -> None:
    assert isinstance(plan.states, MappingProxyType)
    assert isinstance(plan.fields, MappingProxyType)
    assert isinstance(plan.deadlines, MappingProxyType)
    with pytest.raises(TypeError):
        plan.states["x"] = plan.states["draft"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        plan.key = "other"  # type: ignore[misc]
    assert isinstance(plan.transitions, tuple)


def test_describe_is_json_serialisable(plan: Definition) -> None:
    import json

    described = json.loads(json.dumps(plan.describe(), ensure_ascii=False))

    assert described["content_hash"] == plan.content_hash
    assert described["deadlines"] == ["draft", "under_review"]
