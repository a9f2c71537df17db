"""The evaluation-year definitions: dates and rules from the sources, every transition's
permissions (roles, unit confinement, read-only), required fields, comments, guards and
``when_children`` conditions, checked on the compiled machine the engine runs."""

from __future__ import annotations

import pytest

from engine.authz import Actor
from engine.runtime import Attempt, CompiledDefinition
from workflow import Due, load_bundled
from workflow.roles import ROLES, is_read_only, is_unit_role

DEFINITIONS = load_bundled()
KEYS = sorted(DEFINITIONS)
UNIT = 7

GOOD_INDICATORS = [
    {"code": "A1", "name": "重点工作", "weight": 60, "method": "direct", "verifier": "督查室"},
    {"code": "A2", "name": "财源建设", "weight": 40, "method": "attainment", "target": 100,
     "verifier": "财政局"},
]
GOOD = {"indicators": GOOD_INDICATORS, "period_start": 2026, "period_end": 2030,
        "filed_in_time": "yes", "category": "县直单位", "year": 2026}
# guard -> data that makes it refuse
BAD = {
    "weights_total_100": {"indicators": [dict(GOOD_INDICATORS[0], weight=50)]},
    "indicators_complete": {"indicators": [dict(GOOD_INDICATORS[0], weight=100, verifier="")]},
    "plan_period_3_to_5_years": {"period_end": 2040},
    "appeal_in_time": {"filed_in_time": "no"},
}


def good_data(definition):
    data = {}
    for name, spec in definition.fields.items():
        if name in GOOD:
            data[name] = GOOD[name]
        elif spec.type == "choice":
            data[name] = spec.choices[0]
        elif spec.type == "number":
            data[name] = 1
        else:
            data[name] = "内容 content"
    return data


def cases():
    for key in KEYS:
        for t in DEFINITIONS[key].transitions:
            for source in t.sources:
                yield pytest.param(key, t.index, source, id=f"{key}.{t.trigger}.{source}")


@pytest.fixture(scope="module")
def compiled():
    return {k: CompiledDefinition(d, 0, 1) for k, d in DEFINITIONS.items()}


def attempt(role, data, *, unit=UNIT, comment="意见 comment", children=lambda c: []):
    actor = Actor(1, "u", unit if is_unit_role(role) else None, frozenset({role}))
    return Attempt(actor, UNIT, data, comment, children=children)


def expected_dest(definition, trigger, source, role):
    for t in definition.transitions_from(source):
        if t.trigger == trigger and role in t.roles and not is_read_only(role):
            return t.dest
    return None


@pytest.mark.parametrize("key, index, source", list(cases()))
def test_only_the_declared_roles_may_fire(compiled, key, index, source):
    comp = compiled[key]
    t = comp.definition.transitions[index]
    for role in ROLES:
        got = comp.evaluate(source, t.trigger, attempt(role, good_data(comp.definition)))
        assert got == expected_dest(comp.definition, t.trigger, source, role), role
    assert t.roles and not any(is_read_only(r) for r in t.roles)


@pytest.mark.parametrize("key, index, source", list(cases()))
def test_unit_roles_act_only_on_their_own_unit(compiled, key, index, source):
    comp = compiled[key]
    t = comp.definition.transitions[index]
    for role in (r for r in t.roles if is_unit_role(r)):
        other = attempt(role, good_data(comp.definition), unit=UNIT + 1)
        assert comp.evaluate(source, t.trigger, other) is None


@pytest.mark.parametrize("key, index, source", list(cases()))
def test_requires_comment_guards_and_children_each_block_with_a_reason(compiled, key, index,
                                                                       source):
    comp = compiled[key]
    t = comp.definition.transitions[index]
    role = t.roles[0]
    base = good_data(comp.definition)
    blocked = []
    for name in t.requires:
        blocked.append(attempt(role, {**base, name: ""}))
    if t.comment_required:
        blocked.append(attempt(role, base, comment=None))
    for name in t.guards:
        blocked.append(attempt(role, {**base, **BAD[name]}))
    if t.when_children:
        blocked.append(attempt(role, base, children=lambda c: ["101 县财政局"]))
        blocked.append(attempt(role, base, children=None))
    for a in blocked:
        assert comp.evaluate(source, t.trigger, a) is None
        assert a.reasons, (t.trigger, a.data, a.comment)
    assert comp.evaluate(source, t.trigger, attempt(role, base)) == t.dest


def test_every_bundled_definition_is_there_with_bilingual_titles():
    assert set(KEYS) >= {"indicator_system", "performance_plan", "medium_term_plan",
                         "evaluation_cycle", "unit_evaluation", "half_year_self_assessment",
                         "annual_self_assessment", "appeal", "special_evaluation",
                         "rectification"}
    for d in DEFINITIONS.values():
        assert d.title.zh and d.title.en
        assert all(s.label.zh and s.label.en for s in d.states.values())


def test_self_assessment_dates_follow_the_2011_plan():
    assert DEFINITIONS["half_year_self_assessment"].deadlines["open"].due == Due(month_day=(7, 31))
    assert DEFINITIONS["annual_self_assessment"].deadlines["open"].due == Due(month_day=(12, 10))


def test_rectification_plan_is_due_within_30_days():
    due = DEFINITIONS["rectification"].deadlines["issued"].due
    assert (due.offset.amount, due.offset.unit) == (30, "days")


def test_the_cycle_waits_for_its_children():
    cycle = DEFINITIONS["evaluation_cycle"]
    waits = {t.trigger: (t.when_children.definition, t.when_children.all_in)
             for t in cycle.transitions if t.when_children}
    assert waits["close_self_assessment"] == ("annual_self_assessment",
                                              ("accepted", "closed_overdue"))
    assert waits["finalise"] == ("appeal", ("final", "rejected", "withdrawn"))
    for trigger, (child, states) in waits.items():
        assert set(states) <= set(DEFINITIONS[child].states)
        assert set(states) <= DEFINITIONS[child].final_states | {"approved", "published",
                                                                 "verified"}
    # every phase a person may force has a comment-required force transition
    forced = {t.dest for t in cycle.transitions if t.trigger.startswith("force_")}
    assert all(t.comment_required for t in cycle.transitions if t.trigger.startswith("force_"))
    assert forced == {"monitoring", "monitoring_h2", "verification", "scoring", "closed"}


def test_medium_term_plan_has_the_exempt_path():
    plan = DEFINITIONS["medium_term_plan"]
    exempt = next(t for t in plan.transitions if t.trigger == "exempt")
    assert (exempt.dest, exempt.roles, exempt.comment_required) == ("exempt", ("office",), True)
    assert plan.states["exempt"].final
