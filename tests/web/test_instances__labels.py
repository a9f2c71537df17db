"""The instance page reads transition labels, not trigger code names: buttons (trigger
in the tooltip, ids by trigger), blocking reasons, the history timeline and the
diagrams, in Chinese and in English."""

from __future__ import annotations

import re

from web_support import advance, app, client_for, plan, web_db  # noqa: F401

BUTTON = re.compile(r'<button[^>]*id="fire-(\w+)"[^>]*>([^<]*)</button>')


def test_submit_button_reads_报送_and_submit_in_english(client_for, plan):
    client = client_for("head101")
    body = client.get(f"/instances/{plan}").get_data(as_text=True)
    buttons = dict(BUTTON.findall(body))
    assert buttons["submit"].strip() == "报送"
    assert 'id="fire-submit" class="primary" title="submit">报送</button>' in body

    client.post("/lang", {"lang": "en", "next": f"/instances/{plan}"})
    english = dict(BUTTON.findall(client.get(f"/instances/{plan}").get_data(as_text=True)))
    assert english["submit"].strip() == "Submit"


def test_review_buttons_for_the_office(client_for, web_db, plan):
    advance(web_db, plan, ("submit", "head101", None), ("start_review", "office", None))
    client = client_for("office")
    buttons = {t: text.strip() for t, text in
               BUTTON.findall(client.get(f"/instances/{plan}").get_data(as_text=True))}
    assert buttons == {"request_revision": "退回修改 *", "approve": "审核通过"}
    client.post("/lang", {"lang": "en", "next": "/"})
    buttons = {t: text.strip() for t, text in
               BUTTON.findall(client.get(f"/instances/{plan}").get_data(as_text=True))}
    assert buttons == {"request_revision": "Return for revision *", "approve": "Approve"}


def test_blocked_reason_names_the_action_by_its_label(client_for, plan):
    client = client_for("staff101")  # unit staff may not submit
    body = client.get(f"/instances/{plan}").get_data(as_text=True)
    reason = re.search(r'<small class="reasons">([^<]*)</small>', body).group(1)
    assert "「报送」" in reason and "requires" not in reason

    client.post("/lang", {"lang": "en", "next": "/"})
    english = client.get(f"/instances/{plan}").get_data(as_text=True)
    reason = re.search(r'<small class="reasons">([^<]*)</small>', english).group(1)
    assert reason.startswith("requires one of the roles unit_head")
    assert not re.search(r"[\u4e00-\u9fff]", reason)


def test_history_timeline_reads_labels_with_the_trigger_as_tooltip(client_for, web_db, plan):
    advance(web_db, plan, ("submit", "head101", None), ("start_review", "office", None),
            ("request_revision", "office", "目标需量化"))
    client = client_for("head101")
    body = client.get(f"/instances/{plan}").get_data(as_text=True)
    timeline = body[body.index('id="history"'):body.index("</ol>", body.index('id="history"'))]
    shown = re.findall(r'<strong class="trigger" title="(\w+)">([^<]*)</strong>', timeline)
    assert shown == [("start", "创建"), ("update_data", "保存数据"), ("submit", "报送"),
                     ("start_review", "开始审核"), ("request_revision", "退回修改")]

    client.post("/lang", {"lang": "en", "next": "/"})
    body = client.get(f"/instances/{plan}").get_data(as_text=True)
    assert '<strong class="trigger" title="request_revision">Return for revision</strong>' in body
    assert '<strong class="trigger" title="start">Created</strong>' in body


def test_diagrams_use_the_labels(client_for, plan):
    client = client_for("head101")
    body = client.get(f"/instances/{plan}").get_data(as_text=True)
    assert "draft --&gt; submitted : 报送" in body or "draft --> submitted : 报送" in body
    assert "<title>submit</title>" in body and ">报送</tspan>" in body
    client.post("/lang", {"lang": "en", "next": "/"})
    english = client.get(f"/instances/{plan}").get_data(as_text=True)
    assert ">Submit</tspan>" in english and ": Submit" in english
