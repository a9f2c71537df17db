"""The in-app inbox API the web pages render: list, unread count, mark read, links."""

from __future__ import annotations

from engine import fire
from notifications import dispatch, list_inbox, mark_all_read, mark_read, unread_count
from notify_support import people, plan, staff  # noqa: F401 - fixtures


def _revision_round(db, plan, staff):
    fire(db, plan, "submit", staff["chen"])
    fire(db, plan, "start_review", staff["wang"])
    fire(db, plan, "request_revision", staff["wang"], comment="请补充指标")
    dispatch(db, channels={})


def test_newest_first_with_titles_bodies_and_links(db, plan, staff, people):
    _revision_round(db, plan, staff)
    items = list_inbox(db, people["chen"])
    assert [i.event for i in items] == ["returned", "started"]
    assert all(i.unread and i.instance_id == plan for i in items)
    assert items[0].link == f"http://localhost:5000/instances/{plan}"
    assert "请补充指标" in items[0].body and items[0].title.endswith("被退回修改")


def test_unread_count_and_marking_read(db, plan, staff, people):
    _revision_round(db, plan, staff)
    chen = people["chen"]
    assert unread_count(db, chen) == 2
    newest = list_inbox(db, chen)[0]
    assert mark_read(db, chen, [newest.id]) == 1
    assert mark_read(db, chen, [newest.id]) == 0  # already read
    assert unread_count(db, chen) == 1
    assert [i.event for i in list_inbox(db, chen, unread_only=True)] == ["started"]
    assert mark_all_read(db, chen) == 1 and unread_count(db, chen) == 0
    assert list_inbox(db, chen)[0].read_at is not None


def test_a_user_cannot_mark_someone_elses_entries(db, plan, staff, people):
    _revision_round(db, plan, staff)
    zhang_item = list_inbox(db, people["zhang"])[0]
    assert mark_read(db, people["chen"], [zhang_item.id]) == 0
    assert list_inbox(db, people["zhang"])[0].unread


def test_paging_with_before_id(db, plan, staff, people):
    _revision_round(db, plan, staff)
    first = list_inbox(db, people["chen"], limit=1)
    rest = list_inbox(db, people["chen"], before_id=first[0].id)
    assert [i.event for i in first + rest] == ["returned", "started"]
