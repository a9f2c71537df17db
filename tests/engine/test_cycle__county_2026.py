"""The whole 2026 evaluation year of the 158-unit sample county, through the engine's
public API under frozen time: indicator systems filed, plans approved (some after
revision), half-year and annual self-assessments opened and marked overdue by the
timer sweep (some late, flagged), verification, appraisal
and leadership scores, composite, grades and rankings equal to an independent exact
oracle and to hand-computed rows, three appeals (rejected as late, upheld, adjusted
with re-ranking), rectification for the lowest grade, and every history chain verifies.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from collections import Counter
from decimal import Decimal as D
from fractions import Fraction

import pytest
from freezegun import freeze_time
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from engine import (Actor, Database, GuardFailed, InvalidTransition, fire, init,
                    list_instances, read_history)
from engine import start, verify_history
from engine.appeals import file_appeal, issue_rectifications
from engine.cycles import advance, open_cycle
from engine.models import Timer, Unit
from engine.people import load_sample
from engine.results import (adjust_for_appeal, compute_results, enter_scores, read_results,
                            record_veto)
from engine.scoring_models import ResultChange
from engine.timers import sweep

from conftest import PG_ADMIN_URL

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
SYSTEM = Actor.system()
CATEGORIES = ("乡镇场", "县直单位", "驻县单位")
SYSTEM_ROWS = [
    {"code": "K1", "name": "县委县政府重点工作", "weight": 50, "method": "direct", "verifier": "县委督查室"},
    {"code": "K2", "name": "重点财源建设", "weight": 30, "method": "attainment", "target": 100,
     "verifier": "县财政局"},
    {"code": "K3", "name": "自身建设", "weight": 20, "method": "direct", "verifier": "县直机关工委"},
]
VETO_ROW = {"code": "V1", "name": "安全生产一票否决", "weight": 0, "method": "direct",
            "verifier": "县安监局", "veto": "yes"}
REVISED = {"D003", "D010", "D020", "D030", "D040", "T002", "T004", "S001", "S002", "S010"}
LATE_H1, CLOSED_H1 = {"D050", "D051", "T010"}, {"S020", "D090"}
LATE_ANNUAL, CLOSED_ANNUAL = {"D060", "D061", "T011", "S003"}, {"D100"}
VETOED = "S005"


def at(moment: str):
    return freeze_time(moment + "T02:00:00")  # 10:00 in Asia/Shanghai


@pytest.fixture(params=["sqlite", "postgresql"])
def county(request, tmp_path):
    """An empty database with the schema, the bundled definitions and the county."""
    if request.param == "sqlite":
        url, admin, name = f"sqlite:///{tmp_path / 'county.db'}", None, None
    else:
        request.getfixturevalue("pg_template")  # skips (or fails) without a server
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"perfeval_county_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    init(db)
    load_sample(db, "county")
    yield db
    db.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def units_of(db):
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(Unit.id, Unit.code, Unit.name, Unit.category).order_by(Unit.code))]


def head(unit):
    return Actor(None, f"head_{unit['code']}", unit["id"], frozenset({"unit_head"}))


def walk(db, instance_id, *steps):
    for trigger, actor, kwargs in steps:
        fire(db, instance_id, trigger, actor, **kwargs)


def children(db, key):
    return {v.subject_unit_id: v for v in list_instances(db, key=key, limit=10_000)}


def scores_for(k):
    public = D(60 + (k * 11) % 40) + (D("0.5") if k % 3 == 0 else 0)
    return {"K1": D(55 + (k * 37) % 45), "K2": D(60 + (k * 13) % 50), "K3": D(50 + (k * 7) % 50),
            "public": public, "leadership": D(60 + (k * 17) % 40)}


# --- an independent oracle: exact fractions, the rules as written in docs/process.md ---

def half_up(value: Fraction) -> D:
    cents = (value * 100 + Fraction(1, 2)).__floor__()
    return D(cents) / 100


def oracle(units):
    rows = []
    for k, u in enumerate(units):
        s = {key: Fraction(str(v)) for key, v in scores_for(k).items()}
        ind = half_up((50 * s["K1"] + 30 * min(s["K2"] / 100, 1) * 100 + 20 * s["K3"]) / 100)
        comp = half_up((80 * Fraction(str(ind)) + 10 * s["public"] + 10 * s["leadership"]) / 100)
        grade = next(g for g, low in (("优秀", 90), ("良好", 80), ("合格", 60), ("不合格", 0))
                     if comp >= low)
        vetoed = u["code"] == VETOED
        rows.append({"code": u["code"], "category": u["category"], "composite": comp,
                     "grade": "不合格" if vetoed else grade, "vetoed": vetoed})
    for category in CATEGORIES:
        ranked = sorted((r for r in rows if r["category"] == category and not r["vetoed"]),
                        key=lambda r: (-r["composite"], r["code"]))
        size = sum(1 for r in rows if r["category"] == category)
        for r in ranked:
            r["rank"] = 1 + sum(1 for o in ranked if o["composite"] > r["composite"])
        excellent = [r for r in ranked if r["grade"] == "优秀"]
        for r in excellent:
            if sum(1 for o in excellent if o["rank"] <= r["rank"]) > size * 20 // 100:
                r["grade"] = "良好"
    for r in rows:
        r.setdefault("rank", None)
    return {r["code"]: r for r in rows}


def run_year(db):
    units = units_of(db)
    assert len(units) == 158
    by_id = {u["id"]: u for u in units}
    with at("2025-12-20"):
        for category in CATEGORIES:
            rows = SYSTEM_ROWS + ([VETO_ROW] if category == "驻县单位" else [])
            system = start(db, "indicator_system", OFFICE,
                           data={"year": 2026, "category": category,
                                 "indicators": rows}).instance_id
            walk(db, system, ("submit", OFFICE, {}), ("start_review", COMMITTEE, {}))
            if category == "乡镇场":
                walk(db, system, ("send_back", COMMITTEE, {"comment": "补充计分方法说明"}),
                     ("submit", OFFICE, {}), ("start_review", COMMITTEE, {}))
            walk(db, system, ("approve", COMMITTEE, {}), ("put_in_force", OFFICE, {}))
    with at("2025-12-22"):  # opened in the December before, as counties do
        cycle = open_cycle(db, 2026, OFFICE)
        assert cycle.units == 158 and cycle.children == 4 * 158
        fire(db, cycle.instance_id, "issue_work_plan", COMMITTEE)
        plan = next(iter(children(db, "performance_plan").values()))
        with db.read() as conn:
            due = conn.execute(select(Timer.due_at).where(Timer.instance_id == plan.id,
                                                          Timer.kind == "due")).scalar_one()
        assert due == datetime(2026, 3, 31, 16, 0)  # end of 31 March 2026, Shanghai
    with at("2026-03-02"):
        for unit_id, plan in children(db, "performance_plan").items():
            u = by_id[unit_id]
            walk(db, plan.id, ("submit", head(u), {"data": {"goals": "目标", "measures": "措施"}}),
                 ("start_review", OFFICE, {}))
            if u["code"] in REVISED:
                walk(db, plan.id, ("request_revision", OFFICE, {"comment": "目标须量化"}),
                     ("submit", head(u), {"data": {"goals": "量化目标"}}),
                     ("start_review", OFFICE, {}))
            fire(db, plan.id, "approve", OFFICE)
    assert_advanced_by_system(db, cycle.instance_id, "start_monitoring", "monitoring")
    self_assessment(db, cycle, by_id, "half_year_self_assessment", "open_midyear",
                    "close_midyear", ("2026-07-15", "2026-07-25", "2026-08-01", "2026-08-05"),
                    LATE_H1, CLOSED_H1)
    with at("2026-11-10"):
        fire(db, cycle.instance_id, "prepare_year_end", OFFICE)
    self_assessment(db, cycle, by_id, "annual_self_assessment", "open_self_assessment",
                    "close_self_assessment",
                    ("2026-12-01", "2026-12-08", "2026-12-11", "2026-12-15"),
                    LATE_ANNUAL, CLOSED_ANNUAL)
    with at("2027-01-10"):
        evaluations = children(db, "unit_evaluation")
        for ev in evaluations.values():
            fire(db, ev.id, "start_verification", SYSTEM)
        rows = [(u["code"], item, value) for k, u in enumerate(units)
                for item, value in scores_for(k).items()]
        assert enter_scores(db, 2026, OFFICE, rows) == []
        record_veto(db, 2026, OFFICE, VETOED, "安全生产", "发生较大安全生产事故")
        for ev in evaluations.values():
            fire(db, ev.id, "confirm_scores", OFFICE)
        assert_advanced_by_system(db, cycle.instance_id, "start_scoring", "scoring")
    with at("2027-02-20"):
        compute_results(db, 2026, OFFICE)
        fire(db, cycle.instance_id, "submit_results", OFFICE)
    with at("2027-03-01"):  # the committee's approval publishes the results
        fire(db, cycle.instance_id, "approve_results", COMMITTEE)
        for ev in evaluations.values():
            walk(db, ev.id, ("record_result", SYSTEM, {}), ("notify_result", SYSTEM, {}))
        fire(db, cycle.instance_id, "open_appeals", OFFICE)
    return cycle, units


def assert_advanced_by_system(db, parent, trigger, state=None):
    """The last child's move advanced the parent in the same transaction, as system."""
    last = read_history(db, parent)[-1]
    assert (last["trigger"], last["actor"], last["role"]) == (trigger, "system", "system")
    assert state is None or last["to_state"] == state


