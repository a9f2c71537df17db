"""Field rights through the ``perfeval`` CLI, on SQLite and PostgreSQL (issue 11): a
field the user may not set exits 3 with the message naming it; nothing is saved."""

from __future__ import annotations

import json

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


@pytest.fixture
def report(cli):
    started = json.loads(cli("start", "half_year_self_assessment", "--unit", "101", "--as",
                             "office", "--data", '{"year": 2026}', "--json").stdout)
    pid = str(started["instance_id"])
    cli("fire", pid, "open_window", "--as", "office")
    return pid


def test_saving_a_protected_field_exits_3_and_says_which(cli, report):
    result = cli("save", report, "--as", "head101", "--data", '{"late": null}', code=3)
    assert "「逾期」由系统自动设置" in result.output and "'late' is set by the system" in result.output
    assert "Traceback" not in result.output
    refused = json.loads(cli("save", report, "--as", "head101", "--data",
                             '{"report": "x", "year": 2025}', "--json", code=3).stdout)
    assert refused["error"]["code"] == "field_not_editable"
    assert refused["error"]["fields"] == {"year": []}
    shown = json.loads(cli("show", report, "--as", "head101", "--json").stdout)
    assert (shown["version"], shown["data"]) == (2, {"year": 2026})
    assert shown["editable_fields"] == ["report", "evidence"]
    assert "可填写 editable: report, evidence" in cli("show", report, "--as", "head101").output


def test_firing_with_a_protected_field_exits_3(cli, report):
    result = cli("fire", report, "submit", "--as", "head101", "--data",
                 '{"report": "自评", "late": "yes"}', code=3)
    assert "逾期" in result.output
    shown = json.loads(cli("show", report, "--json").stdout)
    assert (shown["state"], shown["version"]) == ("open", 2)
