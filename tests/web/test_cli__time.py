"""``perfeval calendar|sweep|scheduler|simulate|deadline`` through the CLI."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import func, select

from engine import Database, actor_for, start
from engine.models import Instance, OutboxMessage, Timer
from web.cli import main


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, [*args, "--db", db_url], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.fixture
def plan(db_url):
    db = Database(db_url)
    with freeze_time("2026-03-02 02:00:00"):  # Monday 10:00 in Shanghai
        pid = start(db, "performance_plan", actor_for(db, "staff101"),
                    unit_code="101").instance_id
    db.dispose()
    return pid


def _json(result):
    return json.loads(result.stdout)


def test_calendar_import_and_status(cli, tmp_path):
    status = _json(cli("calendar", "status", "--json"))
    assert status["covered_through_year"] == 2026
    notice = tmp_path / "2027.yaml"
    notice.write_text("year: 2027\nholidays: ['2027-10-01..2027-10-07']\n"
                      "workdays: [2027-09-26, 2027-10-09]\n", encoding="utf-8")
    imported = _json(cli("calendar", "import", str(notice), "--json"))
    assert (imported["days"], imported["declared_years"]) == (9, [2027])
    after = _json(cli("calendar", "status", "--json"))
    assert after["covered_through_year"] == 2027 and after["version"] == imported["version"]
    assert "2027" in cli("calendar", "status").output


def test_a_bad_notice_exits_8_and_names_the_line(cli, tmp_path):
    notice = tmp_path / "bad.csv"
    notice.write_text("date,kind\n2027-10-01,holiday\n2027-13-01,holiday\n", encoding="utf-8")
    result = cli("calendar", "import", str(notice), code=8)
    assert "bad.csv:3" in result.output


def test_sweep_as_of_a_local_time(cli, plan):
    quiet = _json(cli("sweep", "--now", "2026-03-24T08:59+08:00", "--json"))
    assert quiet["claimed"] == 0
    swept = _json(cli("sweep", "--now", "2026-03-24T09:00+08:00", "--json"))
    assert (swept["claimed"], swept["notified"]) == (1, 1)
    assert swept["outcomes"][0]["kind"] == "remind"
    assert "notified 0" in cli("sweep", "--now", "2026-03-24T09:00+08:00").output
    cli("sweep", "--now", "yesterday", code=8)


def test_deadline_extend_pause_resume(cli, plan):
    extended = _json(cli("deadline", "extend", str(plan), "--working-days", "3", "--reason",
                         "材料补充", "--as", "office", "--json"))
    assert (extended["old_due"], extended["new_due"]) == ("2026-03-31", "2026-04-03")
    cli("deadline", "extend", str(plan), "--days", "3", "--reason", "x", "--as", "head101",
        code=3)
    assert "已暂停" in cli("deadline", "pause", str(plan), "--reason", "申诉中", "--as",
                          "office").output
    assert "已恢复" in cli("deadline", "resume", str(plan), "--reason", "申诉结束", "--as",
                          "office").output
    category = cli("deadline", "extend-category", "performance_plan", "--category", "县直单位",
                   "--until", "2026-04-30", "--reason", "统一延期", "--as", "office")
    assert "已延期 extended 1" in category.output
    history = _json(cli("history", str(plan), "--json"))
    assert [h["trigger"] for h in history][-4:] == [
        "extend_deadline", "pause_deadline", "resume_deadline", "extend_deadline"]


def test_scheduler_status_without_schedulers(cli):
    assert "no scheduler has run" in cli("scheduler", "status").output
    assert _json(cli("scheduler", "status", "--json")) == []


def _counts(db_url):
    db = Database(db_url)
    with db.read() as conn:
        counts = [conn.execute(select(func.count()).select_from(m)).scalar()
                  for m in (Instance, Timer, OutboxMessage)]
    db.dispose()
    return counts


def test_simulate_a_year_without_touching_the_database(cli, db_url, plan, tmp_path):
    before = _counts(db_url)
    out = tmp_path / "2026.csv"
    result = _json(cli("simulate", "--year", "2026", "--csv", str(out), "--json"))
    assert _counts(db_url) == before
    rows = {(r["month"], r["definition"]): r for r in result["months"]}
    # three units: two reminders each in March; due and escalation on 1 April
    assert (rows[(3, "performance_plan")]["remind"], rows[(4, "performance_plan")]["due"],
            rows[(4, "performance_plan")]["escalate"]) == (6, 3, 3)
    with open(out, encoding="utf-8-sig") as f:
        events = list(csv.DictReader(f))
    plans = [e for e in events if e["definition"] == "performance_plan"]
    assert sorted({(e["date"], e["kind"]) for e in plans}) == [
        ("2026-03-24", "remind"), ("2026-03-30", "remind"), ("2026-04-01", "due"),
        ("2026-04-01", "escalate")]
    assert "performance_plan" in cli("simulate", "--year", "2026").output
