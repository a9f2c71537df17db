"""The auditors' paged history search: total count, pages of 100, filters, labels from
each entry's own definition, and the same two queries whatever the page."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event

from engine import available_triggers, fire, start, update_data
from engine.history_pages import PER_PAGE, search_history_page
from engine.queries import trigger_label
from workflow import load_bundled


def _plan_with_saves(db, actors, saves: int) -> int:
    staff = actors["staff101"]
    pid = start(db, "performance_plan", staff, unit_code="101").instance_id
    for n in range(saves):
        update_data(db, pid, staff, {"goals": f"目标{n}", "measures": "措施"})
    return pid


def test_pages_of_a_hundred_with_the_total(db, actors):
    pid = _plan_with_saves(db, actors, 150)
    fire(db, pid, "submit", actors["head101"])  # 1 start + 150 saves + 1 submit

    first = search_history_page(db, actor="staff101")
    second = search_history_page(db, actor="staff101", page=2)
    beyond = search_history_page(db, actor="staff101", page=99)

    assert (first.total, first.pages, len(first.entries)) == (151, 2, PER_PAGE)
    assert (first.first, first.last) == (1, 100)
    assert len(second.entries) == 51 and (second.first, second.last) == (101, 151)
    assert beyond.page == 2 and beyond.entries == second.entries  # clamped to the last
    seqs = [e["seq"] for e in first.entries + second.entries]
    assert seqs == list(range(151, 0, -1))  # newest first, none twice, none missing
    assert search_history_page(db, actor="head101").total == 1


def test_filters_and_an_empty_result(db, actors):
    _plan_with_saves(db, actors, 2)
    assert search_history_page(db, trigger="update_data").total == 2
    assert search_history_page(db, key="appeal").total == 0
    empty = search_history_page(db, unit_code="102", page=5)
    assert (empty.total, empty.pages, empty.page, empty.entries, empty.first) == (0, 1, 1, [], 0)
    assert search_history_page(db, until=date(2000, 1, 1)).total == 0


def test_entries_carry_labels_of_their_definition(db, actors):
    pid = _plan_with_saves(db, actors, 1)
    fire(db, pid, "submit", actors["head101"])

    entries = {e["trigger"]: e for e in search_history_page(db).entries}

    submit = entries["submit"]
    assert submit["process_label"].zh == "年度绩效计划"
    assert (submit["trigger_label"].zh, submit["trigger_label"].en) == ("报送", "Submit")
    assert (submit["from_label"].zh, submit["to_label"].en) == ("草拟", "Submitted")
    assert entries["start"]["from_label"] is None
    assert entries["start"]["trigger_label"].en == "Created"
    assert entries["update_data"]["trigger_label"].zh == "保存数据"


def test_the_same_queries_whatever_the_page(db, actors):
    _plan_with_saves(db, actors, 120)
    search_history_page(db)  # compile the definition version once
    counts = []
    for page in (1, 2):
        statements = []

        def _record(conn, cursor, statement, *args):  # noqa: ARG001
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", _record)
        try:
            search_history_page(db, page=page)
        finally:
            event.remove(db.engine, "before_cursor_execute", _record)
        counts.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
    assert counts[0] == counts[1] == 2


def test_actions_offer_both_languages_and_name_the_transition_in_reasons(db, actors):
    pid = start(db, "performance_plan", actors["staff101"], unit_code="101").instance_id

    for_staff = {a.trigger: a for a in available_triggers(db, pid, actors["staff101"])}
    for_head = {a.trigger: a for a in available_triggers(db, pid, actors["head101"])}

    submit = for_staff["submit"]
    assert (submit.caption.zh, submit.caption.en, submit.label) == ("报送", "Submit", "报送")
    assert submit.to_state_label.en == "Submitted"
    (why,) = submit.reason_labels
    assert "「报送」" in why.zh and "submit" not in why.zh
    assert why.en.startswith("requires one of the roles unit_head")
    (missing,) = for_head["submit"].reason_labels
    assert missing.zh.startswith("缺少必填项") and missing.en == "required: goals, measures"


def test_trigger_label_prefers_the_transition_between_the_states():
    cycle = load_bundled()["evaluation_cycle"]
    assert trigger_label(cycle, "close", "results_applied", "closed").zh == "结束本年度评估"
    assert trigger_label(cycle, "remind_now").en == "Reminder sent"
    assert trigger_label(cycle, "no_such").zh == "no_such"
    assert trigger_label(None, "attach").zh == "上传附件"
