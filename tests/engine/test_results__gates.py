"""The cycle gates the evaluation: scores only in the scoring stages, computation only
in scoring / 审定, publication only by approving the results, appeals only against
published results in 公示 / 申诉复核; after publication only an appeal decision or an
explicit correction changes a result — recorded, re-published and notified."""

from __future__ import annotations

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from engine import NotPermitted, verify_history
from engine.appeals import file_appeal
from engine.cycles import open_cycle
from engine.evaluation_steps import allowed_steps, fact_history
from engine.exceptions import InvalidInput, StageClosed
from engine.models import HistoryEntry, OutboxMessage
from engine.results import (compute_results, correct_result, enter_scores, publish_results,
                            read_results, record_veto, remove_veto)
from evaluation_support import (OFFICE, bind_system, committee, published_year, scoring_year,
                                walk_to)


@pytest.fixture
def frozen(db):
    with freeze_time("2027-01-10T02:00:00"):
        yield


pytestmark = pytest.mark.usefixtures("frozen")


def entries(db, iid):
    h = HistoryEntry.__table__
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(h)
                            .where(h.c.instance_id == iid)).scalar()


def results(db):
    return {r["code"]: (r["composite"], r["grade"], r["rank"], r["revision"])
            for r in read_results(db, 2026)}


def test_scores_and_vetoes_only_in_the_scoring_stages(db):
    open_cycle(db, 2026, OFFICE)
    bind_system(db, 2026, "县直单位")
    walk_to(db, 2026, "self_assessment")  # 年度自评: the case
    with pytest.raises(StageClosed) as refused:
        enter_scores(db, 2026, OFFICE, [("101", "K1", "80")])
    assert refused.value.context["stage"] == "self_assessment"
    assert refused.value.context["needed_stages"] == ["verification", "scoring"]
    assert "指标考核与评议" in str(refused.value) and refused.value.http_status == 409
    assert refused.value.exit_code == 5
    with pytest.raises(StageClosed):
        record_veto(db, 2026, OFFICE, "101", "安全生产", "事故")
    walk_to(db, 2026, "verification")
    assert enter_scores(db, 2026, OFFICE, [("101", "K1", "80")]) == []
    with pytest.raises(StageClosed) as refused:  # computing waits for 综合计分
        compute_results(db, 2026, OFFICE)
    assert refused.value.context["needed_stages"] == ["scoring", "review_approval"]


def test_publishing_only_by_approving_in_review(db):
    scoring_year(db)
    rows = [(c, i, 80) for c in ("101", "102", "201") for i in ("K1", "public", "leadership")]
    assert enter_scores(db, 2026, OFFICE, rows) == []
    compute_results(db, 2026, OFFICE)
    from engine.exceptions import InvalidTransition
    with pytest.raises(InvalidTransition):  # still in 综合计分: no approve_results
        publish_results(db, 2026, committee(db))
    assert all(r["published_at"] is None for r in read_results(db, 2026))
    steps = allowed_steps(db, 2026)
    assert steps.stage == "scoring" and not steps.allows("publish")
    assert steps.allows("enter_scores") and steps.allows("compute_results")
    walk_to(db, 2026, "review_approval")
    steps = allowed_steps(db, 2026)
    assert steps.allows("publish") and steps.allows("compute_results")
    assert not steps.allows("enter_scores")


def test_appeals_only_against_published_results_in_their_stages(db, actors):
    scoring_year(db)
    with pytest.raises(StageClosed):
        file_appeal(db, 2026, actors["head101"], "不服")
    rows = [(c, i, 80) for c in ("101", "102", "201") for i in ("K1", "public", "leadership")]
    assert enter_scores(db, 2026, OFFICE, rows) == []
    compute_results(db, 2026, OFFICE)
    walk_to(db, 2026, "review_approval")
    with pytest.raises(StageClosed) as refused:
        file_appeal(db, 2026, actors["head101"], "不服")
    assert refused.value.context["needed_stages"] == ["publicity", "appeals"]
    walk_to(db, 2026, "publicity")
    assert file_appeal(db, 2026, actors["head101"], "不服").to_state
    assert allowed_steps(db, 2026).allows("file_appeal")
    walk_to(db, 2026, "appeals")


def test_a_closed_year_refuses_entry_recompute_and_republish(db, actors):
    iid = published_year(db)
    walk_to(db, 2026, "closed")
    before, count = results(db), entries(db, iid)
    with pytest.raises(StageClosed, match="已公布,只能通过申诉复核或更正"):
        enter_scores(db, 2026, OFFICE, [("101", "K1", "10")])
    with pytest.raises(StageClosed, match="已公布"):
        compute_results(db, 2026, OFFICE)
    with pytest.raises(StageClosed):
        record_veto(db, 2026, OFFICE, "101", "安全生产", "事故")
    with pytest.raises(StageClosed):
        remove_veto(db, 2026, OFFICE, 1, "误记")
    from engine.exceptions import InvalidTransition
    with pytest.raises(InvalidTransition):
        publish_results(db, 2026, committee(db))
    with pytest.raises(StageClosed):
        file_appeal(db, 2026, actors["head101"], "不服")
    assert results(db) == before and entries(db, iid) == count
    assert verify_history(db).ok


