"""``perfeval cycle …``, ``scores …`` and ``results …`` on the small test organisation."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner
from openpyxl import load_workbook

from engine import Actor, Database, fire, start
from web.cli import main
from cycle_support import walk_to

OFFICE = Actor(None, "office", None, frozenset({"office"}))
COMMITTEE = Actor(None, "committee", None, frozenset({"committee"}))
ROWS = [{"code": "K1", "name": "重点工作", "weight": 100, "method": "direct", "verifier": "督查室"}]


def run(*args, code=0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def systems_in_force(db_url, stage: str = "scoring"):
    """Both categories' systems in force for 2026, and the cycle walked to ``stage``."""
    db = Database(db_url)
    try:
        for category in ("县直单位", "乡镇场"):
            iid = start(db, "indicator_system", OFFICE,
                        data={"year": 2026, "category": category, "indicators": ROWS}).instance_id
            for trigger, actor in (("submit", OFFICE), ("start_review", COMMITTEE),
                                   ("approve", COMMITTEE), ("put_in_force", OFFICE)):
                fire(db, iid, trigger, actor)
        walk_to(db, 2026, stage)
    finally:
        db.dispose()


def test_open_twice_status_scores_results_and_exports(db_url, tmp_path):
    config = tmp_path / "cycle.yaml"
    config.write_text("weights: {indicator: 60, public: 20, leadership: 20}\n"
                      "excellent_quota: null\n", encoding="utf-8")
    opened = json.loads(run("cycle", "open", "--year", "2026", "--config", str(config),
                            "--as", "office", "--db", db_url, "--json").output)
    assert (opened["units"], opened["children"]) == (3, 12)
    again = run("cycle", "open", "--year", "2026", "--as", "office", "--db", db_url, code=8)
    assert "already open" in again.stderr
    status = json.loads(run("cycle", "status", "--year", "2026", "--db", db_url,
                            "--json").output)
    assert status["state"] == "setup" and {c["count"] for c in status["children"]} == {3}
    systems_in_force(db_url)
    scores = tmp_path / "scores.csv"
    with open(scores, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["单位编码", "指标", "得分"])
        for code, base in (("101", 90), ("102", 80), ("201", 70)):
            w.writerows([(code, "K1", base), (code, "public", base + 5),
                         (code, "leadership", base - 5)])
    run("scores", "import", "--year", "2026", str(scores), "--as", "office", "--db", db_url)
    bad = run("scores", "enter", "--year", "2026", "--unit", "999", "--item", "K1", "--value",
              "x", "--as", "office", "--db", db_url, code=8)
    assert "[unit]" in bad.stderr and "[value]" in bad.stderr
    run("results", "compute", "--year", "2026", "--as", "office", "--db", db_url)
    shown = json.loads(run("results", "show", "--year", "2026", "--db", db_url, "--json").output)
    assert [(r["code"], r["composite"], r["rank"]) for r in shown] == [
        ("201", "70.00", 1), ("101", "90.00", 1), ("102", "80.00", 2)]
    run("results", "export", "--year", "2026", "-o", str(tmp_path / "r.xlsx"), "--db", db_url)
    book = load_workbook(tmp_path / "r.xlsx", read_only=True)
    try:
        assert book.sheetnames == ["乡镇场", "县直单位"]
        rows = list(book["县直单位"].iter_rows(values_only=True))
    finally:
        book.close()
    assert rows[1][:3] == (1, "101", "县发展和改革局") and rows[1][7] == "优秀"
    run("results", "export", "--year", "2026", "-o", str(tmp_path / "r.csv"), "--db", db_url)
    lines = (tmp_path / "r.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 4 and lines[1].startswith("乡镇场,1,201,城关镇,70.00")


def test_only_the_office_computes(db_url):
    run("cycle", "open", "--year", "2026", "--as", "office", "--db", db_url)
    denied = run("results", "compute", "--year", "2026", "--as", "head101", "--db", db_url,
                 code=3)
    assert "office" in denied.stderr


def test_verifiers_enter_only_the_indicators_assigned_to_their_unit(db_url):
    from engine import add_user
    from engine.cycles import open_cycle
    from engine.results import enter_scores
    db = Database(db_url)
    try:
        open_cycle(db, 2026, OFFICE)
        systems_in_force(db_url)
        add_user(db, "fin_expert", "password-123", ["expert"], unit_code="102")  # 县财政局
        add_user(db, "other_expert", "password-123", ["expert"])
        from engine import actor_for
        rows = [("101", "K1", "88")]
        refused = enter_scores(db, 2026, actor_for(db, "other_expert"), rows)
        assert [e.column for e in refused] == ["item"]
    finally:
        db.dispose()


def test_an_expert_of_the_verifying_unit_may_enter(db_url):
    from engine import actor_for, add_user, fire as fire_, start as start_
    from engine.cycles import open_cycle
    from engine.results import enter_scores
    db = Database(db_url)
    try:
        open_cycle(db, 2026, OFFICE)
        rows = [{"code": "F1", "name": "财源", "weight": 100, "method": "direct",
                 "verifier": "县财政局"}]
        iid = start_(db, "indicator_system", OFFICE,
                     data={"year": 2026, "category": "县直单位", "indicators": rows}).instance_id
        for trigger, who in (("submit", OFFICE), ("start_review", COMMITTEE),
                             ("approve", COMMITTEE), ("put_in_force", OFFICE)):
            fire_(db, iid, trigger, who)
        walk_to(db, 2026, "verification")
        add_user(db, "fin_expert", "password-123", ["expert"], unit_code="102")
        expert = actor_for(db, "fin_expert")
        assert enter_scores(db, 2026, expert, [("101", "F1", "91.5")]) == []
        refused = enter_scores(db, 2026, expert, [("201", "F1", "90"), ("101", "public", "90")])
        assert [e.row for e in refused] == [2, 3]  # 乡镇场 has no such indicator; public
    finally:
        db.dispose()


def test_cycle_advance_force_and_fire_children_from_the_command_line(db_url):
    from engine import add_user
    db = Database(db_url)
    try:
        add_user(db, "kaoping", "password-123", ["committee"])
    finally:
        db.dispose()
    run("cycle", "open", "--year", "2026", "--as", "office", "--db", db_url)
    run("cycle", "advance", "--year", "2026", "issue_work_plan", "--as", "kaoping",
        "--db", db_url)
    waiting = run("cycle", "advance", "--year", "2026", "start_monitoring", "--as", "office",
                  "--db", db_url, code=4)
    assert "3 个 performance_plan 未完成" in waiting.stderr
    forced = json.loads(run("cycle", "force", "--year", "2026", "force_start_monitoring",
                            "--reason", "计划报送截止", "--as", "office", "--db", db_url,
                            "--json").output)
    assert forced["to_state"] == "monitoring"
    out = json.loads(run("cycle", "fire-children", "--year", "2026",
                         "half_year_self_assessment", "open_window", "--as", "office",
                         "--db", db_url, "--json").output)
    assert out == {"fired": 3}
    history = json.loads(run("history", str(forced["instance_id"]), "--db", db_url,
                             "--json").output)
    assert "未完成单位 units not done (3)" in history[-1]["comment"]


def test_stage_gates_publication_corrections_and_history(db_url):
    run("cycle", "open", "--year", "2026", "--as", "office", "--db", db_url)
    systems_in_force(db_url, stage="self_assessment")
    closed = run("scores", "enter", "--year", "2026", "--unit", "101", "--item", "K1",
                 "--value", "80", "--as", "office", "--db", db_url, code=5)
    assert "指标考核与评议、综合计分" in closed.stderr and "self_assessment" in closed.stderr
    steps = json.loads(run("results", "steps", "--year", "2026", "--db", db_url,
                           "--json").output)
    assert steps["stage"] == "self_assessment" and steps["allowed"] == []
    db = Database(db_url)
    try:
        walk_to(db, 2026, "scoring")
    finally:
        db.dispose()
    for code, base in (("101", 90), ("102", 80), ("201", 70)):
        for item in ("K1", "public", "leadership"):
            run("scores", "enter", "--year", "2026", "--unit", code, "--item", item,
                "--value", str(base), "--as", "office", "--db", db_url)
    veto = json.loads(run("scores", "veto", "--year", "2026", "--unit", "102", "--item", "安全",
                          "--reason", "事故", "--as", "office", "--db", db_url,
                          "--json").output)["veto_id"]
    run("scores", "veto-remove", "--year", "2026", "--veto", str(veto), "--reason", "误记",
        "--as", "office", "--db", db_url)
    run("results", "compute", "--year", "2026", "--reason", "首次计算", "--as", "office",
        "--db", db_url)
    refused = run("results", "publish", "--year", "2026", "--as", "office", "--db", db_url,
                  code=5)  # still in 综合计分: approve_results does not leave it
    assert "approve_results" in refused.stderr
    db = Database(db_url)
    try:
        walk_to(db, 2026, "review_approval")
    finally:
        db.dispose()
    run("results", "publish", "--year", "2026", "--as", "office", "--db", db_url, code=3)
    run("results", "publish", "--year", "2026", "--as", "committee", "--db", db_url)
    frozen = run("results", "compute", "--year", "2026", "--as", "office", "--db", db_url,
                 code=5)
    assert "已公布,只能通过申诉复核或更正" in frozen.stderr
    changes = json.loads(run("results", "correct", "--year", "2026", "--unit", "102",
                             "--item", "K1", "--value", "95", "--reason", "复核更正",
                             "--as", "office", "--db", db_url, "--json").output)
    assert {c["unit_id"] for c in changes} and all(c["revision"] == 2 for c in changes)
    told = run("results", "correct", "--year", "2026", "--unit", "101", "--item", "K1",
               "--value", "99", "--reason", "再次复核", "--as", "office", "--db", db_url).output
    assert "101 县发展和改革局:" in told and "第" in told  # the unit as people know it
    history = run("results", "history", "--year", "2026", "--db", db_url).output
    assert "更正结果" in history and "102 K1: 80 → 95" in history and "复核更正" in history
    assert history.index("更正结果") < history.index("公布结果") < history.index("计算结果")