def self_assessment(db, cycle, by_id, key, opening, closing, days, late, closed):
    """A self-assessment round driven by the timer sweep: on the opening day the cycle's
    dated deadline opens it and every unit's report; the day after the due date the
    reports not submitted are marked overdue (late flag) by their own deadlines."""
    opened, submitted, marked, late_day = days
    with at(opened):
        swept = sweep(db)
        assert swept.count(f"fired:{opening}") == 1 and swept.count("failed") == 0
        assert read_history(db, cycle.instance_id)[-1]["actor"] == "system"
        reports = children(db, key)
        assert len(reports) == 158 and {r.state for r in reports.values()} == {"open"}
    with at(submitted):
        for unit_id, report in reports.items():
            u = by_id[unit_id]
            if u["code"] in late | closed:
                continue
            walk(db, report.id, ("submit", head(u), {"data": {"report": "自评报告"}}),
                 ("start_review", OFFICE, {}), ("accept", OFFICE, {}))
        with pytest.raises(GuardFailed):  # the late ones are still open
            advance(db, cycle.instance_id, closing, SYSTEM)
    with at(marked):
        swept = sweep(db)
        assert swept.count("fired:mark_overdue") == len(late | closed)
        now = children(db, key)
        for unit_id, report in now.items():
            if by_id[unit_id]["code"] in late | closed:
                assert (report.state, report.data["late"]) == ("overdue", "yes")
            else:
                assert report.state == "accepted" and "late" not in report.data
    with at(late_day):
        for unit_id, report in reports.items():
            u = by_id[unit_id]
            if u["code"] in late:
                walk(db, report.id, ("submit_late", head(u), {"data": {"report": "补报"}}),
                     ("start_review", OFFICE, {}), ("accept", OFFICE, {}))
            elif u["code"] in closed:
                fire(db, report.id, "close_overdue", OFFICE, comment="逾期未报,按规定扣分")
        assert_advanced_by_system(db, cycle.instance_id, closing)


