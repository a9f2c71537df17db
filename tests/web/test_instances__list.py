"""The instances list page: 50 a page with the total shown, filters (process, state,
unit for organisation-wide users, overdue only) kept in the pager's links, labels in
the page's language, unit users confined to their unit whatever the query string, and
a fixed number of queries however many instances there are."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from freezegun import freeze_time
from sqlalchemy import event

from engine import actor_for, start
from web_support import app, client_for, web_db  # noqa: F401

JANUARY = "2026-01-05 02:00:00"  # Monday 10:00 in Shanghai
APRIL = "2026-04-10 02:00:00"  # past the plans' 31 March due date


def _plans(db, code: str, n: int) -> list[int]:
    office = actor_for(db, "office")
    with freeze_time(JANUARY):
        return [start(db, "performance_plan", office, unit_code=code).instance_id
                for _ in range(n)]


def _ids(body: str) -> list[int]:
    table = re.search(r'<table class="grid" id="instances">.*?</table>', body, re.S)
    return [int(i) for i in re.findall(r'>#(\d+)</a>', table.group(0))] if table else []


def _get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _links(body: str, rel: str) -> dict[str, list[str]]:
    href = re.search(rf'<a href="([^"]+)" rel="{rel}">', body).group(1)
    return parse_qs(urlsplit(unescape(href)).query)


def test_fifty_a_page_newest_first_with_the_total(client_for, web_db):
    ids = _plans(web_db, "101", 60) + _plans(web_db, "102", 5)
    with freeze_time(JANUARY):
        client = client_for("office")
        first = _get(client, "/instances/")
        second = _get(client, "/instances/?page=2")
        beyond = _get(client, "/instances/?page=9")
    assert _ids(first) == sorted(ids, reverse=True)[:50]
    assert _ids(second) == sorted(ids, reverse=True)[50:]
    assert _ids(beyond) == _ids(second)  # clamped to the last page
    assert '<span class="count" id="instances-total">65</span>' in first
    assert "共 65 项,第 1 / 2 页" in first
    assert _links(first, "next") == {"page": ["2"]} and 'rel="prev"' not in first


def test_filters_are_kept_in_the_pager_links(client_for, web_db):
    _plans(web_db, "101", 55)
    _plans(web_db, "102", 3)
    with freeze_time(APRIL):
        client = client_for("office")
        body = _get(client, "/instances/?key=performance_plan&state=draft&unit=101&overdue=1")
        second = _get(client,
                      "/instances/?key=performance_plan&state=draft&unit=101&overdue=1&page=2")
    assert len(_ids(body)) == 50 and len(_ids(second)) == 5
    assert _links(body, "next") == {"key": ["performance_plan"], "state": ["draft"],
                                    "unit": ["101"], "overdue": ["1"], "page": ["2"]}
    assert _links(second, "prev")["page"] == ["1"]
    assert '<option value="101" selected>' in body
    assert re.search(r'name="overdue" value="1" checked', body)
    assert "清除筛选" in body


def test_each_filter_narrows_the_list(client_for, web_db):
    from engine import fire

    unit_101, unit_102 = _plans(web_db, "101", 2), _plans(web_db, "102", 2)
    with freeze_time(JANUARY):
        fire(web_db, unit_101[0], "submit", actor_for(web_db, "head101"),
             data={"goals": "目标", "measures": "措施"})
    with freeze_time(APRIL):
        client = client_for("office")
        assert _ids(_get(client, "/instances/?unit=102")) == sorted(unit_102, reverse=True)
        assert _ids(_get(client, "/instances/?state=submitted")) == [unit_101[0]]
        assert _ids(_get(client, "/instances/?key=appeal")) == []
        overdue = _ids(_get(client, "/instances/?overdue=1"))  # drafts past 31 March
        assert sorted(overdue) == sorted(unit_101[1:] + unit_102)
        empty = _get(client, "/instances/?unit=nope")
    assert 'id="instances-empty"' in empty and "没有符合条件的事项。" in empty
    with freeze_time(JANUARY):
        assert _ids(_get(client_for("office"), "/instances/?overdue=1")) == []


def test_unit_users_see_only_their_unit_whatever_the_query(client_for, web_db):
    own, other = _plans(web_db, "101", 3), _plans(web_db, "102", 3)
    with freeze_time(APRIL):
        client = client_for("head101")
        body = _get(client, "/instances/")
        crossed = _get(client, "/instances/?unit=102")
        overdue = _get(client, "/instances/?unit=102&overdue=1")
    assert _ids(body) == sorted(own, reverse=True)
    assert _ids(crossed) == _ids(body) and _ids(overdue) == _ids(body)
    assert not set(other) & set(_ids(crossed) + _ids(overdue))
    assert 'name="unit"' not in body and "县财政局" not in body + crossed + overdue
    with freeze_time(APRIL):
        assert _ids(_get(client_for("head102"), "/instances/")) == sorted(other, reverse=True)


@pytest.mark.parametrize(("lang", "title", "state", "overdue"), [
    ("zh_CN", "年度绩效计划", "草拟", "已逾期"),
    ("en", "Annual performance plan", "Draft", "Overdue")])
def test_labels_in_the_page_language(client_for, web_db, lang, title, state, overdue):
    _plans(web_db, "101", 1)
    with freeze_time(APRIL):
        client = client_for("office")
        client.post("/lang", {"lang": lang})
        body = _get(client, "/instances/")
    row = re.search(r'<tbody>.*?</tbody>', body, re.S).group(0)
    assert f"<td>{title}</td>" in row and f">{state}</td>" in row
    assert "2026-03-31" in row and f'<span class="overdue-mark">{overdue}</span>' in row
    assert 'class="urgency-overdue"' in row


def _count(db, client, path: str) -> int:
    client.get(path)  # warm the per-process caches
    statements: list[str] = []

    def _record(conn, cursor, statement, *args):  # noqa: ARG001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", _record)
    return len(statements)


@pytest.mark.parametrize("path", ["/instances/", "/instances/?overdue=1&page=2",
                                  "/instances/?key=performance_plan&unit=101"])
def test_queries_do_not_grow_with_instances(client_for, web_db, path):
    _plans(web_db, "101", 3)
    with freeze_time(APRIL):
        client = client_for("office")
        small = _count(web_db, client, path)
    _plans(web_db, "101", 60)
    _plans(web_db, "102", 20)
    with freeze_time(APRIL):
        assert _count(web_db, client, path) == small
