"""The performance plan end to end through the ``perfeval`` CLI, exit codes included."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from web.cli import main


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, [*args, "--db", db_url], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def _json(result):
    return json.loads(result.stdout)


def test_plan_lifecycle_through_the_cli(cli):
    started = _json(cli("start", "performance_plan", "--unit", "101", "--as", "staff101",
                        "--json"))
    pid = str(started["instance_id"])
    cli("save", pid, "--as", "staff101", "--data", '{"goals": "目标", "measures": "措施"}')
    cli("fire", pid, "submit", "--as", "head101")
    cli("fire", pid, "start_review", "--as", "office")
    cli("fire", pid, "request_revision", "--as", "office", "--comment", "请细化")
    cli("fire", pid, "submit", "--as", "head101")
    cli("fire", pid, "start_review", "--as", "office")
    cli("fire", pid, "approve", "--as", "office", "--expected-version", "7")
    cli("fire", pid, "publish", "--as", "office")
    shown = _json(cli("show", pid, "--json"))
    assert (shown["state"], shown["version"], shown["state_label"]) == ("published", 9, "已公布")
    history = _json(cli("history", pid, "--json"))
    assert [h["trigger"] for h in history] == ["start", "update_data", "submit", "start_review",
                                               "request_revision", "submit", "start_review",
                                               "approve", "publish"]
    text = cli("history", pid).output
    assert "request_revision" in text and "请细化" in text
    assert "OK" in cli("audit", "verify").output


@pytest.mark.parametrize("args, code, needle", [
    (["fire", "{pid}", "submit", "--as", "staff101"], 3, "unit_head"),
    (["fire", "{pid}", "submit", "--as", "head101"], 4, "measures"),
    (["fire", "{pid}", "approve", "--as", "office"], 5, "submit"),
    (["fire", "{pid}", "submit", "--as", "head101", "--expected-version", "9"], 6, "version"),
    (["fire", "999999", "submit", "--as", "head101"], 7, "999999"),
    (["save", "{pid}", "--as", "staff101", "--data", "{not json"], 8, "JSON"),
])
def test_each_refusal_has_its_exit_code_and_says_why(cli, args, code, needle):
    pid = _json(cli("start", "performance_plan", "--unit", "101", "--as", "staff101",
                    "--json"))["instance_id"]
    result = cli(*[str(pid) if a == "{pid}" else a for a in args], code=code)
    assert needle in result.output
    assert "Traceback" not in result.output


def test_json_errors_are_machine_readable(cli):
    result = cli("fire", "424242", "submit", "--as", "office", "--json", code=7)
    assert _json(result)["error"]["code"] == "not_found"


def test_the_installed_console_script_runs(db_url):
    done = subprocess.run([sys.executable, "-m", "web", "start", "performance_plan", "--unit",
                           "101", "--as", "office", "--db", db_url, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["to_state"] == "draft"


def test_show_as_a_user_lists_actions_with_their_labels_as_json(cli):
    started = _json(cli("start", "performance_plan", "--unit", "101", "--as", "staff101",
                        "--json"))
    pid = str(started["instance_id"])
    cli("save", pid, "--as", "staff101", "--data", '{"goals": "目标", "measures": "措施"}')
    shown = _json(cli("show", pid, "--as", "head101", "--json"))
    [submit] = [a for a in shown["actions"] if a["trigger"] == "submit"]
    assert submit["allowed"] is True and submit["caption"] == {"zh": "报送", "en": "Submit"}
    assert "报送" in cli("show", pid, "--as", "head101").output
