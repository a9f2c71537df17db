"""Random trigger sequences by random actors, checked against a tiny model of the
performance-plan graph written out by hand (not derived from the engine)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import (GuardFailed, InvalidInput, InvalidTransition, NotPermitted, fire,
                    get_instance, read_history, start, update_data, verify_history)

# (state, trigger) -> (target, role allowed, needs goals+measures, needs comment)
MODEL = {
    ("draft", "submit"): ("submitted", "unit_head", True, False),
    ("revise", "submit"): ("submitted", "unit_head", True, False),
    ("submitted", "start_review"): ("under_review", "office", False, False),
    ("under_review", "request_revision"): ("revise", "office", False, True),
    ("under_review", "approve"): ("approved", "office", False, False),
    ("approved", "publish"): ("published", "office", False, False),
}
EDITABLE = {"draft", "revise"}
USERS = {"staff101": ("unit_staff", "101"), "head101": ("unit_head", "101"),
         "head102": ("unit_head", "102"), "office": ("office", None),
         "auditor": ("auditor", None)}
TRIGGERS = sorted({t for _, t in MODEL}) + ["to_published", "archive"]

steps = st.lists(st.one_of(
    st.tuples(st.just("fire"), st.sampled_from(sorted(USERS)), st.sampled_from(TRIGGERS),
              st.sampled_from([None, "", "请补充说明"])),
    st.tuples(st.just("save"), st.sampled_from(sorted(USERS)),
              st.sampled_from(["goals", "measures"]), st.sampled_from(["", "内容"])),
), max_size=25)


def expected_fire(state, data, user, trigger, comment):
    role, unit = USERS[user]
    move = MODEL.get((state, trigger))
    if move is None:
        return InvalidTransition
    target, allowed, needs_data, needs_comment = move
    if role != allowed or (unit is not None and unit != "101"):
        return NotPermitted
    if needs_data and not (data.get("goals", "").strip() and data.get("measures", "").strip()):
        return GuardFailed
    if needs_comment and not (comment or "").strip():
        return GuardFailed
    return target


def expected_save(state, user):
    role, unit = USERS[user]
    if state not in EDITABLE:
        return InvalidInput
    if role not in ("unit_staff", "unit_head") or unit != "101":
        return NotPermitted
    return state


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=steps)
def test_random_sequences_match_the_model(db, actors, steps):
    pid = start(db, "performance_plan", actors["office"], unit_code="101").instance_id
    state, data, changes = "draft", {}, [("start", None, "draft")]
    for kind, user, arg, value in steps:
        if kind == "fire":
            expected = expected_fire(state, data, user, arg, value)
            call = lambda: fire(db, pid, arg, actors[user], comment=value)  # noqa: E731
        else:
            expected = expected_save(state, user)
            call = lambda: update_data(db, pid, actors[user], {arg: value})  # noqa: E731
        if isinstance(expected, type):
            try:
                call()
            except expected:
                continue
            raise AssertionError(f"{kind} {arg} by {user} in {state}: expected {expected}")
        call()
        if kind == "save":
            data[arg] = value
        changes.append((arg if kind == "fire" else "update_data", user, expected))
        state = expected
    view = get_instance(db, pid)
    history = read_history(db, pid)
    assert view.state == state and view.version == len(changes)
    assert view.data == data
    assert [h["seq"] for h in history] == list(range(1, len(changes) + 1))
    assert [(h["trigger"], h["to_state"]) for h in history] == [(t, s) for t, _, s in changes]
    assert [h["actor"] for h in history][1:] == [u for _, u, _ in changes][1:]
    assert verify_history(db).ok
