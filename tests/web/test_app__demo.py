"""``perfeval demo`` (set-up only, and the scripted walkthrough) and ``perfeval serve``.

The web demo replays the previous and the current evaluation year up to today; it is
built here with the clock frozen at several days of the year (12 units of the sample
city, SQLite) and checked for the state a performance office would see on that day.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from rich.console import Console
from sqlalchemy import func, select, text

from engine import Database, verify_history
from engine.anchor import anchor_document, list_anchors, verify_anchor
from engine.cycles import cycle_for_year
from engine.dashboard import cycles, overdue
from engine.models import HistoryEntry, Instance, Timer, Unit
from web.cli import main
from web.commands.demo import setup_web_demo

_i, _t, _h = Instance.__table__, Timer.__table__, HistoryEntry.__table__
UNITS = 12


def test_demo_script_walks_a_plan_and_verifies(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--script", "--folder", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "published" in result.output and "audit verify: OK" in result.output
    assert (tmp_path / "perfeval.db").exists()


def test_demo_sets_up_the_sample_city_with_realistic_progress(tmp_path):
    runner = CliRunner()
    with freeze_time("2026-11-28 02:00:00"):  # 10:00 in Beijing
        first = runner.invoke(main, ["demo", "--no-serve", "--folder", str(tmp_path)])
        again = runner.invoke(main, ["demo", "--no-serve", "--folder", str(tmp_path)])
    db = Database(f"sqlite:///{tmp_path / 'perfeval.db'}")
    try:
        with db.read() as conn:
            units = conn.execute(select(func.count()).select_from(Unit)).scalar_one()
            parent = cycle_for_year(db, 2026)["instance_id"]
            states = dict(conn.execute(
                select(_i.c.state, func.count()).where(
                    _i.c.definition_key == "performance_plan", _i.c.parent_id == parent)
                .group_by(_i.c.state)).all())
        with freeze_time("2026-11-28 02:00:00"):
            late = overdue(db)
        report = verify_history(db)
        anchors = list_anchors(db)
        pinned_key = (tmp_path / "anchor-key.pem.pub").read_text()
        checked = verify_anchor(db, anchor_document(db, anchors[0]["id"]), pinned_key)
    finally:
        db.dispose()
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert len(anchors) == 1 and checked.ok  # the demo signs one anchor, with its own key
    assert "perfeval-demo" in first.output and "head_101" in first.output
    assert "reusing" in again.output
    assert units == 74
    assert {"draft", "revise", "under_review", "approved", "published"} <= set(states)
    assert states["draft"] + states["revise"] + states["under_review"] == 3
    assert late and report.ok
    assert any((tmp_path / "attachments").rglob("*")), "the demo's files sit beside its database"


def test_serve_and_demo_are_commands():
    runner = CliRunner()
    assert "--with-scheduler" in runner.invoke(main, ["serve", "--help"]).output
    assert "--script" in runner.invoke(main, ["demo", "--help"]).output


# --- the year, as of several days --------------------------------------------------------


def _build(folder: Path, moment: str) -> Database:
    db = Database(f"sqlite:///{folder / 'demo.db'}")
    with freeze_time(moment):
        shown = setup_web_demo(db, Console(file=io.StringIO()), units=UNITS,
                               attachments=folder / "files")
    assert {"office", "committee", "leader", "expert", "auditor", "admin"} <= {
        u for u, _, _ in shown}
    return db


def _facts(db: Database, year: int) -> dict:
    """What the pages would show: each cycle's state and its children's states."""
    facts: dict = {"children": {}}
    with db.read() as conn:
        for row in conn.execute(select(_i.c.id, _i.c.state, _i.c.data)
                                .where(_i.c.definition_key == "evaluation_cycle")):
            facts[row.data["year"]] = row.state
            facts["children"][row.data["year"]] = Counter(
                {(k, s): n for k, s, n in conn.execute(
                    select(_i.c.definition_key, _i.c.state, func.count())
                    .where(_i.c.parent_id == row.id)
                    .group_by(_i.c.definition_key, _i.c.state))})
        facts["published"] = conn.execute(text(
            "SELECT count(*) FROM results WHERE published_at IS NOT NULL")).scalar()
        facts["changes"] = conn.execute(text("SELECT count(*) FROM result_changes")).scalar()
        facts["escalated"] = Counter(conn.execute(
            select(_i.c.definition_key, _t.c.state).join(_i, _i.c.id == _t.c.instance_id)
            .where(_t.c.kind == "escalate", _t.c.status == "done")).all())
        facts["overdue_marks"] = Counter(conn.execute(
            select(_i.c.definition_key).join(_i, _i.c.id == _t.c.instance_id)
            .where(_t.c.kind == "due", _t.c.outcome == "fired:mark_overdue")).scalars())
        facts["late"] = Counter(r.definition_key for r in conn.execute(
            select(_i.c.definition_key, _i.c.data)) if (r.data or {}).get("late") == "yes")
        facts["appeals"] = Counter((r.state, r.data.get("filed_in_time")) for r in conn.execute(
            select(_i.c.state, _i.c.data).where(_i.c.definition_key == "appeal")))
        facts["attachments"] = conn.execute(text("SELECT count(*) FROM attachments")).scalar()
        facts["forced"] = conn.execute(select(_h.c.comment).where(
            _h.c.trigger == "force_start_monitoring")).scalars().all()
        facts["systems"] = Counter(conn.execute(select(_i.c.state).where(
            _i.c.definition_key == "indicator_system")).scalars())
    return facts


def _count(counter: Counter, key: str, *states: str) -> int:
    return sum(n for (k, s), n in counter.items() if k == key and (not states or s in states))


DONE = ("approved", "published")


def _january(f):
    assert f[2025] == "verification" and f[2026] == "planning"
    assert f["published"] == 0 and not f["appeals"]
    assert _count(f["children"][2025], "unit_evaluation", "verification") == UNITS
    assert _count(f["children"][2026], "performance_plan", "draft") == UNITS
    assert f["escalated"][("performance_plan", "draft")] >= 1  # last April's late plans
    assert f["overdue_marks"]["annual_self_assessment"] >= 1


def _february(f):
    assert f[2025] == "publicity" and f[2026] == "planning"
    assert f["published"] == UNITS
    assert f["appeals"] == Counter({("filed", "yes"): 2})
    assert f["systems"]["returned"] == 1 and f["systems"]["in_force"] == 3


def _april(f):
    assert f[2025] == "results_applied" and f[2026] == "planning"
    plans = f["children"][2026]
    assert _count(plans, "performance_plan", *DONE) == UNITS - 3
    assert {s for (k, s) in plans if k == "performance_plan" and s not in DONE} == {
        "draft", "revise", "under_review"}
    assert f["escalated"][("performance_plan", "draft")] >= 3  # both years' late plans
    assert f["escalated"][("evaluation_cycle", "planning")] == 2
    assert f["appeals"] == Counter({("final", "yes"): 2, ("rejected", "no"): 1})
    assert f["changes"] >= 2  # the adjusted appeal re-ranked its category
    assert _count(f["children"][2025], "rectification") == 3
    assert _count(f["children"][2025], "rectification", "overdue") == 1
    assert f["systems"] == Counter({"in_force": 3, "archived": 3})


def _july(f):
    assert f[2026] == "midyear_review" and f[2025] == "results_applied"
    assert f["forced"] and "未完成单位" in f["forced"][0]
    reports = f["children"][2026]
    assert _count(reports, "half_year_self_assessment") == UNITS
    assert _count(reports, "half_year_self_assessment", "not_open") == 0
    assert _count(f["children"][2025], "rectification", "escalated") == 1
    assert _count(f["children"][2025], "rectification", "closed") == 1
    assert f["attachments"] >= 4


def _august(f):
    assert f[2026] == "midyear_review"
    assert f["overdue_marks"]["half_year_self_assessment"] >= 2  # one per year
    assert f["late"]["half_year_self_assessment"] >= 2
    assert _count(f["children"][2026], "half_year_self_assessment", "accepted") >= UNITS // 2


def _november(f):
    assert f[2026] == "year_end_prep" and f[2025] == "results_applied"
    assert _count(f["children"][2026], "half_year_self_assessment", "accepted") == UNITS
    assert _count(f["children"][2026], "annual_self_assessment", "not_open") == UNITS
    assert _count(f["children"][2026], "performance_plan", *DONE) == UNITS - 3
    assert f["published"] == UNITS


def _december(f):
    assert f[2026] == "self_assessment"
    assert _count(f["children"][2026], "annual_self_assessment", "not_open") == 0
    assert f["overdue_marks"]["annual_self_assessment"] >= 2
    assert f["escalated"][("rectification", "in_progress")] == 1  # due 11-30, not done


@pytest.mark.parametrize("moment, check", [
    ("2026-01-10 02:00:00", _january),
    ("2026-02-05 04:00:00", _february),
    ("2026-04-15 04:00:00", _april),
    ("2026-07-20 08:00:00", _july),
    ("2026-08-05 04:00:00", _august),
    ("2026-11-28 02:00:00", _november),
    ("2026-12-12 04:00:00", _december),
], ids=lambda v: v[:10] if isinstance(v, str) else "")
def test_demo_builds_a_coherent_year_on_any_day(tmp_path, moment, check):
    db = _build(tmp_path, moment)
    try:
        facts = _facts(db, 2026)
        check(facts)
        report = verify_history(db)
        assert report.ok and report.instances > UNITS * 8
        assert [c["year"] for c in cycles(db)] == [2026, 2025]
        with freeze_time(moment):
            again = setup_web_demo(db, Console(file=io.StringIO()), units=UNITS)
        assert again and _facts(db, 2026) == facts  # idempotent: reused as it is
    finally:
        db.dispose()


def test_demo_history_carries_the_dates_of_the_year(tmp_path):
    """Entries are dated when they happened: the previous year's plans in its spring,
    the results in February, nothing after today."""
    moment = "2026-04-15 04:00:00"
    db = _build(tmp_path, moment)
    try:
        with db.read() as conn:
            first, last = conn.execute(select(func.min(_h.c.at), func.max(_h.c.at))).one()
            submitted = conn.execute(select(func.min(_h.c.at), func.max(_h.c.at)).join(
                _i, _i.c.id == _h.c.instance_id).where(
                _i.c.definition_key == "performance_plan", _h.c.trigger == "submit")).one()
            published = conn.execute(text("SELECT min(published_at) FROM results")).scalar()
    finally:
        db.dispose()
    assert str(first)[:7] == "2025-01" and str(last) <= "2026-04-15 04:00:00"
    assert str(submitted[0])[:7] == "2025-02" and str(submitted[1])[:7] == "2026-04"
    assert str(published)[:10] == "2026-02-02"
