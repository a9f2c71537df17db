"""The facts a message states: unit, process, state, dates, working days left, link.

Built once per event at fan-out (not in ``fire()``), from the instance row, its
definition version's labels, its unit and — for deadline events — the instance's
``due`` timer. The result is plain JSON (stored on inbox and delivery rows) and
holds both languages' labels, so a message can be rendered in either locale later.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import Connection, select

from engine.calendar import WorkCalendar

try:  # the database-backed calendar (holiday overrides) once the time issue has landed
    from engine.calendar import calendar_for
except ImportError:  # pragma: no cover - older engine: the library calendar only
    calendar_for = None
from engine.clock import to_local
from engine.db import Database
from engine.exceptions import NotFound
from engine.models import Instance, Timer, Unit
from engine.registry import compiled

from .anchors import anchor_params
from .events import TIMER_KINDS

_i, _u, _t = Instance.__table__, Unit.__table__, Timer.__table__


def _label(label) -> dict[str, str]:
    return {"zh": label.zh, "en": label.en}


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).rstrip("Z"))
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else to_local(parsed).replace(
        tzinfo=None)


def working_days_between(calendar: WorkCalendar, start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


class ContextBuilder:
    """Builds event parameters; caches instances and units for one fan-out batch."""

    def __init__(self, db: Database, conn: Connection, base_url: str) -> None:
        self.db, self.conn, self.base_url = db, conn, base_url
        self._instances: dict[int, Any] = {}
        self._calendar: WorkCalendar | None = None

    @property
    def calendar(self) -> WorkCalendar:
        """The working-day calendar (the database's, with its overrides, if any)."""
        if self._calendar is None:
            self._calendar = calendar_for(self.db) if calendar_for else WorkCalendar()
        return self._calendar

    def _instance(self, instance_id: int):
        if instance_id not in self._instances:
            row = self.conn.execute(
                select(_i.c.id, _i.c.definition_version_id, _i.c.definition_key,
                       _i.c.subject_unit_id, _i.c.state, _u.c.code, _u.c.name)
                .select_from(_i.outerjoin(_u, _u.c.id == _i.c.subject_unit_id))
                .where(_i.c.id == instance_id)).first()
            if row is None:
                raise NotFound(f"没有编号为 {instance_id} 的事项 — no instance {instance_id}",
                               instance=instance_id)
            self._instances[instance_id] = row
        return self._instances[instance_id]

    def deadline(self, instance_id: int, state: str, kind: str,
                 payload: Mapping[str, Any]) -> date | None:
        """The local date the state's work is due: from the payload's ``due_date``,
        else the instance's ``due`` timer of ``state`` (which fires at 00:00 the day
        after), else — for a ``due`` row — its own ``due_at``."""
        if payload.get("due_date"):
            return date.fromisoformat(str(payload["due_date"])[:10])
        fires = self.conn.execute(
            select(_t.c.due_at).where(_t.c.instance_id == instance_id, _t.c.state == state,
                                      _t.c.kind == "due").order_by(_t.c.id.desc()).limit(1)
        ).scalar()
        if fires is None and kind == "due":
            fires = _parse_time(payload.get("due_at"))
        return (to_local(fires) - timedelta(days=1)).date() if fires else None

    def build(self, kind: str, payload: Mapping[str, Any], at: datetime) -> dict[str, Any]:
        """Template parameters of one outbox row (see the module docstring)."""
        if kind == "audit_anchor":
            return anchor_params(payload, at, self.base_url)
        instance_id = int(payload["instance_id"])
        row = self._instance(instance_id)
        definition = compiled(self.db, row.definition_version_id).definition
        state = payload.get("to") or payload.get("state") or row.state
        source = payload.get("from")
        params: dict[str, Any] = {
            "kind": kind, "instance_id": instance_id, "definition": definition.key,
            "process": _label(definition.title),
            "unit": {"code": row.code, "name": row.name} if row.code else None,
            "unit_id": row.subject_unit_id,
            "state": state,
            "state_label": _label(definition.states[state].label)
            if state in definition.states else {"zh": state, "en": state},
            "from_state": source,
            "from_label": _label(definition.states[source].label)
            if source in definition.states else None,
            "trigger": payload.get("trigger"), "actor": payload.get("actor"),
            "comment": payload.get("comment"), "notify": list(payload.get("notify") or ()),
            "at": to_local(at).replace(tzinfo=None).isoformat(timespec="minutes"),
            "link": f"{self.base_url}/instances/{instance_id}",
            "next_roles": list(compiled(self.db, row.definition_version_id)
                               .next_roles.get(state, ())),
        }
        if kind in TIMER_KINDS or payload.get("due_date") or payload.get("due_at"):
            due = self.deadline(instance_id, state, kind, payload)
            today = to_local(at).date()
            params["deadline"] = due.isoformat() if due else None
            left = payload.get("working_days_left")  # the sweep's own count, when given
            if left is None and due:
                left = working_days_between(self.calendar, today, due)
            params["days_left"] = left
            params["days_overdue"] = payload.get("days_overdue") or (
                (today - due).days if due and today > due else 0)
        return params
