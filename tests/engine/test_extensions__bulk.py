"""Extending the deadlines of several selected instances at once is all or nothing:
one refused instance leaves every other one untouched, and the error names it."""

from __future__ import annotations

from datetime import date

import pytest
from freezegun import freeze_time

from engine import (InvalidInput, NotFound, NotPermitted, get_instance, read_history,
                    verify_history)
from engine.extensions import extend_many, pause_deadline
from time_support import events, local, plans, timers  # noqa: F401


def _snapshot(db, ids):
    """Version, pending timers and outbox rows of each instance."""
    return {pid: (get_instance(db, pid).version,
                  [(t.kind, t.due_at) for t in timers(db, pid, "pending")],
                  len(events(db, pid))) for pid in ids}


def test_every_selected_instance_is_extended_with_its_own_entry(db, actors, plans):
    ids = [plans["101"], plans["201"]]
    with freeze_time(local("2026-07-20 10:00")):
        changes = extend_many(db, ids, actors["office"], working_days=5, reason="汛期顺延")
    assert [(c.instance_id, c.old_due, c.new_due) for c in changes] == [
        (ids[0], date(2026, 7, 31), date(2026, 8, 7)),
        (ids[1], date(2026, 7, 31), date(2026, 8, 7))]
    for pid in ids:
        entry = read_history(db, pid)[-1]
        assert (entry["trigger"], entry["actor"]) == ("extend_deadline", "office")
        assert [e.kind for e in events(db, pid)] == ["deadline_extended"]
    assert get_instance(db, plans["102"]).version == 1
    assert verify_history(db).ok


def test_one_paused_deadline_changes_nothing(db, actors, plans):
    ids = list(plans.values())
    with freeze_time(local("2026-07-14 10:00")):
        pause_deadline(db, plans["201"], actors["office"], reason="申诉处理中")
    before = _snapshot(db, ids)
    with freeze_time(local("2026-07-20 10:00")), pytest.raises(InvalidInput) as caught:
        extend_many(db, ids, actors["office"], working_days=5, reason="汛期顺延")
    assert f"#{plans['201']}" in caught.value.message and "城关镇" in caught.value.message
    assert (caught.value.context["instance"], caught.value.context["unit"]) == (
        plans["201"], "201")
    assert _snapshot(db, ids) == before
    assert [e["trigger"] for e in read_history(db, plans["102"])] == ["start"]


def test_an_unknown_instance_changes_nothing(db, actors, plans):
    ids = [plans["101"], 999_999]
    before = _snapshot(db, [plans["101"]])
    with pytest.raises(NotFound) as caught:
        extend_many(db, ids, actors["office"], days=3, reason="顺延")
    assert "#999999" in caught.value.message
    assert _snapshot(db, [plans["101"]]) == before


def test_only_the_office_and_only_with_a_selection(db, actors, plans):
    before = _snapshot(db, list(plans.values()))
    with pytest.raises(NotPermitted) as caught:
        extend_many(db, [plans["101"]], actors["head101"], days=3, reason="想晚点交")
    assert "县发展和改革局" in caught.value.message
    with pytest.raises(InvalidInput):
        extend_many(db, [], actors["office"], days=3, reason="顺延")
    with pytest.raises(InvalidInput):
        extend_many(db, [plans["101"]], actors["office"], days=3, reason=" ")
    assert _snapshot(db, list(plans.values())) == before
