"""The performance plan end to end through the engine API, revision loop included."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import (GuardFailed, available_triggers, fire, get_instance, read_history, start,
                    update_data, verify_history)
from engine.models import OutboxMessage, Timer


def _timers(db, instance_id, status="pending"):
    with db.read() as conn:
        return conn.execute(select(Timer.state, Timer.kind).where(
            Timer.instance_id == instance_id, Timer.status == status)).all()


def test_plan_runs_from_draft_through_revision_to_published(db, actors):
    staff, head, office = actors["staff101"], actors["head101"], actors["office"]
    plan = start(db, "performance_plan", staff, unit_code="101")
    pid = plan.instance_id
    update_data(db, pid, staff, {"goals": "投资增长8%", "measures": "项目清单化"})
    fire(db, pid, "submit", head)
    fire(db, pid, "start_review", office)
    fire(db, pid, "request_revision", office, comment="目标需量化")
    update_data(db, pid, staff, {"goals": "每季度增长2%"})
    fire(db, pid, "submit", head)
    fire(db, pid, "start_review", office)
    fire(db, pid, "approve", office)
    last = fire(db, pid, "publish", office)

    view = get_instance(db, pid)
    assert (view.state, view.final, view.version) == ("published", True, 10)
    assert view.data == {"goals": "每季度增长2%", "measures": "项目清单化"}
    assert last.version == 10
    history = read_history(db, pid)
    assert [h["seq"] for h in history] == list(range(1, 11))
    assert [h["trigger"] for h in history] == [
        "start", "update_data", "submit", "start_review", "request_revision", "update_data",
        "submit", "start_review", "approve", "publish"]
    assert [(h["from_state"], h["to_state"]) for h in history][-3:] == [
        ("submitted", "under_review"), ("under_review", "approved"), ("approved", "published")]
    revision = next(h for h in history if h["trigger"] == "request_revision")
    assert (revision["actor"], revision["role"], revision["comment"]) == (
        "office", "office", "目标需量化")
    assert history[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(history, history[1:]))
    assert view.state == history[-1]["to_state"]
    assert verify_history(db).ok


def test_submit_is_refused_until_required_fields_are_filled(db, actors):
    pid = start(db, "performance_plan", actors["staff101"], unit_code="101").instance_id
    update_data(db, pid, actors["staff101"], {"goals": "目标"})
    with pytest.raises(GuardFailed) as refused:
        fire(db, pid, "submit", actors["head101"])
    assert "工作措施" in refused.value.message and "measures" in refused.value.message
    assert get_instance(db, pid).state == "draft"


def test_revision_request_needs_a_comment(db, actors):
    pid = start(db, "performance_plan", actors["office"], unit_code="101",
                data={"goals": "g", "measures": "m"}).instance_id
    fire(db, pid, "submit", actors["head101"])
    fire(db, pid, "start_review", actors["office"])
    with pytest.raises(GuardFailed) as refused:
        fire(db, pid, "request_revision", actors["office"], comment="  ")
    assert "comment" in refused.value.message
    assert get_instance(db, pid).state == "under_review"


def test_entering_a_state_with_a_deadline_writes_timers_and_leaving_cancels_them(db, actors):
    pid = start(db, "performance_plan", actors["office"], unit_code="101",
                data={"goals": "g", "measures": "m"}).instance_id
    assert {k for s, k in _timers(db, pid)} >= {"due", "escalate"}
    fire(db, pid, "submit", actors["head101"])
    assert _timers(db, pid) == []
    assert {s for s, _ in _timers(db, pid, "cancelled")} == {"draft"}
    fire(db, pid, "start_review", actors["office"])
    assert {s for s, _ in _timers(db, pid)} == {"under_review"}
    assert {"due", "remind"} <= {k for _, k in _timers(db, pid)}


def test_every_transition_writes_one_outbox_row_with_the_next_actors(db, actors):
    pid = start(db, "performance_plan", actors["office"], unit_code="101",
                data={"goals": "g", "measures": "m"}).instance_id
    fire(db, pid, "submit", actors["head101"])
    with db.read() as conn:
        rows = conn.execute(select(OutboxMessage).where(OutboxMessage.instance_id == pid)
                            .order_by(OutboxMessage.id)).all()
        count = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar()
    assert count == 2
    submitted = rows[-1]
    assert submitted.kind == "transition"
    assert submitted.payload["to"] == "submitted"
    assert submitted.recipients["roles"] == ["office"]
    assert submitted.dedupe_key == f"transition:{pid}:2"


def test_available_triggers_explain_what_blocks_each_action(db, actors):
    pid = start(db, "performance_plan", actors["staff101"], unit_code="101").instance_id
    for_staff = {a.trigger: a for a in available_triggers(db, pid, actors["staff101"])}
    assert not for_staff["submit"].allowed
    assert "unit_head" in for_staff["submit"].reasons[0]
    for_head = {a.trigger: a for a in available_triggers(db, pid, actors["head101"])}
    assert not for_head["submit"].allowed
    assert "年度绩效目标" in for_head["submit"].reasons[0]
    update_data(db, pid, actors["staff101"], {"goals": "g", "measures": "m"})
    for_head = {a.trigger: a for a in available_triggers(db, pid, actors["head101"])}
    assert for_head["submit"].allowed and for_head["submit"].reasons == ()
