"""A parent transition waiting for children of several definitions: refused while any
condition is unmet, fired by the system when the last child of any of them completes
the set (whichever definition finishes last), forced with one line per definition; and
``then_children`` moving the children with the parent, all or nothing."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from engine import (Actor, GuardFailed, NotPermitted, fire, get_instance, load_definitions,
                    read_history, start)
from engine.cycles import force

OFFICE = Actor(None, "office", None, frozenset({"office"}))

PARENT = """schema_version: 1
key: round
title: {zh: 轮次, en: Round}
subject: organisation
roles: [office, system]
initial: open
states:
  open:   {label: {zh: 进行中, en: Open}}
  review: {label: {zh: 复核, en: Review}}
  done:   {label: {zh: 完成, en: Done}, final: true}
transitions:
  - {trigger: start_review, from: open, to: review, roles: [office], then_children: [{definition: report, fire: lock}]}
  - {trigger: finish, from: review, to: done, roles: [system, office], when_children: [{definition: report, all_in: [accepted]}, {definition: claim, all_in: [settled, dropped]}]}
  - {trigger: force_finish, from: review, to: done, roles: [office], comment: required}
"""
REPORT = """schema_version: 1
key: report
title: {zh: 报告, en: Report}
subject: unit
roles: [unit_head, office, system]
fields:
  text: {type: text, label: {zh: 正文, en: Text}}
initial: draft
states:
  draft:    {label: {zh: 草拟, en: Draft}}
  locked:   {label: {zh: 已锁定, en: Locked}}
  accepted: {label: {zh: 已受理, en: Accepted}, final: true}
transitions:
  - {trigger: lock, from: draft, to: locked, roles: [system], requires: [text]}
  - {trigger: accept, from: locked, to: accepted, roles: [office]}
"""
CLAIM = """schema_version: 1
key: claim
title: {zh: 申请, en: Claim}
subject: unit
roles: [unit_head, office]
initial: filed
states:
  filed:   {label: {zh: 已提出, en: Filed}}
  settled: {label: {zh: 已办结, en: Settled}, final: true}
  dropped: {label: {zh: 已撤回, en: Dropped}, final: true}
transitions:
  - {trigger: settle, from: filed, to: settled, roles: [office]}
  - {trigger: drop, from: filed, to: dropped, roles: [office]}
"""


@pytest.fixture
def family(db, tmp_path):
    for name, text in (("round", PARENT), ("report", REPORT), ("claim", CLAIM)):
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    load_definitions(db, tmp_path)
    parent = start(db, "round", OFFICE).instance_id
    reports = [start(db, "report", OFFICE, unit_code=c, parent_id=parent,
                     data={"text": "报告"}).instance_id for c in ("101", "102")]
    claims = [start(db, "claim", OFFICE, unit_code=c, parent_id=parent).instance_id
              for c in ("101", "201")]
    return parent, reports, claims


def states(db, *ids):
    return [get_instance(db, i).state for i in ids]


def test_then_children_moves_the_children_with_the_parent(db, family):
    parent, reports, claims = family
    with freeze_time("2026-07-15T02:00:00"):
        fire(db, parent, "start_review", OFFICE)
    assert states(db, *reports) == ["locked", "locked"]
    assert states(db, *claims) == ["filed", "filed"]  # only the named definition
    parent_at = read_history(db, parent)[-1]["at"]
    assert {read_history(db, r)[-1]["at"] for r in reports} == {parent_at}
    assert {read_history(db, r)[-1]["actor"] for r in reports} == {"system"}


def test_a_child_that_refuses_rolls_the_parent_back(db, family):
    parent, reports, _ = family
    blank = start(db, "report", OFFICE, unit_code="201", parent_id=parent).instance_id
    with pytest.raises(GuardFailed):  # the blank report cannot be locked
        fire(db, parent, "start_review", OFFICE)
    assert states(db, parent, *reports, blank) == ["open", "draft", "draft", "draft"]
    assert [e["trigger"] for e in read_history(db, reports[0])] == ["start"]


def test_children_already_past_the_trigger_are_left_alone(db, family):
    parent, reports, _ = family
    fire(db, reports[0], "lock", Actor.system())
    fire(db, reports[0], "accept", OFFICE)
    fire(db, parent, "start_review", OFFICE)
    assert states(db, parent, *reports) == ["review", "accepted", "locked"]


@pytest.mark.parametrize("last", ["report", "claim"])
def test_the_system_fires_when_the_last_child_of_any_definition_completes_the_set(
        db, family, last):
    parent, reports, claims = family
    fire(db, parent, "start_review", OFFICE)
    with pytest.raises(GuardFailed) as waiting:
        fire(db, parent, "finish", OFFICE)
    assert "2 个 report" in waiting.value.message and "2 个 claim" in waiting.value.message
    first, second = (claims, reports) if last == "report" else (reports, claims)
    move = {"report": "accept", "claim": "settle"}
    for child in first:
        fire(db, child, move["claim" if first is claims else "report"], OFFICE)
    fire(db, second[0], move[last], OFFICE)
    assert get_instance(db, parent).state == "review"  # one of the last kind still open
    with pytest.raises(GuardFailed) as one_left:
        fire(db, parent, "finish", OFFICE)
    assert f"1 个 {last}" in one_left.value.message
    assert ("report" if last == "claim" else "claim") + " " not in one_left.value.message
    fire(db, second[1], move[last] if last == "report" else "drop", OFFICE)
    entry = read_history(db, parent)[-1]
    assert (entry["trigger"], entry["actor"], entry["to_state"]) == ("finish", "system", "done")


def test_forcing_records_the_children_not_done_of_each_definition(db, family):
    parent, reports, claims = family
    fire(db, parent, "start_review", OFFICE)
    fire(db, reports[0], "accept", OFFICE)
    fire(db, claims[0], "settle", OFFICE)
    with pytest.raises(NotPermitted):
        force(db, parent, "force_finish", Actor.system(), "到期")
    force(db, parent, "force_finish", OFFICE, "到期")
    comment = read_history(db, parent)[-1]["comment"]
    assert comment == ("到期\n未完成 report not done (1): 102 县财政局"
                       "\n未完成 claim not done (1): 201 城关镇")
