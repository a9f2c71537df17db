"""A fire that fails part-way leaves instance, history, timers and outbox untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import fire, get_instance, load_definitions, start, verify_history
from engine.models import HistoryEntry, Instance, OutboxMessage, Timer
from workflow.guards import guard

DATA = Path(__file__).parent / "data"


class GuardCrash(RuntimeError):
    """Raised by the test guard."""


@guard("test_explodes")
def _explodes(ctx):
    raise GuardCrash("guard blew up")


def snapshot(db):
    """Every row of every table fire() writes, in a stable order."""
    with db.read() as conn:
        return {model.__tablename__: [tuple(r) for r in conn.execute(
            select(model.__table__).order_by(model.__table__.c.id))]
                for model in (Instance, HistoryEntry, Timer, OutboxMessage)}


@pytest.fixture
def explosive(db, actors):
    load_definitions(db, DATA / "explosive")
    return start(db, "explosive", actors["office"], unit_code="101").instance_id


def test_guard_that_raises_leaves_everything_as_before(db, actors, explosive):
    before = snapshot(db)
    with pytest.raises(GuardCrash):
        fire(db, explosive, "close", actors["office"])
    assert snapshot(db) == before
    assert get_instance(db, explosive).state == "open"


def _fail_outbox_inserts(db):
    with db.write() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox "
                              "BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END"))
        else:
            conn.execute(text("CREATE FUNCTION outbox_down() RETURNS trigger LANGUAGE plpgsql "
                              "AS $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$"))
            conn.execute(text("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox "
                              "FOR EACH ROW EXECUTE FUNCTION outbox_down()"))


def test_failing_last_write_rolls_back_state_history_and_timers(db, actors, explosive):
    _fail_outbox_inserts(db)
    before = snapshot(db)
    with pytest.raises(DBAPIError) as failed:
        fire(db, explosive, "close_quietly", actors["office"])
    assert "outbox unavailable" in str(failed.value)
    after = snapshot(db)
    assert after == before
    pending = [row for row in after["timers"] if "pending" in row]
    assert pending, "the open state's timers must still be pending"
    view = get_instance(db, explosive)
    assert (view.state, view.version) == ("open", 1)
    assert verify_history(db).ok


def test_after_a_failed_fire_the_instance_still_works(db, actors, explosive):
    with pytest.raises(GuardCrash):
        fire(db, explosive, "close", actors["office"])
    result = fire(db, explosive, "close_quietly", actors["office"], expected_version=1)
    assert (result.to_state, result.version) == ("closed", 2)
    assert verify_history(db).ok
