"""Mermaid stateDiagram-v2 output for a definition."""

from __future__ import annotations

import copy

import yaml

from workflow import bundled_definitions_dir, load_definition, load_definition_text, mermaid
from workflow.source import parse_source

PLAN = load_definition(bundled_definitions_dir() / "performance_plan.yaml")


def test_performance_plan_diagram() -> None:
    assert mermaid(PLAN) == """\
stateDiagram-v2
    state "草拟" as draft
    state "已报送" as submitted
    state "审核中" as under_review
    state "退回修改" as revise
    state "已审核备案" as approved
    state "已公布" as published
    [*] --> draft
    draft --> submitted : 报送
    revise --> submitted : 报送
    submitted --> under_review : 开始审核
    under_review --> revise : 退回修改
    under_review --> approved : 审核通过
    approved --> published : 公开
    published --> [*]
"""


def test_english_labels() -> None:
    lines = mermaid(PLAN, locale="en").splitlines()

    assert '    state "Approved and filed" as approved' in lines
    assert "    draft --> submitted : Submit" in lines
    assert "    under_review --> revise : Return for revision" in lines


def _variant(**states_labels: str):
    doc = copy.deepcopy(dict(parse_source((bundled_definitions_dir() / "performance_plan.yaml")
                                          .read_text(encoding="utf-8"))[0].data))
    for name, zh in states_labels.items():
        doc["states"][name]["label"]["zh"] = zh
    return load_definition_text(yaml.safe_dump(doc, allow_unicode=True))


def test_quotes_and_markup_in_labels_are_escaped() -> None:
    text = mermaid(_variant(draft='草拟 "初稿" <b>#1</b>'))

    assert '    state "草拟 #quot;初稿#quot; #lt;b#gt;#35;1#lt;/b#gt;" as draft' in text.splitlines()


def test_state_names_that_are_mermaid_keywords_get_a_prefix() -> None:
    source = (bundled_definitions_dir() / "performance_plan.yaml").read_text(encoding="utf-8")
    renamed = source.replace("approved", "note")

    lines = mermaid(load_definition_text(renamed)).splitlines()

    assert '    state "已审核备案" as S_note' in lines
    assert "    under_review --> S_note : 审核通过" in lines
    assert "    S_note --> published : 公开" in lines


def test_edge_labels_are_escaped_and_fall_back_to_the_trigger() -> None:
    doc = copy.deepcopy(dict(parse_source((bundled_definitions_dir() / "performance_plan.yaml")
                                          .read_text(encoding="utf-8"))[0].data))
    doc["transitions"][0]["label"] = {"zh": '报送: "初稿"; #1 <b>', "en": "Submit"}
    del doc["transitions"][1]["label"]
    lines = mermaid(load_definition_text(yaml.safe_dump(doc, allow_unicode=True))).splitlines()

    assert "    draft --> submitted : 报送#58; #quot;初稿#quot;#59; #35;1 #lt;b#gt;" in lines
    assert "    submitted --> under_review : start_review" in lines
