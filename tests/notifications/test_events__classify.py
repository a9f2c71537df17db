"""What an outbox row means: the event (template) and the roles that hear of it."""

from __future__ import annotations

import pytest

from notifications.events import audience, classify


@pytest.mark.parametrize("kind, payload, event", [
    ("started", {"definition": "performance_plan"}, "started"),
    ("transition", {"trigger": "submit", "to": "submitted"}, "submitted"),
    ("transition", {"trigger": "request_revision", "to": "revise"}, "returned"),
    ("transition", {"trigger": "approve", "to": "approved"}, "approved"),
    ("transition", {"trigger": "publish", "to": "published"}, "published"),
    ("transition", {"trigger": "start_review", "to": "under_review"}, "transition"),
    ("transition", {"definition": "annual_evaluation", "trigger": "publish"},
     "results_published"),
    ("transition", {"trigger": "extend_deadline", "to": "draft"}, "deadline_extended"),
    ("started", {"definition": "appeal"}, "appeal_received"),
    ("transition", {"definition": "appeal", "trigger": "uphold"}, "appeal_decided"),
    ("transition", {"definition": "appeal", "to": "corrected"}, "appeal_decided"),
    ("started", {"definition": "rectification"}, "rectification_issued"),
    ("due", {"definition": "rectification"}, "rectification_overdue"),
    ("due", {"definition": "performance_plan"}, "overdue"),
    ("remind", {}, "reminder"),
    ("escalate", {"notify": ["office"]}, "escalation_office"),
    ("escalate", {"notify": ["office", "leader"]}, "escalation_leadership"),
    ("escalate", {"notify": ["committee"]}, "escalation_leadership"),
])
def test_classify(kind, payload, event):
    assert classify(kind, payload) == event


def test_a_reminder_on_the_due_day_is_due_today():
    assert classify("remind", {}, due_today=True) == "due_today"


def test_outcomes_reach_the_unit_as_well_as_the_next_actors():
    assert audience("approved", "transition", {"roles": ["office"]}, {}) == (
        "office", "unit_head", "unit_staff")
    assert audience("submitted", "transition", {"roles": ["office"]}, {}) == ("office",)


def test_an_escalation_goes_to_whom_the_deadline_names():
    assert audience("escalation_office", "escalate", {"roles": ["unit_head"]},
                    {"notify": ["office"]}) == ("office",)
    assert audience("reminder", "remind", {"roles": ["unit_head"]}, {}) == ("unit_head",)


@pytest.mark.parametrize("definition, trigger, to, event", [
    ("appeal", "adjust", "adjusted", "appeal_decided"),
    ("appeal", "reject", "rejected", "appeal_decided"),
    ("appeal", "admit", "accepted", "transition"),
    ("rectification", "mark_overdue", "overdue", "rectification_overdue"),
    ("evaluation_cycle", "approve_results", "publicity", "results_published"),
    ("unit_evaluation", "notify_result", "notified", "results_published"),
    ("indicator_system", "send_back", "returned", "returned"),
    ("evaluation_cycle", "send_back_results", "scoring", "returned"),
])
def test_the_bundled_processes_map_to_their_events(definition, trigger, to, event):
    assert classify("transition", {"definition": definition, "trigger": trigger,
                                   "to": to}) == event
