"""``audit verify`` replays the score and result facts of each cycle and reports any
score, veto or result row that the chain does not account for — edited, added or
deleted directly in the database."""

from __future__ import annotations

from datetime import datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import delete, insert, select, update

from engine import verify_history
from engine.facts_audit import check_projections
from engine.models import Unit
from engine.results import correct_result, record_veto
from engine.scoring_models import ResultRow, ScoreEntry, Veto
from evaluation_support import OFFICE, bind_system, published_year, scoring_year, walk_to

_s, _v, _r, _u = ScoreEntry.__table__, Veto.__table__, ResultRow.__table__, Unit.__table__


@pytest.fixture
def frozen(db):
    with freeze_time("2027-01-10T02:00:00"):
        yield


pytestmark = pytest.mark.usefixtures("frozen")


def unit_id(db, code):
    with db.read() as conn:
        return conn.execute(select(_u.c.id).where(_u.c.code == code)).scalar()


def reasons(db):
    with db.read() as conn:
        return [reason for _, _, reason in check_projections(conn)]


def test_an_untouched_year_with_a_correction_verifies(db):
    published_year(db)
    correct_result(db, 2026, OFFICE, "101", "K1", "95", "复核")
    assert reasons(db) == [] and verify_history(db).ok


def test_a_score_edited_by_sql_is_reported(db):
    iid = published_year(db)
    with db.write() as conn:
        conn.execute(update(_s).where(_s.c.unit_id == unit_id(db, "101"), _s.c.item == "K1")
                     .values(value="99"))
    report = verify_history(db)
    assert not report.ok
    [found] = [p for p in report.problems if "表中为 99" in p.reason]
    assert found.instance_id == iid and found.seq > 0  # the fact that entered it


def test_a_result_edited_added_or_unpublished_by_sql_is_reported(db):
    published_year(db)
    with db.write() as conn:
        conn.execute(update(_r).where(_r.c.unit_id == unit_id(db, "201"))
                     .values(composite="99.00", grade="优秀"))
        conn.execute(update(_r).where(_r.c.unit_id == unit_id(db, "102"))
                     .values(published_at=datetime(2027, 1, 1)))
    found = reasons(db)
    assert any(f"result unit {unit_id(db, '201')}" in r and "composite" in r for r in found)
    assert any(f"result unit {unit_id(db, '102')}" in r and "published_at" in r for r in found)
    assert not verify_history(db).ok


def test_a_score_row_inserted_or_deleted_by_sql_is_reported(db):
    published_year(db)
    with db.read() as conn:
        cycle_id = conn.execute(select(_s.c.cycle_id)).scalars().first()
    with db.write() as conn:
        conn.execute(insert(_s).values(cycle_id=cycle_id, unit_id=unit_id(db, "201"),
                                       item="K9", value="100", entered_by="office",
                                       entered_at=datetime(2027, 1, 10)))
        conn.execute(delete(_s).where(_s.c.unit_id == unit_id(db, "102"),
                                      _s.c.item == "public"))
    found = reasons(db)
    assert any("K9" in r and "not recorded in the chain" in r for r in found)
    assert any("public" in r and "missing from the table" in r for r in found)


def test_a_veto_deleted_or_added_by_sql_is_reported(db):
    scoring_year(db)
    record_veto(db, 2026, OFFICE, "102", "安全生产", "事故")
    assert reasons(db) == []
    with db.read() as conn:
        cycle_id, vid = conn.execute(select(_v.c.cycle_id, _v.c.id)).first()
    with db.write() as conn:
        conn.execute(insert(_v).values(cycle_id=cycle_id, unit_id=unit_id(db, "101"),
                                       item="信访", reason="x", entered_by="office",
                                       entered_at=datetime(2027, 1, 10)))
        conn.execute(delete(_v).where(_v.c.id == vid))
    found = reasons(db)
    assert any(f"veto #{vid}" in r and "missing from the table" in r for r in found)
    assert any("信访" in r and "not recorded in the chain" in r for r in found)


def test_each_cycle_is_replayed_on_its_own(db):
    published_year(db, 2026)
    from engine.cycles import open_cycle
    open_cycle(db, 2027, OFFICE)
    bind_system(db, 2027, "县直单位")
    walk_to(db, 2027, "verification")
    from engine.results import enter_scores
    assert enter_scores(db, 2027, OFFICE, [("101", "K2", "60")]) == []
    assert reasons(db) == []
    with db.write() as conn:  # move 2027's entry to 2026: neither chain accounts for it
        cycle_2026 = conn.execute(select(_r.c.cycle_id)).scalars().first()
        conn.execute(update(_s).where(_s.c.value == "60").values(cycle_id=cycle_2026))
    found = reasons(db)
    assert any("missing from the table" in r for r in found)
    assert any("K2 = 60" in r and "not recorded in the chain" in r for r in found)


def test_a_result_change_edited_or_deleted_by_sql_is_reported(db):
    from engine.scoring_models import ResultChange
    _rc = ResultChange.__table__
    published_year(db)
    correct_result(db, 2026, OFFICE, "101", "K1", "95", "复核")
    assert reasons(db) == []
    with db.read() as conn:
        first, second = conn.execute(select(_rc.c.id, _rc.c.new).order_by(_rc.c.id)).all()
    with db.write() as conn:  # rewrite what the correction did to 101, drop 102's change
        conn.execute(update(_rc).where(_rc.c.id == first.id)
                     .values(new={**first.new, "composite": "99.00"}))
        conn.execute(delete(_rc).where(_rc.c.id == second.id))
    found = reasons(db)
    assert any("result change" in r and "differs" in r for r in found)
    assert any("result change" in r and "missing from the table" in r for r in found)
