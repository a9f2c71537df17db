"""``perfeval outbox list [--dead] | retry ID|--all | attempts ID | dispatch --once``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from notifications.models import Delivery
from web.cli import main
from notify_support import people, plan, smtp, staff  # noqa: F401 - fixtures


@pytest.fixture
def cli(db_url, monkeypatch):
    monkeypatch.delenv("PERFEVAL_SMTP_URL", raising=False)
    monkeypatch.delenv("PERFEVAL_LOCALE", raising=False)
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, [*args, "--db", db_url], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def _kill_delivery(db):
    with db.write() as conn:
        conn.execute(update(Delivery).values(status="dead", attempts=12,
                                             last_error="SMTP 451 try later"))
        return conn.execute(select(Delivery.id)).scalar_one()


def test_dispatch_once_without_smtp_leaves_email_waiting(cli, plan):
    out = cli("outbox", "dispatch", "--once", "--now", "2026-12-01T01:00:00Z").output
    assert "站内 3" in out and "email 1" in out
    report = json.loads(cli("outbox", "dispatch", "--once", "--json").stdout)
    assert report["events"] == 0 and report["waiting"] == {"email": 1}


def test_list_dead_and_retry_one(cli, db, plan):
    cli("outbox", "dispatch", "--once")
    delivery = _kill_delivery(db)
    listed = cli("outbox", "list", "--dead").output
    assert f"#{delivery}" in listed and "chen" in listed and "SMTP 451" in listed
    assert json.loads(cli("outbox", "retry", str(delivery), "--json").stdout) == {"requeued": 1}
    assert "(无)" in cli("outbox", "list", "--dead").output


def test_retry_all_and_english_messages(cli, db, plan, monkeypatch):
    cli("outbox", "dispatch", "--once")
    _kill_delivery(db)
    monkeypatch.setenv("PERFEVAL_LOCALE", "en")
    assert cli("outbox", "retry", "--all").output.strip() == "requeued 1"
    assert cli("outbox", "retry", code=8).exit_code == 8  # neither ids nor --all
    listed = json.loads(cli("outbox", "list", "--json").stdout)
    assert listed["counts"]["pending"] == 1
    assert [d["status"] for d in listed["deliveries"]] == ["pending"]


def test_attempts_of_a_delivery(cli, db, plan, monkeypatch, smtp):
    monkeypatch.setenv("PERFEVAL_SMTP_URL", smtp.url)
    out = cli("outbox", "dispatch", "--once").output
    assert "发送成功 1" in out
    with db.read() as conn:
        delivery = conn.execute(select(Delivery.id)).scalar_one()
    assert " sent " in cli("outbox", "attempts", str(delivery)).output
    assert len(smtp.box.messages) == 1


def test_bad_now_is_invalid_input(cli):
    assert cli("outbox", "dispatch", "--now", "yesterday", code=8).exit_code == 8
