"""The ``deadlines:`` mapping: when a state's work falls due, reminders and escalations."""

from __future__ import annotations

import calendar
import re
from functools import partial
from typing import Any

from ..source import Path
from ..spec import DeadlineSpec, Due, Escalation, Offset, Reminder, TransitionSpec
from .context import Checker, suggest
from .roles import role_list
from .values import keys, mapping, reference, sequence, whole_number, wrong_type

DEADLINE_KEYS = ("due", "remind", "escalate", "fire")
DUE_KEYS = ("date", "days", "working_days")
HOLIDAY_POLICIES = ("next_working_day", "previous_working_day", "keep")
OFFSET_UNITS = ("days", "working_days")
MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
MONTH_DAY_RULE = 'expected a month and day as "MM-DD", e.g. "03-31"'
TIME = re.compile(r"^(\d{2}):(\d{2})$")


def check_deadlines(ck: Checker, value: Any,
                    transitions: tuple[TransitionSpec, ...] = ()) -> dict[str, DeadlineSpec]:
    """Validate ``deadlines:`` (optional; state -> deadline) and return the specs.

    ``transitions`` lets an escalation's ``fire`` be checked: it must name a trigger
    that leaves the deadline's state and that the ``system`` role may fire."""
    path: Path = ("deadlines",)
    if value is None:
        return {}
    deadlines = mapping(ck, path, value, "a mapping of state names to deadlines")
    specs: dict[str, DeadlineSpec] = {}
    for state, body in (deadlines or {}).items():
        if reference(ck, path, state, "state", ck.known["state"], key=state) and state in ck.finals:
            ck.error(path, f"deadline on final state '{state}'",
                     "expected a state where work is pending: a final state never falls due",
                     key=state)
        spec = _deadline(ck, path + (state,), state, body, transitions)
        if spec is not None:
            specs[state] = spec
    return specs


def _deadline(ck: Checker, path: Path, state: str, value: Any,
              transitions: tuple[TransitionSpec, ...] = ()) -> DeadlineSpec | None:
    body = mapping(ck, path, value, "a deadline {due: ..., remind: [...], escalate: [...]}")
    if body is None:
        return None
    keys(ck, path, body, DEADLINE_KEYS, ("due",))
    due = _due(ck, path + ("due",), body["due"]) if "due" in body else None
    remind = _items(ck, path + ("remind",), body.get("remind"), _reminder, "reminders")
    escalate = _items(ck, path + ("escalate",), body.get("escalate"),
                      partial(_escalation, state=state, transitions=transitions), "escalations")
    before = len(ck.diagnostics)
    fire = (_fire(ck, path + ("fire",), body["fire"], state, transitions, "the deadline")
            if "fire" in body else None)
    if due is None or remind is None or escalate is None or len(ck.diagnostics) > before:
        return None
    return DeadlineSpec(state, due, remind, escalate, fire)


def _items(ck: Checker, path: Path, value: Any, check, what: str) -> tuple | None:
    """Check each entry of an optional list with ``check``; None if any entry failed."""
    if value is None:
        return ()
    items = sequence(ck, path, value, f"a list of {what}")
    if items is None:
        return None
    results = [check(ck, path + (i,), item) for i, item in enumerate(items)]
    return None if any(r is None for r in results) else tuple(results)


def _one_key(ck: Checker, path: Path, body: dict, choices: tuple[str, ...], what: str) -> str | None:
    """The single key of ``choices`` present in ``body``; reports none or several."""
    present = [k for k in choices if k in body]
    if len(present) == 1:
        return present[0]
    if not present:
        ck.error(path, f"{what} needs one of: {', '.join(choices)}")
    else:
        ck.error(path, f"{what} takes only one of {', '.join(choices)}, got {' and '.join(present)}",
                 key=present[1])
    return None


def _due(ck: Checker, path: Path, value: Any) -> Due | None:
    body = mapping(ck, path, value, "{date: MM-DD}, {days: N} or {working_days: N}")
    if body is None or not keys(ck, path, body, DUE_KEYS + ("on_holiday", "field", "time")):
        return None
    key = _one_key(ck, path, body, DUE_KEYS, "due")
    if key is None:
        return None
    policy = body.get("on_holiday", HOLIDAY_POLICIES[0])
    if policy not in HOLIDAY_POLICIES:
        ck.error(path + ("on_holiday",), f"invalid holiday policy {policy!r}",
                 f"expected one of: {', '.join(HOLIDAY_POLICIES)}")
        return None
    before = len(ck.diagnostics)
    time = _time(ck, path + ("time",), body["time"]) if "time" in body else None
    source = None
    if "field" in body:
        if key != "date":
            ck.error(path + ("field",), "'field' only goes with a date deadline",
                     'expected due: {date: "MM-DD", field: NAME}', key="field")
        else:
            source = reference(ck, path + ("field",), body["field"], "field", ck.known["field"])
    if len(ck.diagnostics) > before:
        return None
    if key == "date":
        month_day = _month_day(ck, path + ("date",), body["date"])
        return (Due(month_day=month_day, on_holiday=policy, field=source, time=time)
                if month_day else None)
    amount = whole_number(ck, path + (key,), body[key], minimum=1)
    return (Due(offset=Offset(amount, key), on_holiday=policy, time=time)
            if amount is not None else None)


