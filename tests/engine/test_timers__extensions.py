"""The office extends, pauses and resumes deadlines: each is a history entry on the
engine's write path, and the pending timers are recomputed in the same transaction."""

from __future__ import annotations

from datetime import date

import pytest
from freezegun import freeze_time

from engine import (InvalidInput, NotPermitted, fire, get_instance, read_history,
                    verify_history)
from engine.extensions import (extend_category, extend_deadline, pause_deadline,
                               resume_deadline)
from engine.timers import sweep
from time_support import events, local, plans, shown, timers  # noqa: F401


def _pending(db, pid):
    return [(t.kind, shown(t.due_at)) for t in timers(db, pid, "pending")]


def test_an_extension_is_a_history_entry_and_moves_every_pending_timer(db, actors, plans):
    pid = plans["101"]
    before = get_instance(db, pid)
    with freeze_time(local("2026-07-20 10:00")):
        change = extend_deadline(db, pid, actors["office"], working_days=5,
                                 reason="防汛任务重,经领导同意延期")
    assert (change.old_due, change.new_due) == (date(2026, 7, 31), date(2026, 8, 7))
    assert _pending(db, pid) == [
        ("remind", "2026-08-04 09:00"), ("remind", "2026-08-06 09:00"),
        ("remind", "2026-08-07 09:00"), ("due", "2026-08-08 00:00"),
        ("escalate", "2026-08-10 09:00"), ("escalate", "2026-08-12 09:00")]
    assert {t.outcome for t in timers(db, pid, "cancelled")} == {"extend_deadline"}
    after = get_instance(db, pid)
    assert (after.state, after.version) == (before.state, before.version + 1)
    entry = read_history(db, pid)[-1]
    assert (entry["trigger"], entry["role"], entry["from_state"], entry["to_state"]) == (
        "extend_deadline", "office", "drafting", "drafting")
    assert entry["comment"] == "防汛任务重,经领导同意延期(截止日期 2026-07-31 → 2026-08-07)"
    (notice,) = events(db, pid)
    assert (notice.kind, notice.payload["due_date"], notice.payload["old_due_date"]) == (
        "deadline_extended", "2026-08-07", "2026-07-31")
    assert verify_history(db).ok
    swept = sweep(db, local("2026-07-31 12:00")).outcomes  # the other units' reminders
    assert pid not in {o.instance_id for o in swept}


def test_only_the_office_extends_and_only_later_with_a_reason(db, actors, plans):
    pid = plans["101"]
    with pytest.raises(NotPermitted):
        extend_deadline(db, pid, actors["head101"], days=3, reason="想晚点交")
    with pytest.raises(InvalidInput) as earlier:
        extend_deadline(db, pid, actors["office"], until=date(2026, 7, 30), reason="提前")
    with pytest.raises(InvalidInput) as no_reason:
        extend_deadline(db, pid, actors["office"], days=3, reason="  ")
    with pytest.raises(InvalidInput) as two_ways:
        extend_deadline(db, pid, actors["office"], days=3, working_days=2, reason="x")
    assert "later" in earlier.value.message and "reason" in no_reason.value.message
    assert "exactly one" in two_ways.value.message
    assert get_instance(db, pid).version == 1 and events(db, pid) == []


def test_a_whole_category_is_extended_in_one_transaction(db, actors, plans):
    with freeze_time(local("2026-07-20 10:00")):
        changes = extend_category(db, "half_year_report", "县直单位", actors["office"],
                                  until=date(2026, 8, 14), reason="县直单位统一延期")
    assert sorted(c.instance_id for c in changes) == [plans["101"], plans["102"]]
    assert {c.new_due for c in changes} == {date(2026, 8, 14)}
    assert ("due", "2026-08-01 00:00") in _pending(db, plans["201"])
    assert ("due", "2026-08-15 00:00") in _pending(db, plans["102"])


def test_paused_days_do_not_count(db, actors, plans):
    pid = plans["101"]
    with freeze_time(local("2026-07-20 10:00")):
        pause_deadline(db, pid, actors["office"], reason="申诉处理中,暂停计时")
    assert _pending(db, pid) == [] and len(timers(db, pid, "paused")) == 6
    assert pid not in {o.instance_id for o in sweep(db, local("2026-07-24 12:00")).outcomes}
    with freeze_time(local("2026-07-27 10:00")):
        with pytest.raises(InvalidInput):
            extend_deadline(db, pid, actors["office"], days=1, reason="暂停中不能延期")
        change = resume_deadline(db, pid, actors["office"], reason="申诉已处理")
    assert change.new_due == date(2026, 8, 7)  # 7 calendar days paused (a date deadline)
    assert ("due", "2026-08-08 00:00") in _pending(db, pid)
    assert [h["trigger"] for h in read_history(db, pid)[-2:]] == [
        "pause_deadline", "resume_deadline"]
    assert verify_history(db).ok


def test_a_working_day_deadline_moves_by_the_paused_working_days(db, actors, plans):
    pid = plans["101"]
    with freeze_time(local("2026-08-03 10:00")):  # Monday: due 5 working days later
        fire(db, pid, "submit", actors["head101"])
    assert ("due", "2026-08-11 00:00") in _pending(db, pid)
    with freeze_time(local("2026-08-04 10:00")):
        pause_deadline(db, pid, actors["office"], reason="核查材料")
    with freeze_time(local("2026-08-06 16:00")):
        change = resume_deadline(db, pid, actors["office"], reason="材料齐全")
    assert change.new_due == date(2026, 8, 12)  # Tue 4 and Wed 5 Aug did not count
    assert ("due", "2026-08-13 00:00") in _pending(db, pid)


def test_pausing_twice_or_resuming_a_running_clock_is_refused(db, actors, plans):
    pid = plans["101"]
    with pytest.raises(InvalidInput):
        resume_deadline(db, pid, actors["office"], reason="未暂停")
    pause_deadline(db, pid, actors["office"], reason="暂停")
    with pytest.raises(InvalidInput):
        pause_deadline(db, pid, actors["office"], reason="再暂停")


def test_leaving_a_state_cancels_its_paused_timers(db, actors, plans):
    pid = plans["101"]
    pause_deadline(db, pid, actors["office"], reason="暂停")
    fire(db, pid, "submit", actors["head101"])
    assert timers(db, pid, "paused") == []
    assert {t.state for t in timers(db, pid, "pending")} == {"submitted"}


def test_a_deadline_whose_timers_all_took_effect_cannot_be_paused(db, actors, plans):
    pid = plans["101"]
    sweep(db, local("2026-08-31 12:00"))  # everything fired; mark_overdue left drafting
    with freeze_time(local("2026-08-31 13:00")):
        fire(db, pid, "submit", actors["head101"])
    sweep(db, local("2026-09-30 12:00"))  # submitted's timers too
    version = get_instance(db, pid).version
    with pytest.raises(InvalidInput) as caught:
        pause_deadline(db, pid, actors["office"], reason="太晚了")
    assert "nothing to pause" in caught.value.message
    assert get_instance(db, pid).version == version
