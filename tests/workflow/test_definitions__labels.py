"""Every transition of every bundled definition carries its own zh and en label, so no
page, diagram or API answer has to fall back to a trigger's code name."""

from __future__ import annotations

import re

import pytest

from workflow import load_bundled

DEFINITIONS = load_bundled()
HAN = re.compile(r"[\u4e00-\u9fff]")


def _transitions():
    for key, definition in sorted(DEFINITIONS.items()):
        for t in definition.transitions:
            yield pytest.param(t, id=f"{key}.{t.trigger}")


def test_all_ten_bundled_definitions_are_checked() -> None:
    assert len(DEFINITIONS) == 10


@pytest.mark.parametrize("transition", list(_transitions()))
def test_transition_has_a_chinese_and_an_english_label(transition) -> None:
    label = transition.label
    assert label is not None, f"{transition.trigger} has no label"
    assert HAN.search(label.zh), f"{transition.trigger}: zh label {label.zh!r} is not Chinese"
    assert label.en and not HAN.search(label.en), f"{transition.trigger}: en {label.en!r}"
    assert label.en[0].isupper()
    assert transition.trigger not in (label.zh, label.en)
    # short enough for a button and a diagram edge
    assert len(label.zh) <= 12 and len(label.en) <= 40


def test_the_plan_uses_the_evaluation_vocabulary() -> None:
    plan = {t.trigger: t.label for t in DEFINITIONS["performance_plan"].transitions}
    assert plan["submit"].zh == "报送" and plan["submit"].en == "Submit"
    assert plan["start_review"].zh == "开始审核"
    assert plan["request_revision"].zh == "退回修改"
    assert plan["approve"].zh == "审核通过"
    appeal = {t.trigger: t.label for t in DEFINITIONS["appeal"].transitions}
    assert appeal["escalate"].zh == "提请考评委复核"
    assert appeal["reject"].zh == "不予受理"
    cycle = {t.trigger: t.label for t in DEFINITIONS["evaluation_cycle"].transitions}
    assert all(cycle[t].zh.startswith("强制") for t in cycle if t.startswith("force_"))


def test_labels_of_one_definition_tell_its_transitions_apart() -> None:
    for key, definition in DEFINITIONS.items():
        seen: dict[tuple[str, str], str] = {}
        for t in definition.transitions:
            for source in t.sources:
                # two triggers leaving the same state must not read the same
                assert seen.setdefault((source, t.label.zh), t.trigger) == t.trigger, key
