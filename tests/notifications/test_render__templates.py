"""Every event has a template per locale; each names the unit, the process, the state
and the date and links to the instance; HTML escapes what users wrote."""

from __future__ import annotations

from importlib import resources

import pytest

from notifications import EVENTS, render
from notifications.render import render_inapp

PARAMS = {
    "instance_id": 42, "definition": "performance_plan", "kind": "transition",
    "process": {"zh": "年度绩效计划", "en": "Annual performance plan"},
    "unit": {"code": "101", "name": "县发展和改革局"},
    "state": "under_review", "state_label": {"zh": "审核中", "en": "Under review"},
    "from_state": "submitted", "from_label": {"zh": "已报送", "en": "Submitted"},
    "actor": "wang", "comment": "<b>请</b> & 补充", "at": "2026-12-08T09:00",
    "deadline": "2026-12-10", "days_left": 2, "days_overdue": 3,
    "link": "https://jx.example.gov.cn/instances/42",
}
DATES = {"zh_CN": ("2026年12月8日", "2026年12月10日"), "en": ("8 Dec 2026", "10 Dec 2026")}
DATED_EVENTS = {"reminder", "due_today", "overdue", "escalation_office",
                "escalation_leadership", "deadline_extended", "rectification_overdue"}
EVENT_KEYS = sorted(e for e in EVENTS if e not in ("digest", "audit_anchor"))  # no instance


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("event", EVENT_KEYS)
def test_every_event_names_unit_process_state_date_and_link(event, locale):
    lang = "zh" if locale == "zh_CN" else "en"
    r = render(event, locale, PARAMS)
    assert "\n" not in r.subject and r.subject
    assert "县发展和改革局" in r.subject + r.text
    for part in (r.text, r.html):
        assert PARAMS["process"][lang] in part
        assert PARAMS["state_label"][lang] in part or "审核中" in part
        assert PARAMS["link"] in part
    when = DATES[locale][1] if event in DATED_EVENTS else DATES[locale][0]
    assert when in r.text, r.text
    assert "<b>请</b>" not in r.html
    title, body = render_inapp(event, locale, PARAMS)
    assert title and body and PARAMS["link"] not in title


def test_comments_are_quoted_verbatim_in_text_and_escaped_in_html():
    r = render("returned", "zh_CN", PARAMS)
    assert "修改意见:<b>请</b> & 补充" in r.text
    assert "修改意见:&lt;b&gt;请&lt;/b&gt; &amp; 补充" in r.html


def test_every_template_file_exists_for_both_locales():
    folder = resources.files("notifications") / "templates"
    for locale in ("zh_CN", "en"):
        names = {p.name for p in (folder / locale).iterdir()}
        assert names == {f"{e}.j2" for e in EVENTS} | {"_base.j2"}


def test_a_missing_organisation_unit_reads_naturally():
    params = {**PARAMS, "unit": None}
    assert render("approved", "zh_CN", params).subject.startswith("【绩效评估】全县《年度绩效计划》")
    assert "all units" in render("approved", "en", params).subject


def test_reminder_plural_in_english():
    assert render("reminder", "en", {**PARAMS, "days_left": 1}).subject.endswith(
        "is due in 1 working day")
    assert render("reminder", "en", PARAMS).subject.endswith("is due in 2 working days")
