"""The audit search page: labels instead of code names (in the page's language), 100
entries a page with the total, page links that keep the filters, fixed queries."""

from __future__ import annotations

import re


from engine import actor_for, update_data
from web_support import advance, app, client_for, count_queries, plan, web_db  # noqa: F401

ROW = re.compile(r"<tr><td class=\"when\">")


def _saves(db, instance_id: int, n: int) -> None:
    staff = actor_for(db, "staff101")
    for k in range(n):
        update_data(db, instance_id, staff, {"goals": f"目标{k}"})


def test_rows_show_process_trigger_and_state_labels(client_for, web_db, plan):
    advance(web_db, plan, ("submit", "head101", None))
    client = client_for("auditor")

    body = client.get("/audit/?unit_code=101").get_data(as_text=True)
    assert 'title="performance_plan">年度绩效计划</td>' in body
    assert '<td class="trigger" title="submit">报送</td>' in body
    assert 'title="draft → submitted">草拟 → 已报送</td>' in body
    assert '<td class="trigger" title="update_data">保存数据</td>' in body
    assert '<td class="trigger" title="start">创建</td>' in body
    assert "共 3 条记录,第 1–3 条" in body and 'rel="next"' not in body

    client.post("/lang", {"lang": "en", "next": "/audit/"})
    english = client.get("/audit/?unit_code=101").get_data(as_text=True)
    assert '<td class="trigger" title="submit">Submit</td>' in english
    assert "Draft → Submitted" in english and "Annual performance plan" in english
    assert "3 entries, showing 1–3" in english


def test_a_hundred_entries_a_page_and_links_keep_the_filters(client_for, web_db, plan):
    _saves(web_db, plan, 130)  # with the fixture's start and save: 132 entries
    client = client_for("auditor")

    first = client.get("/audit/?actor=staff101&unit_code=101").get_data(as_text=True)
    assert len(ROW.findall(first)) == 100
    assert "共 132 条记录,第 1–100 条" in first and "第 1 / 2 页" in first
    nxt = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "page=2" in nxt and "actor=staff101" in nxt and "unit_code=101" in nxt

    second = client.get(nxt).get_data(as_text=True)
    assert len(ROW.findall(second)) == 32
    assert "共 132 条记录,第 101–132 条" in second and 'rel="prev"' in second
    assert 'rel="next"' not in second
    assert ">#%d</a>.1<" % plan in second  # the oldest entry is on the last page

    assert len(ROW.findall(client.get("/audit/?page=abc").get_data(as_text=True))) == 100
    assert "第 2 / 2 页" in client.get("/audit/?page=9").get_data(as_text=True)
    empty = client.get("/audit/?actor=nobody").get_data(as_text=True)
    assert 'id="no-history"' in empty and "共 0 条记录" in empty


def test_queries_do_not_depend_on_the_page_or_the_entries(client_for, web_db, plan):
    client = client_for("auditor")
    few = count_queries(web_db, client, "/audit/")
    _saves(web_db, plan, 150)
    assert count_queries(web_db, client, "/audit/") == few
    assert count_queries(web_db, client, "/audit/?page=2") == few


def test_unit_users_cannot_open_the_audit_search(client_for, plan):
    assert client_for("head101").get("/audit/").status_code in (403, 404)
