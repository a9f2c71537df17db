"""``perfeval audit keygen|anchor|verify --anchor`` end to end, exit codes included."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine import actor_for, fire, start, update_data
from engine.anchor_keys import KEY_ENV
from tamper_support import rewrite_chain
from web.cli import main


@pytest.fixture
def cli(db_url, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    runner = CliRunner()

    def run(*args, code=0, db=True):
        result = runner.invoke(main, [*args, *(("--db", db_url) if db else ())],
                               catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.fixture
def plan(db):
    staff, office = actor_for(db, "staff101"), actor_for(db, "office")
    pid = start(db, "performance_plan", office, unit_code="101").instance_id
    update_data(db, pid, staff, {"goals": "g", "measures": "m"})
    fire(db, pid, "submit", actor_for(db, "head101"))
    return pid


def test_keygen_anchor_and_verify_catch_a_consistent_rewrite(cli, db, plan, tmp_path,
                                                             monkeypatch):
    key, anchor_file = tmp_path / "anchor.pem", tmp_path / "anchor.json"
    made = cli("audit", "keygen", "--out", str(key), db=False)
    assert "PERFEVAL_ANCHOR_KEY" in made.output and key.stat().st_mode & 0o777 == 0o600
    cli("audit", "keygen", "--out", str(key), code=8, db=False)  # never overwritten

    cli("audit", "anchor", "--out", str(anchor_file), code=8)  # no key configured
    monkeypatch.setenv(KEY_ENV, str(key))
    written = json.loads(cli("audit", "anchor", "--out", str(anchor_file), "--json").stdout)
    assert (written["instances"], written["entries"]) == (1, 3)
    assert json.loads(anchor_file.read_text())["body"]["merkle_root"] == written["merkle_root"]

    pinned = ("--anchor", str(anchor_file), "--public-key", f"{key}.pub")
    assert "holds" in cli("audit", "verify", *pinned).output

    rewrite_chain(db, plan, 2, comment="rewritten")
    cli("audit", "verify")  # a consistent rewrite: the chain alone still verifies
    failed = json.loads(cli("audit", "verify", *pinned, "--json", code=1).stdout)
    assert not failed["ok"] and failed["signature_ok"]
    assert [(p["instance_id"], p["seq"]) for p in failed["problems"]] == [(plan, 3)]
    text = cli("audit", "verify", *pinned, code=1)
    assert f"instance {plan} seq 3" in text.output and "rewritten after the anchor" in text.output


def test_anchor_to_stdout_and_bad_files(cli, db, plan, tmp_path, monkeypatch):
    key = tmp_path / "k.pem"
    cli("audit", "keygen", "--out", str(key), db=False)
    monkeypatch.setenv(KEY_ENV, str(key))
    doc = json.loads(cli("audit", "anchor").stdout)
    assert doc["body"]["heads"][0][0] == plan and doc["signature"]["algorithm"] == "Ed25519"

    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    refused = cli("audit", "verify", "--anchor", str(junk), "--json", code=8)
    assert json.loads(refused.stdout)["error"]["code"] == "invalid_anchor"
    cli("audit", "verify", "--anchor", str(tmp_path / "missing.json"), code=8)
    cli("audit", "verify", "--public-key", f"{key}.pub", code=8)
