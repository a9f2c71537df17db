"""``perfeval demo`` (set-up only, and the scripted walkthrough) and ``perfeval serve``."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from engine import Database, verify_history
from engine.dashboard import overdue
from engine.models import Instance, Unit
from web.cli import main


def test_demo_script_walks_a_plan_and_verifies(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--script", "--folder", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "published" in result.output and "audit verify: OK" in result.output
    assert (tmp_path / "perfeval.db").exists()


def test_demo_sets_up_the_sample_city_with_realistic_progress(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--no-serve", "--folder", str(tmp_path)])
    again = runner.invoke(main, ["demo", "--no-serve", "--folder", str(tmp_path)])
    db = Database(f"sqlite:///{tmp_path / 'perfeval.db'}")
    try:
        with db.read() as conn:
            units = conn.execute(select(func.count()).select_from(Unit)).scalar_one()
            states = dict(conn.execute(
                select(Instance.state, func.count()).where(
                    Instance.definition_key == "performance_plan").group_by(Instance.state)).all())
        late = overdue(db)
        report = verify_history(db)
    finally:
        db.dispose()
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert "perfeval-demo" in first.output and "head_101" in first.output
    assert "reusing" in again.output
    assert units >= 6
    assert {"draft", "revise", "approved", "published"} <= set(states)
    assert late and report.ok


def test_serve_and_demo_are_commands():
    runner = CliRunner()
    assert "--with-scheduler" in runner.invoke(main, ["serve", "--help"]).output
    assert "--script" in runner.invoke(main, ["demo", "--help"]).output