def _time(ck: Checker, path: Path, value: Any) -> tuple[int, int] | None:
    """A local time "HH:MM" from 00:00 to 24:00 (when on the due day it falls due)."""
    match = TIME.match(value) if isinstance(value, str) else None
    if match is None:
        wrong_type(ck, path, value, 'a local time "HH:MM" (quote it), e.g. "00:00"')
        return None
    hour, minute = int(match[1]), int(match[2])
    if minute > 59 or hour * 60 + minute > 1440:
        ck.error(path, f"invalid time '{value}'", 'expected a time from "00:00" to "24:00"')
        return None
    return hour, minute


def _month_day(ck: Checker, path: Path, value: Any) -> tuple[int, int] | None:
    """A "MM-DD" string that is a real day in every year."""
    if not isinstance(value, str):
        wrong_type(ck, path, value, 'a month and day "MM-DD" (quote it)')
        return None
    match = MONTH_DAY.match(value)
    if match is None:
        ck.error(path, f"invalid date '{value}'", MONTH_DAY_RULE)
        return None
    month, day = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        ck.error(path, f"invalid date '{value}': there is no month {month}", MONTH_DAY_RULE)
        return None
    if (month, day) == (2, 29):
        ck.error(path, "date '02-29' does not exist in every year",
                 'expected a day that every year has, e.g. "02-28" or "03-01"')
        return None
    days = calendar.monthrange(2001, month)[1]  # 2001: not a leap year
    if not 1 <= day <= days:
        name = calendar.month_name[month]
        ck.error(path, f"invalid date '{value}': {name} has no day {day}",
                 f"expected a day from 01 to {days:02d}")
        return None
    return month, day


def _offset(ck: Checker, path: Path, value: Any) -> Offset | None:
    body = mapping(ck, path, value, "{days: N} or {working_days: N}")
    if body is None or not keys(ck, path, body, OFFSET_UNITS):
        return None
    unit = _one_key(ck, path, body, OFFSET_UNITS, "an offset")
    amount = whole_number(ck, path + (unit,), body[unit], minimum=1) if unit else None
    return Offset(amount, unit) if amount is not None else None


def _reminder(ck: Checker, path: Path, value: Any) -> Reminder | None:
    body = mapping(ck, path, value, "a reminder {before: {...}} or {on: due}")
    if body is None or not keys(ck, path, body, ("before", "on")):
        return None
    key = _one_key(ck, path, body, ("before", "on"), "a reminder")
    if key == "before":
        before = _offset(ck, path + ("before",), body["before"])
        return Reminder(before) if before is not None else None
    if key == "on" and body["on"] != "due":
        ck.error(path + ("on",), f"invalid reminder day {body['on']!r}", "expected on: due")
        return None
    return Reminder() if key else None


def _escalation(ck: Checker, path: Path, value: Any, *, state: str = "",
                transitions: tuple[TransitionSpec, ...] = ()) -> Escalation | None:
    body = mapping(ck, path, value, "an escalation {after: {...}, notify: [...], fire: trigger}")
    if body is None:
        return None
    keys(ck, path, body, ("after", "notify", "fire"), ("after",))
    after = _offset(ck, path + ("after",), body["after"]) if "after" in body else None
    before = len(ck.diagnostics)
    notify = role_list(ck, path + ("notify",), body.get("notify", []), None)
    fire = _fire(ck, path + ("fire",), body["fire"], state, transitions) if "fire" in body else None
    if after is None or len(ck.diagnostics) > before:
        return None
    return Escalation(after, notify, fire)


def _fire(ck: Checker, path: Path, value: Any, state: str,
          transitions: tuple[TransitionSpec, ...], what: str = "escalation") -> str | None:
    """A trigger leaving ``state`` that the ``system`` role may fire."""
    if not isinstance(value, str):
        wrong_type(ck, path, value, "a trigger name")
        return None
    leaving = [t for t in transitions if state in t.sources]
    if not transitions:
        return value  # the transitions were unusable; reported elsewhere
    if not any(t.trigger == value for t in leaving):
        triggers = sorted({t.trigger for t in leaving})
        hint = suggest(value, triggers)
        ck.error(path, f"no transition '{value}' leaves state '{state}'",
                 f"expected one of: {', '.join(triggers) or '(none)'}",
                 f"did you mean '{hint}'?" if hint else None)
        return None
    if not any(t.trigger == value and "system" in t.roles for t in leaving):
        ck.error(path, f"{what} fires '{value}' but its transition does not allow the "
                 "system role", "expected 'system' in that transition's roles")
        return None
    return value
