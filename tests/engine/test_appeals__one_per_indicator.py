"""One appeal per indicator: a unit's second appeal on the same item of the same cycle
is refused (Conflict, naming the indicator) while the first exists in any state but
withdrawn; other items, other units and a withdrawn first appeal are not blocked; and
filings racing on several connections let exactly one through."""

from __future__ import annotations

import threading

import pytest
from freezegun import freeze_time

from engine import Actor, Conflict, InvalidInput, fire, list_instances, verify_history
from engine import start
from engine.appeals import file_appeal
from engine.cycles import open_cycle
from evaluation_support import walk_to
from engine.results import compute_results, enter_scores

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
ROWS = [{"code": "K1", "name": "重点工作", "weight": 60, "method": "direct", "verifier": "督查室"},
        {"code": "K2", "name": "自身建设", "weight": 40, "method": "direct", "verifier": "工委"}]
NOW = "2027-03-02T02:00:00"  # 10:00 local, inside the 5-working-day window


@pytest.fixture
def published(db):
    with freeze_time("2027-03-01T02:00:00"):
        open_cycle(db, 2026, OFFICE)
        for category in ("县直单位", "乡镇场"):
            iid = start(db, "indicator_system", OFFICE,
                        data={"year": 2026, "category": category, "indicators": ROWS}).instance_id
            for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                                 ("approve", COMMITTEE), ("put_in_force", OFFICE)):
                fire(db, iid, trigger, who)
        rows = [(c, item, v) for c, v in (("101", 80), ("102", 85), ("201", 70))
                for item in ("K1", "K2", "public", "leadership")]
        walk_to(db, 2026, "scoring")  # scores are entered in 综合计分
        assert enter_scores(db, 2026, OFFICE, rows) == []
        compute_results(db, 2026, OFFICE)
        walk_to(db, 2026, "publicity")  # the committee's approval publishes them


def appeals(db):
    return list_instances(db, key="appeal", limit=100)


def test_a_second_appeal_on_the_same_indicator_is_refused_naming_it(db, actors, published):
    with freeze_time(NOW):
        first = file_appeal(db, 2026, actors["head101"], "重点工作得分有误", item="K1")
        with pytest.raises(Conflict) as refused:
            file_appeal(db, 2026, actors["head101"], "再次申诉", item="K1")
    assert "K1 重点工作" in refused.value.message and f"#{first.instance_id}" in refused.value.message
    assert "只能申诉一次" in refused.value.message
    assert [(a.id, a.data["item"]) for a in appeals(db)] == [(first.instance_id, "K1")]


def test_other_items_and_other_units_are_not_blocked(db, actors, published):
    with freeze_time(NOW):
        file_appeal(db, 2026, actors["head101"], "重点工作", item="K1")
        file_appeal(db, 2026, actors["head101"], "自身建设", item="K2")
        file_appeal(db, 2026, actors["head101"], "公众评议样本不足", item="public")
        file_appeal(db, 2026, actors["head102"], "重点工作", item="K1")
        file_appeal(db, 2026, actors["head102"], "综合结果")  # the whole result
        with pytest.raises(Conflict) as refused:
            file_appeal(db, 2026, actors["head102"], "综合结果")
    assert "综合结果" in refused.value.message
    assert len(appeals(db)) == 5


@pytest.mark.parametrize("path, blocks", [
    ((), True),                                                  # filed
    ((("reject", {"comment": "无新理由"}),), True),                # rejected: decided
    ((("admit", {}), ("start_review", {})), True),               # under review
    ((("withdraw", {}),), False),                                # withdrawn: free again
])
def test_every_state_but_withdrawn_holds_the_indicator(db, actors, published, path, blocks):
    with freeze_time(NOW):
        first = file_appeal(db, 2026, actors["head101"], "重点工作", item="K1").instance_id
        for trigger, kwargs in path:
            who = actors["head101"] if trigger == "withdraw" else OFFICE
            fire(db, first, trigger, who, **kwargs)
        if blocks:
            with pytest.raises(Conflict):
                file_appeal(db, 2026, actors["head101"], "再次", item="K1")
        else:
            again = file_appeal(db, 2026, actors["head101"], "再次", item="K1")
            assert again.to_state == "filed"


def test_an_unknown_indicator_is_refused(db, actors, published):
    with freeze_time(NOW), pytest.raises(InvalidInput) as refused:
        file_appeal(db, 2026, actors["head101"], "x", item="K9")
    assert "K9" in refused.value.message and "K1" in refused.value.message
    assert appeals(db) == []


def test_filings_racing_on_separate_connections_let_exactly_one_through(db, actors,
                                                                        published):
    head = actors["head101"]
    barrier, results, lock = threading.Barrier(6), [], threading.Lock()

    def one(n: int) -> None:
        barrier.wait()
        try:
            filed = file_appeal(db, 2026, head, f"并发申诉 {n}", item="K2").instance_id
            outcome = ("filed", filed)
        except Conflict as exc:
            outcome = ("refused", exc.message)
        with lock:
            results.append(outcome)

    with freeze_time(NOW):
        threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(kind for kind, _ in results) == ["filed"] + ["refused"] * 5, results
    assert len([a for a in appeals(db) if a.data["item"] == "K2"]) == 1
    assert verify_history(db).ok


def test_a_unit_cannot_bypass_filing_with_a_plain_start(db, actors, published):
    """A plain start would let the unit set filed_in_time itself and skip the
    one-per-indicator check: it is refused, nothing is created, and filing works."""
    with freeze_time("2027-04-30T02:00:00"):  # long after the window
        with pytest.raises(InvalidInput) as refused:
            start(db, "appeal", actors["head101"], unit_code="101",
                  data={"grounds": "x", "item": "K1", "filed_in_time": "yes"})
        assert "perfeval appeals file" in refused.value.message
        with pytest.raises(InvalidInput):  # nor the office's (no stage, window, one per item)
            start(db, "appeal", OFFICE, unit_code="101", data={"grounds": "x"})
        assert appeals(db) == []
        late = file_appeal(db, 2026, actors["head101"], "重点工作", item="K1")
    [appeal] = appeals(db)
    assert appeal.id == late.instance_id and appeal.data["filed_in_time"] == "no"