def test_a_correction_is_recorded_republished_and_notified(db, actors):
    iid = published_year(db)
    walk_to(db, 2026, "closed")
    with pytest.raises(NotPermitted):
        correct_result(db, 2026, actors["head101"], "101", "K1", "95", "更正")
    with pytest.raises(InvalidInput):
        correct_result(db, 2026, OFFICE, "101", "K1", "95", "  ")
    with pytest.raises(InvalidInput):
        correct_result(db, 2026, OFFICE, "101", "K9", "95", "没有这个指标")
    with pytest.raises(InvalidInput, match="无需更正"):
        correct_result(db, 2026, OFFICE, "101", "K1", "80.0", "同值")
    assert results(db)["101"] == ("80.00", "良好", 2, 1)
    with freeze_time("2027-02-01T03:00:00"):
        changes = correct_result(db, 2026, committee(db), "101", "K1", "95",
                                 "督查室复核重点工作得分")
    # 101: 0.8 × 95 + 8 + 8 = 92.00 overtakes 102 (85.00)
    assert results(db)["101"] == ("92.00", "良好", 1, 2)
    assert results(db)["102"][2:] == (2, 2)
    assert {c["unit_id"] for c in changes} == {actors["head101"].unit_id,
                                               actors["head102"].unit_id}
    published = {r["code"]: r["published_at"] for r in read_results(db, 2026)}
    assert published["101"].isoformat().startswith("2027-02-01T03:00")  # re-published
    assert not published["201"].isoformat().startswith("2027-02-01")  # unchanged
    [fact] = [f for f in fact_history(db, 2026) if f["kind"] == "results.correct"]
    assert fact["actor"] == "committee" and fact["reason"] == "督查室复核重点工作得分"
    assert "101 K1: 80 → 95" in fact["lines"]
    assert any(line.startswith("101 综合得分 80.00 → 92.00") for line in fact["lines"])
    o = OutboxMessage.__table__
    with db.read() as conn:
        notes = conn.execute(select(o).where(o.c.kind == "result_corrected")
                             .order_by(o.c.id)).all()
    assert [n.recipients for n in notes] == [
        {"roles": ["unit_head", "unit_staff"], "unit_id": actors["head101"].unit_id},
        {"roles": ["unit_head", "unit_staff"], "unit_id": actors["head102"].unit_id}]
    assert "80 → 95" in notes[0].payload["comment"]
    assert "排名 rank 1 → 2" in notes[1].payload["comment"]
    assert verify_history(db).ok
    assert entries(db, iid) > 0
    from notifications import dispatch, list_inbox
    dispatch(db, channels={})
    [item] = [i for i in list_inbox(db, actors["head101"].user_id, limit=500)
              if "更正" in i.title]
    assert "评估结果已更正" in item.title and "80 → 95" in item.body
    [other] = [i for i in list_inbox(db, actors["head102"].user_id, limit=500)
               if "更正" in i.title]  # 102's rank moved with it
    assert "排名 rank 1 → 2" in other.body


def test_a_correction_before_publication_is_refused(db):
    scoring_year(db)
    with pytest.raises(StageClosed) as refused:
        correct_result(db, 2026, OFFICE, "101", "K1", "95", "更正")
    assert refused.value.context["gate"] == "correct_results"


def test_a_system_bound_after_computing_must_be_recomputed_before_publication(db):
    iid = scoring_year(db)
    rows = [(c, i, 80) for c in ("101", "102", "201") for i in ("K1", "public", "leadership")]
    assert enter_scores(db, 2026, OFFICE, rows) == []
    compute_results(db, 2026, OFFICE)
    walk_to(db, 2026, "review_approval")
    # an adjustment of this year's system re-binds it after the computation
    bind_system(db, 2026, "县直单位", [{"code": "K1", "name": "重点工作", "weight": 100,
                                        "method": "attainment", "target": 160}])
    before = entries(db, iid)
    with pytest.raises(InvalidInput, match="指标体系"):
        publish_results(db, 2026, committee(db))
    assert entries(db, iid) == before
    assert all(r["published_at"] is None for r in read_results(db, 2026))
    compute_results(db, 2026, OFFICE)
    publish_results(db, 2026, committee(db))
    published = {r["code"]: r for r in read_results(db, 2026)}
    assert published["101"]["indicator"] == "50.00"  # 80 of a target of 160
    assert published["101"]["published_at"] is not None
