"""An appeal adjustment is one transaction: refused, it changes neither the appeal nor
the scores nor the results; accepted, it re-ranks and records old and new values."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from engine import (Actor, InvalidTransition, NotPermitted, fire, get_instance, read_history,
                    start, verify_history)
from engine.appeals import file_appeal
from engine.cycles import open_cycle
from evaluation_support import walk_to
from engine.results import adjust_for_appeal, compute_results, enter_scores, read_results

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
ROWS = [{"code": "K1", "name": "重点工作", "weight": 100, "method": "direct", "verifier": "督查室"}]


@pytest.fixture
def published(db, actors):
    with freeze_time("2027-03-01T02:00:00"):
        open_cycle(db, 2026, OFFICE)
        iid = start(db, "indicator_system", OFFICE,
                    data={"year": 2026, "category": "县直单位", "indicators": ROWS}).instance_id
        for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                             ("approve", COMMITTEE), ("put_in_force", OFFICE)):
            fire(db, iid, trigger, who)
        iid = start(db, "indicator_system", OFFICE,
                    data={"year": 2026, "category": "乡镇场", "indicators": ROWS}).instance_id
        for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                             ("approve", COMMITTEE), ("put_in_force", OFFICE)):
            fire(db, iid, trigger, who)
        rows = [(c, item, v) for c, v in (("101", 80), ("102", 85), ("201", 70))
                for item in ("K1", "public", "leadership")]
        walk_to(db, 2026, "scoring")  # scores are entered in 综合计分
        assert enter_scores(db, 2026, OFFICE, rows) == []
        compute_results(db, 2026, OFFICE)
        walk_to(db, 2026, "publicity")  # the committee's approval publishes them
        appeal = file_appeal(db, 2026, actors["head101"], "重点工作得分有误").instance_id
    return appeal


def ranks(db):
    return {r["code"]: (r["composite"], r["rank"], r["revision"]) for r in read_results(db, 2026)}


def test_a_refused_adjustment_changes_nothing(db, actors, published):
    before = ranks(db)
    with pytest.raises(InvalidTransition):  # not yet admitted and under review
        adjust_for_appeal(db, published, OFFICE, "K1", "95", "更正")
    fire(db, published, "admit", OFFICE)
    fire(db, published, "start_review", OFFICE)
    with pytest.raises(NotPermitted):
        adjust_for_appeal(db, published, actors["head101"], "K1", "95", "更正")
    assert ranks(db) == before
    assert get_instance(db, published).state == "under_review"


def test_an_adjustment_re_ranks_and_records_old_and_new(db, actors, published):
    fire(db, published, "admit", OFFICE)
    fire(db, published, "start_review", OFFICE)
    changes = adjust_for_appeal(db, published, OFFICE, "K1", "95", "重点工作得分更正为 95")
    after = ranks(db)
    # 101: 0.8 × 95 + 8 + 8 = 92.00 overtakes 102 (85.00)
    assert after["101"] == ("92.00", 1, 2) and after["102"] == ("85.00", 2, 2)
    assert {(c["old"]["rank"], c["new"]["rank"]) for c in changes} == {(2, 1), (1, 2)}
    view = get_instance(db, published)
    assert view.state == "adjusted"
    assert view.data["old_result"] == "综合得分 80.00,等次 良好,排名 2"
    # 92 reaches 优秀, but the quota of two 县直单位 is floor(2 × 20%) = 0
    assert view.data["new_result"] == "综合得分 92.00,等次 良好,排名 1"


def test_an_adjustment_is_a_fact_in_the_cycles_chain(db, actors, published):
    fire(db, published, "admit", OFFICE)
    fire(db, published, "start_review", OFFICE)
    with freeze_time("2027-03-05T02:00:00"):
        adjust_for_appeal(db, published, OFFICE, "K1", "95", "重点工作得分更正为 95")
    cycle = get_instance(db, published).parent_id
    [fact] = [e for e in read_history(db, cycle) if e["trigger"] == "results.adjust"]
    patch = fact["data_patch"]
    assert (patch["appeal_id"], patch["decision"]) == (published, "重点工作得分更正为 95")
    assert [(s["unit"], s["item"], s["before"], s["after"]) for s in patch["scores"]] == [
        ("101", "K1", "80", "95")]
    assert {r["unit"]: (r["before"]["rank"], r["after"]["rank"]) for r in patch["results"]} == {
        "101": (2, 1), "102": (1, 2)}
    assert len(patch["published"]) == 2  # both moved results re-published
    assert verify_history(db).ok
