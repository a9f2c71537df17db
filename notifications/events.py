"""What an outbox row means: its event (= template key) and who else should hear of it.

The engine writes ``started``/``transition`` rows (payload: definition, instance_id,
from, to, trigger, actor, comment) and the timer sweep writes ``remind``/``due``/
``escalate`` rows (payload: definition, instance_id, state, due_at, notify); a correction
of a published result writes a ``result_corrected`` row for the unit's users
(payload: the cycle instance, the change and the reason in ``comment``). The event
is chosen by the first matching :data:`RULES` entry for transitions, by the kind for
timers. Each event has a template of that name per locale in ``templates/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Mapping

TIMER_KINDS = ("remind", "due", "escalate")
UNIT_ROLES = ("unit_head", "unit_staff")
LEADERSHIP_ROLES = ("leader", "committee")

#: Every event perfeval says something about, with its bilingual name.
EVENTS: dict[str, tuple[str, str]] = {
    "started": ("待办事项已创建", "New item to handle"),
    "submitted": ("已报送", "Submitted"),
    "returned": ("退回修改", "Returned for revision"),
    "approved": ("已审核通过", "Approved"),
    "published": ("已公布", "Published"),
    "transition": ("状态变更", "Status changed"),
    "reminder": ("办理提醒", "Reminder"),
    "due_today": ("今日到期", "Due today"),
    "overdue": ("已逾期", "Overdue"),
    "escalation_office": ("逾期督办(绩效办)", "Escalation to the office"),
    "escalation_leadership": ("逾期督办(领导)", "Escalation to leadership"),
    "deadline_extended": ("期限已延长", "Deadline extended"),
    "results_published": ("评估结果已公布", "Results published"),
    "result_corrected": ("评估结果已更正", "Result corrected"),
    "appeal_received": ("收到申诉", "Appeal received"),
    "appeal_decided": ("申诉已复核", "Appeal decided"),
    "rectification_issued": ("整改通知", "Rectification issued"),
    "rectification_overdue": ("整改逾期", "Rectification overdue"),
    "digest": ("每日提醒汇总", "Daily digest"),
    "audit_anchor": ("每日审计锚点", "Daily audit anchor"),
}

#: Events a user may take in a daily digest instead of one email each.
DIGEST_EVENTS = frozenset({"reminder", "due_today", "overdue", "rectification_overdue"})

#: Events the subject unit hears of even when it does not act next.
_UNIT_AUDIENCE = frozenset({"returned", "approved", "published", "results_published",
                            "result_corrected",
                            "appeal_decided", "rectification_issued", "deadline_extended"})


@dataclass(frozen=True)
class Rule:
    """Maps a ``started``/``transition`` row to an event; unset fields match anything."""

    event: str
    definition: str = "*"
    kinds: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    to: tuple[str, ...] = ()

    def matches(self, kind: str, payload: Mapping[str, Any]) -> bool:
        """True when every field this rule sets matches the row."""
        return (fnmatchcase(str(payload.get("definition") or ""), self.definition)
                and (not self.kinds or kind in self.kinds)
                and (not self.triggers or payload.get("trigger") in self.triggers)
                and (not self.to or payload.get("to") in self.to))


RULES: tuple[Rule, ...] = (
    Rule("result_corrected", kinds=("result_corrected",)),  # engine.corrections
    Rule("appeal_received", "appeal*", kinds=("started",)),
    Rule("appeal_received", "appeal*", triggers=("submit", "file", "file_appeal")),
    Rule("appeal_decided", "appeal*",
         triggers=("uphold", "adjust", "correct", "decide", "reject")),
    Rule("appeal_decided", "appeal*", to=("upheld", "adjusted", "corrected", "decided",
                                          "rejected")),
    Rule("rectification_issued", "rectification*", kinds=("started",)),
    Rule("rectification_issued", "rectification*", triggers=("issue",)),
    Rule("rectification_overdue", "rectification*", triggers=("mark_overdue",)),
    Rule("rectification_overdue", "rectification*", to=("overdue",)),
    Rule("deadline_extended", triggers=("extend_deadline", "extend")),
    Rule("results_published", triggers=("publish_results",)),
    Rule("results_published", to=("results_published",)),
    Rule("results_published", "*evaluation*", triggers=("publish",)),
    Rule("results_published", "evaluation_cycle", triggers=("approve_results", "finalise")),
    Rule("results_published", "unit_evaluation", triggers=("notify_result",)),
    Rule("started", kinds=("started",)),
    Rule("submitted", triggers=("submit", "resubmit")),
    Rule("submitted", to=("submitted",)),
    Rule("returned", triggers=("request_revision", "return", "send_back", "send_back_results",
                               "reject")),
    Rule("returned", to=("revise", "returned")),
    Rule("approved", triggers=("approve",)),
    Rule("approved", to=("approved",)),
    Rule("published", triggers=("publish",)),
    Rule("published", to=("published",)),
)


def classify(kind: str, payload: Mapping[str, Any], *, due_today: bool = False) -> str:
    """The event (template key) of an outbox row of ``kind`` with ``payload``.

    ``due_today`` tells whether a reminder's deadline is the local day it fires on.
    """
    definition = str(payload.get("definition") or "")
    if kind == "remind":
        return "due_today" if due_today else "reminder"
    if kind == "due":
        return "rectification_overdue" if definition.startswith("rectification") else "overdue"
    if kind == "escalate":
        notify = set(payload.get("notify") or ())
        return "escalation_leadership" if notify & set(LEADERSHIP_ROLES) else "escalation_office"
    if kind in ("extend", "extended", "deadline_extended"):
        return "deadline_extended"
    if kind == "audit_anchor":  # engine.anchor_daily: no instance, the auditors
        return "audit_anchor"
    for rule in RULES:
        if rule.matches(kind, payload):
            return rule.event
    return "transition"


def audience(event: str, kind: str, recipients: Mapping[str, Any],
             payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The roles to notify: the row's recipients, the escalation's ``notify`` roles,
    and the subject unit's roles for outcomes that concern the unit."""
    notify = list(payload.get("notify") or ())
    if kind == "escalate" and notify:
        roles = notify  # the escalation goes to whom the deadline names, not the unit
    else:
        roles = list(recipients.get("roles") or ()) + (notify if kind in TIMER_KINDS else [])
    if event in _UNIT_AUDIENCE:
        roles += UNIT_ROLES
    return tuple(dict.fromkeys(roles))