def test_the_2026_county_year(county):
    db = county
    cycle, units = run_year(db)
    by_code = {u["code"]: u for u in units}

    # composite, grades and ranks: every unit equals the independent oracle
    expected = oracle(units)
    results = {r["code"]: r for r in read_results(db, 2026)}
    assert len(results) == 158
    for code, want in expected.items():
        got = results[code]
        assert (D(got["composite"]), got["grade"], got["rank"], got["vetoed"]) == (
            want["composite"], want["grade"], want["rank"], want["vetoed"]), code
    # hand-computed: D001 is unit 0: K1 55, K2 60, K3 50 → (2750 + 1800 + 1000) / 100 = 55.50;
    # 0.8 × 55.50 + 0.1 × 60.5 + 0.1 × 60 = 44.40 + 6.05 + 6.00 = 56.45 → 不合格
    assert (results["D001"]["indicator"], results["D001"]["composite"],
            results["D001"]["grade"]) == ("55.50", "56.45", "不合格")
    # D002 is unit 1: K1 92, K2 73, K3 57 → (4600 + 2190 + 1140) / 100 = 79.30;
    # 63.44 + 7.1 + 7.7 = 78.24 → 合格
    assert (results["D002"]["indicator"], results["D002"]["composite"],
            results["D002"]["grade"]) == ("79.30", "78.24", "合格")
    assert results[VETOED]["rank"] is None and results[VETOED]["grade"] == "不合格"
    grades = Counter((r["category"], r["grade"]) for r in results.values())
    assert grades[("县直单位", "优秀")] <= 104 * 20 // 100

    # three appeals: one late (rejected), one upheld, one adjusted with re-ranking
    in_force = [r for r in read_results(db, 2026) if r["category"] == "县直单位" and r["rank"]]
    upheld_code, adjusted_code = in_force[10]["code"], in_force[-3]["code"]
    late_code = in_force[20]["code"]
    with at("2027-03-03"):
        upheld = file_appeal(db, 2026, head(by_code[upheld_code]), "公众评议样本不足").instance_id
        adjusted = file_appeal(db, 2026, head(by_code[adjusted_code]),
                               "领导评价录入有误").instance_id
    with at("2027-03-15"):
        late = file_appeal(db, 2026, head(by_code[late_code]), "不服").instance_id
        with pytest.raises(GuardFailed):
            fire(db, late, "admit", OFFICE)
        fire(db, late, "reject", OFFICE, comment="超过申诉期限 (filed after the window)")
        walk(db, upheld, ("admit", OFFICE, {}), ("start_review", OFFICE, {}),
             ("uphold", OFFICE, {"data": {"decision": "原结果正确"}, "comment": "复核维持"}),
             ("notify", OFFICE, {}), ("accept_decision", head(by_code[upheld_code]), {}))
        walk(db, adjusted, ("admit", OFFICE, {}), ("start_review", OFFICE, {}))
        before = {r["code"]: r for r in read_results(db, 2026)}
        changes = adjust_for_appeal(db, adjusted, OFFICE, "leadership", "100",
                                    "领导评价分录入错误,更正为 100")
        walk(db, adjusted, ("notify", OFFICE, {}),
             ("accept_decision", head(by_code[adjusted_code]), {}))
        advance(db, cycle.instance_id, "finalise", OFFICE)
    after = {r["code"]: r for r in read_results(db, 2026)}
    moved = {c["unit_id"] for c in changes}
    assert by_code[adjusted_code]["id"] in moved and len(moved) > 1  # others re-ranked
    assert after[adjusted_code]["rank"] < before[adjusted_code]["rank"]
    assert after[adjusted_code]["revision"] == 2 and after[adjusted_code]["published_at"]
    entry = read_history(db, adjusted)[-3]
    assert entry["trigger"] == "adjust"
    assert entry["data_patch"]["old_result"].startswith(f"综合得分 {before[adjusted_code]['composite']}")
    assert entry["data_patch"]["new_result"].startswith(f"综合得分 {after[adjusted_code]['composite']}")
    with db.read() as conn:
        recorded = conn.execute(select(ResultChange.__table__)).all()
    assert {r.unit_id for r in recorded} == moved and all(r.appeal_id == adjusted for r in recorded)

    # rectification for every unit graded lowest, then the year closes
    with at("2027-04-01"):
        items = issue_rectifications(db, 2026, OFFICE)
        lowest = {r["unit_id"] for r in read_results(db, 2026) if r["grade"] == "不合格"}
        assert len(items) == len(lowest) > 0
        fire(db, cycle.instance_id, "apply_results", COMMITTEE)
        with pytest.raises(GuardFailed):
            advance(db, cycle.instance_id, "close", OFFICE)
    with at("2027-04-20"):
        for item in items:
            unit = next(u for u in units if u["id"] == list_item_unit(db, item))
            walk(db, item, ("submit_plan", head(unit), {"data": {"plan": "整改方案"}}),
                 ("accept_plan", OFFICE, {}),
                 ("report_done", head(unit), {"data": {"report": "已整改"}}),
                 ("verify", OFFICE, {}), ("close", OFFICE, {}))
        assert advance(db, cycle.instance_id, "close", OFFICE).to_state == "closed"

    # once the year is closed its children cannot act, nor can new ones be filed
    with at("2027-04-21"):
        evaluation = next(iter(children(db, "unit_evaluation").values()))
        with pytest.raises(InvalidTransition) as closed:
            fire(db, evaluation.id, "acknowledge", OFFICE)
        assert "closed" in closed.value.message
        with pytest.raises(InvalidTransition):  # StageClosed: 关闭 is no appeal stage
            file_appeal(db, 2026, OFFICE, "x", unit_id=evaluation.subject_unit_id)

    report = verify_history(db)
    assert report.ok, report.problems
    assert report.instances == 1 + 3 + 4 * 158 + 3 + len(items)


def list_item_unit(db, instance_id):
    return next(v.subject_unit_id for v in list_instances(db, key="rectification", limit=1000)
                if v.id == instance_id)
