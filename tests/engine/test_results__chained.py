"""Scores, vetoes, computations and publication are facts in the cycle's hash chain:
each written with actor, moment and before → after, in the transaction of the rows it
changes; a refused step writes nothing."""

from __future__ import annotations

import csv

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from engine import NotPermitted, read_history, verify_history
from engine.exceptions import InvalidInput, StageClosed
from engine.models import HistoryEntry
from engine.results import (compute_results, enter_scores, import_scores, publish_results,
                            read_results, record_veto, remove_veto)

from evaluation_support import OFFICE, committee, scoring_year, walk_to

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen(db):
    with freeze_time("2027-01-10T02:00:00"):
        yield


def facts(db, iid, kind=None):
    h = HistoryEntry.__table__
    with db.read() as conn:
        rows = conn.execute(select(h).where(h.c.instance_id == iid, h.c.trigger.contains("."))
                            .order_by(h.c.seq)).all()
    return [r for r in rows if kind is None or r.trigger == kind]


def history_len(db, iid):
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(HistoryEntry)
                            .where(HistoryEntry.instance_id == iid)).scalar()


def test_entering_scores_records_before_and_after(db):
    iid = scoring_year(db)
    assert enter_scores(db, 2026, OFFICE, [("101", "K1", "80"), ("102", "K1", "85")]) == []
    assert enter_scores(db, 2026, OFFICE, [("101", "K1", "82.5")]) == []
    first, second = facts(db, iid, "score.enter")
    assert first.actor == "office" and first.role == "office"
    assert [(s["unit"], s["item"], s["before"], s["after"]) for s in first.data_patch["scores"]] \
        == [("101", "K1", None, "80"), ("102", "K1", None, "85")]
    assert [(s["unit"], s["before"], s["after"]) for s in second.data_patch["scores"]] == [
        ("101", "80", "82.5")]
    assert second.data_patch["at"] == "2027-01-10T02:00:00.000000"
    assert verify_history(db).ok


def test_a_row_error_or_a_wrong_role_writes_no_fact(db, actors):
    iid = scoring_year(db)
    before = history_len(db, iid)
    assert enter_scores(db, 2026, OFFICE, [("101", "K1", "80"), ("999", "K1", "1")]) != []
    with pytest.raises(NotPermitted):
        enter_scores(db, 2026, actors["head101"], [("101", "K1", "80")])
    with pytest.raises(NotPermitted):
        compute_results(db, 2026, actors["head101"])
    assert history_len(db, iid) == before
    assert read_results(db, 2026) == []


def test_an_import_names_its_file(db, tmp_path):
    iid = scoring_year(db)
    path = tmp_path / "满意度.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("单位编码", "指标", "得分"), ("101", "public", "90"),
                                 ("201", "public", "75")])
    assert import_scores(db, 2026, OFFICE, path) == []
    [fact] = facts(db, iid, "score.import")
    assert fact.data_patch["source"] == "满意度.csv" and fact.comment == "满意度.csv"
    assert [(s["unit"], s["after"]) for s in fact.data_patch["scores"]] == [
        ("101", "90"), ("201", "75")]


def test_vetoes_are_recorded_and_withdrawn_with_reasons(db):
    iid = scoring_year(db)
    veto = record_veto(db, 2026, OFFICE, "102", "安全生产", "发生较大安全生产事故")
    with pytest.raises(InvalidInput):
        remove_veto(db, 2026, OFFICE, veto, "  ")
    remove_veto(db, 2026, OFFICE, veto, "事故责任认定不在本单位")
    added, removed = facts(db, iid, "veto.record") + facts(db, iid, "veto.remove")
    assert added.data_patch["vetoes_added"][0] | {"veto_id": 0} == {
        "veto_id": 0, "unit_id": added.data_patch["vetoes_added"][0]["unit_id"], "unit": "102",
        "item": "安全生产", "reason": "发生较大安全生产事故"}
    assert removed.data_patch["reason"] == "事故责任认定不在本单位"
    assert removed.data_patch["vetoes_removed"][0]["veto_id"] == veto
    assert verify_history(db).ok


def test_computing_records_each_changed_result(db):
    iid = scoring_year(db)
    rows = [(c, i, v) for c, v in (("101", 80), ("102", 85), ("201", 70))
            for i in ("K1", "public", "leadership")]
    assert enter_scores(db, 2026, OFFICE, rows) == []
    compute_results(db, 2026, OFFICE, "首次计算")
    assert enter_scores(db, 2026, OFFICE, [("101", "K1", "95")]) == []
    compute_results(db, 2026, OFFICE, "重新计算")
    first, second = facts(db, iid, "results.compute")
    assert first.data_patch["reason"] == "首次计算"
    assert {r["unit"]: (r["before"], r["after"]["composite"], r["revision"])
            for r in first.data_patch["results"]} == {
        "101": (None, "80.00", 1), "102": (None, "85.00", 1), "201": (None, "70.00", 1)}
    # only the results that moved: 101 (composite) and 102 (rank)
    assert {r["unit"]: (r["before"]["rank"], r["after"]["rank"], r["revision"])
            for r in second.data_patch["results"]} == {"101": (2, 1, 2), "102": (1, 2, 2)}


def test_publication_is_the_committees_approval_and_a_fact(db):
    iid = scoring_year(db)
    rows = [(c, i, 80) for c in ("101", "102", "201") for i in ("K1", "public", "leadership")]
    assert enter_scores(db, 2026, OFFICE, rows) == []
    compute_results(db, 2026, OFFICE)
    walk_to(db, 2026, "review_approval")
    with pytest.raises(NotPermitted):  # the office no longer publishes by itself
        publish_results(db, 2026, OFFICE)
    assert publish_results(db, 2026, committee(db)) == 3
    [fact] = facts(db, iid, "results.publish")
    assert fact.actor == "committee" and fact.data_patch["trigger"] == "approve_results"
    assert len(fact.data_patch["published"]) == 3
    assert all(r["published_at"] is not None for r in read_results(db, 2026))
    entries = read_history(db, iid)
    assert [e["trigger"] for e in entries[-2:]] == ["approve_results", "results.publish"]
    assert verify_history(db).ok


def test_publication_refused_without_fresh_results_rolls_the_approval_back(db):
    iid = scoring_year(db)
    rows = [(c, i, 80) for c in ("101", "102", "201") for i in ("K1", "public", "leadership")]
    assert enter_scores(db, 2026, OFFICE, rows) == []
    walk_to(db, 2026, "review_approval")
    with pytest.raises(InvalidInput, match="101、102、201"):  # nothing computed
        publish_results(db, 2026, committee(db))
    compute_results(db, 2026, OFFICE)
    # a veto after computing makes the results stale — but review_approval is not an
    # entry stage, so send back, record, and approve without recomputing
    from engine import fire
    fire(db, iid, "send_back_results", committee(db), comment="补录否决")
    record_veto(db, 2026, OFFICE, "102", "安全生产", "事故")
    walk_to(db, 2026, "review_approval")
    before = history_len(db, iid)
    with pytest.raises(InvalidInput, match="重新计算"):
        publish_results(db, 2026, committee(db))
    assert history_len(db, iid) == before
    assert all(r["published_at"] is None for r in read_results(db, 2026))
    with pytest.raises(StageClosed):  # and it cannot be entered in 审定 either
        enter_scores(db, 2026, OFFICE, [("101", "K1", "1")])


def test_entries_racing_on_separate_connections_each_see_the_one_before(db):
    """Six offices entering the same value at once take turns on the cycle's row: every
    fact's ``before`` is the previous fact's ``after`` and the table is the last one."""
    import threading

    iid = scoring_year(db)
    barrier, failures = threading.Barrier(6), []

    def one(n: int) -> None:
        barrier.wait()
        try:
            assert enter_scores(db, 2026, OFFICE, [("101", "K1", str(60 + n))]) == []
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    chain = [f.data_patch["scores"][0] for f in facts(db, iid, "score.enter")]
    assert len(chain) == 6 and chain[0]["before"] is None
    assert all(b["before"] == a["after"] for a, b in zip(chain, chain[1:]))
    from engine.cycle_views import scope_units  # noqa: F401 - the page's read
    from engine.scoring_models import ScoreEntry
    with db.read() as conn:
        [value] = conn.execute(select(ScoreEntry.__table__.c.value)).scalars().all()
    assert value == chain[-1]["after"]
    assert verify_history(db).ok
