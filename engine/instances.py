"""Starting instances and changing them: the one write path of perfeval.

:func:`fire` follows a fixed order — the trigger exists from the current state → the
actor holds a permitted role (unit roles only on their own unit) → data is valid and
editable → requires/comment/guards pass → then, in ONE transaction, the versioned
UPDATE of the instance, the hash-chained history entry, the cancellation of the old
state's pending timers, the new state's timers and the outbox row. Any failure rolls
the whole transaction back, so the instance, history, timers and outbox stay exactly
as they were. Writes use SQLAlchemy Core statements: one SELECT and at most five
statements per fire, no ORM unit of work on the hot path.

The statements of the hot path are built once, at import, with bound parameters, so a
fire only looks their compiled form up in the engine's compiled cache (the statement's
cache key is computed once and memoised on it) instead of constructing, coercing and
cache-keying fresh ``insert(...).values(...)`` objects on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from workflow.roles import is_read_only

from .authz import Actor, denial, usable_role
from .calendar import calendar_for
from .children import advance_parent, check_parent_open, then_children
from .children import probe as children_probe
from .clock import utcnow
from .db import Database
from .deadlines import cycle_year, timer_rows
from .effects import EffectCall, run as run_effect
from .exceptions import Conflict, GuardFailed, InvalidInput, InvalidTransition, NotFound
from .field_rights import check_fields, field_rights  # noqa: F401 (re-exported)
from .fields import validate_patch
from .hashing import GENESIS, data_hash, entry_hash
from .models import HistoryEntry, Instance, OutboxMessage, Timer, Unit
from .registry import compiled, latest
from .runtime import Attempt, CompiledDefinition

_i, _h = Instance.__table__, HistoryEntry.__table__
_t, _o, _u = Timer.__table__, OutboxMessage.__table__, Unit.__table__

# Prebuilt statements of the write path (see the module docstring).
_SELECT_FOR_WRITE = select(_i.c.definition_version_id, _i.c.subject_unit_id, _i.c.state,
                           _i.c.version, _i.c.data, _i.c.last_hash, _i.c.parent_id
                           ).where(_i.c.id == bindparam("w_id"))
_UPDATE_VERSIONED = update(_i).where(_i.c.id == bindparam("w_id"),
                                     _i.c.version == bindparam("w_version")).values(
    state=bindparam("w_state"), version=bindparam("w_seq"), last_hash=bindparam("w_hash"),
    updated_at=bindparam("w_at"))
_UPDATE_VERSIONED_DATA = _UPDATE_VERSIONED.values(data=bindparam("w_data"))
# pending or paused; spelled with OR, not IN: SQLAlchemy renders IN as an "expanding"
# parameter that it rewrites into the SQL on every execution (30-45 µs each time).
_CANCEL_TIMERS = update(_t).where(_t.c.instance_id == bindparam("w_id"),
                                  or_(_t.c.status == "pending", _t.c.status == "paused")
                                  ).values(status="cancelled")
_INSERT_HISTORY = insert(_h)
_INSERT_TIMERS = insert(_t)
_INSERT_OUTBOX = insert(_o)
_SELECT_UNIT = select(_u.c.id).where(_u.c.code == bindparam("w_code"))
_INSERT_INSTANCE = insert(_i).returning(_i.c.id)
_SET_LAST_HASH = update(_i).where(_i.c.id == bindparam("w_id")).values(
    last_hash=bindparam("w_hash"))

START_TRIGGER = "start"
#: Definitions whose instances only a dedicated engine function creates, because it
#: computes fields the filer must not set (an appeal's ``filed_in_time``) and enforces
#: rules across instances (one appeal per indicator, the cycle's stage and the window);
#: a plain ``start`` is refused for every actor, the office included, with this message.
DEDICATED_START = {"appeal": (
    "申诉须在考评结果页面「提出申诉」或通过 perfeval appeals file 提出 — appeals are filed "
    "from the results page or `perfeval appeals file`, which check the stage, the window "
    "and one appeal per indicator")}
UPDATE_TRIGGER = "update_data"
#: Same-state history entries that neither re-enter the state (timers) nor write a
#: transition outbox row: saving data, the deadline changes of engine.extensions and
#: the office's immediate reminder (engine.reminders) and an uploaded file
#: (engine.attachments).
QUIET_TRIGGERS = frozenset({UPDATE_TRIGGER, "extend_deadline", "pause_deadline",
                            "resume_deadline", "remind_now", "attach"})


@dataclass(frozen=True)
class FireResult:
    """What a successful fire (or start, or save) changed."""

    instance_id: int
    from_state: str | None
    to_state: str
    version: int
    hash: str


def _entry(instance_id: int, seq: int, from_state: str | None, to_state: str, trigger: str,
           actor: Actor, role: str, at: datetime, comment: str | None,
           patch: Mapping[str, Any] | None, comp: CompiledDefinition,
           prev_hash: str) -> dict[str, Any]:
    entry = {"instance_id": instance_id, "seq": seq, "from_state": from_state,
             "to_state": to_state, "trigger": trigger, "actor_id": actor.user_id,
             "actor": actor.username, "role": role, "at": at, "comment": comment,
             "data_hash": data_hash(patch), "definition_hash": comp.definition.content_hash,
             "prev_hash": prev_hash}
    entry["hash"] = entry_hash(entry)
    entry["data_patch"] = dict(patch) if patch else None
    entry["definition_version_id"] = comp.version_id
    return entry


def _enter_state(conn: Connection, db: Database, comp: CompiledDefinition, instance_id: int,
                 version: int, state: str, now: datetime,
                 data: Mapping[str, Any] | None) -> None:
    """Insert the timers of ``state``'s deadline, if it has one (with ``db``'s calendar;
    a date deadline is in the cycle's ``year`` from ``data``)."""
    spec = comp.definition.deadlines.get(state)
    if spec is None:
        return
    conn.execute(_INSERT_TIMERS, timer_rows(
        spec, instance_id=instance_id, version=version, entered_at=now, now=now,
        calendar=calendar_for(db), year=cycle_year(data)))


def _outbox(conn: Connection, comp: CompiledDefinition, instance_id: int, unit_id: int | None,
            entry: Mapping[str, Any], kind: str) -> None:
    conn.execute(_INSERT_OUTBOX, {
        "instance_id": instance_id, "kind": kind,
        "dedupe_key": f"{kind}:{instance_id}:{entry['seq']}",
        "recipients": {"roles": list(comp.next_roles.get(entry["to_state"], ())),
                       "unit_id": unit_id},
        "payload": {"definition": comp.definition.key, "instance_id": instance_id,
                    "from": entry["from_state"], "to": entry["to_state"],
                    "trigger": entry["trigger"], "actor": entry["actor"],
                    "comment": entry["comment"]},
        "status": "pending", "attempts": 0, "created_at": entry["at"]})


def start_roles(comp: CompiledDefinition) -> tuple[str, ...]:
    """Roles that may start an instance: whoever acts in the initial state, plus the
    performance office and administrators."""
    d = comp.definition
    acting = comp.next_roles.get(d.initial, ()) + d.states[d.initial].editors
    return tuple(r for r in dict.fromkeys(acting + ("office", "admin", "system"))
                 if not is_read_only(r))


_SET_LAST_HASH_MANY = update(_i).where(_i.c.id == bindparam("b_id")).values(
    last_hash=bindparam("b_hash"))


def create_instances(conn: Connection, db: Database, comp: CompiledDefinition, actor: Actor,
                     role: str, rows: list[dict[str, Any]], now: datetime, *,
                     comment: str | None = None) -> list[int]:
    """Insert many instances of ``comp`` in its initial state inside the caller's write
    transaction, each with its creation entry (``comment`` on each, e.g. a copy's
    source), timers and outbox row — the bulk form of :func:`start`, for engine
    functions that checked their own rules (opening a cycle, filing an appeal, copying
    indicator systems). ``rows`` hold ``subject_unit_id``, ``parent_id`` and ``data``."""
    d = comp.definition
    for row in rows:
        row.update(definition_version_id=comp.version_id, definition_key=d.key,
                   state=d.initial, version=1, last_hash="", created_at=now, updated_at=now)
        row.setdefault("data", {})
    ids = list(conn.execute(insert(_i).returning(_i.c.id, sort_by_parameter_order=True),
                            rows).scalars())
    entries = [_entry(i, 1, None, d.initial, START_TRIGGER, actor, role, now, comment,
                      r["data"] or None, comp, GENESIS) for i, r in zip(ids, rows)]
    conn.execute(_SET_LAST_HASH_MANY, [{"b_id": i, "b_hash": e["hash"]}
                                       for i, e in zip(ids, entries)])
    conn.execute(_INSERT_HISTORY, entries)
    for instance_id, row, entry in zip(ids, rows, entries):
        _enter_state(conn, db, comp, instance_id, 1, d.initial, now, row["data"])
        _outbox(conn, comp, instance_id, row.get("subject_unit_id"), entry, "started")
    return ids


def _resolve_unit(conn: Connection, unit_code: str | None, unit_id: int | None) -> int | None:
    if unit_code is None:
        return unit_id
    found = conn.execute(_SELECT_UNIT, {"w_code": unit_code}).scalar()
    if found is None:
        raise NotFound(f"没有单位编码 {unit_code} — no unit with code {unit_code!r}",
                       unit=unit_code)
    return found


def start(db: Database, key: str, actor: Actor, *, unit_code: str | None = None,
          unit_id: int | None = None, data: Mapping[str, Any] | None = None,
          parent_id: int | None = None, role: str | None = None,
          computed: Mapping[str, Any] | None = None) -> FireResult:
    """Create an instance of the newest version of definition ``key`` in its initial
    state, with its creation history entry, timers and outbox row.

    ``data`` is checked against the field rights of the initial state (the office, an
    administrator or the system starting one may also set any field whose ``set_by``
    does not exclude them); ``computed`` is data the calling engine function computed
    itself (an appeal's ``filed_in_time``), validated but not rights-checked."""
    if key in DEDICATED_START:
        raise InvalidInput(DEDICATED_START[key], definition=key)
    comp = latest(db, key)
    d = comp.definition
    patch = validate_patch(d, data)
    trusted = validate_patch(d, computed)
    with db.write() as conn:
        unit = _resolve_unit(conn, unit_code, unit_id)
        if d.subject == "unit" and unit is None:
            raise InvalidInput(f"{d.title.zh} 须指定单位 — {key} needs a subject unit (--unit)",
                               definition=key)
        if d.subject != "unit" and unit is not None:
            raise InvalidInput(f"{key} is organisation-wide and takes no unit", definition=key)
        allowed = start_roles(comp)
        used = usable_role(actor, allowed, unit, role)
        if used is None:
            raise denial(actor, allowed, unit, START_TRIGGER, definition=key)
        check_fields(d, d.initial, actor, unit, patch, role=used, starting=True)
        patch = {**patch, **trusted}
        if parent_id is not None:
            check_parent_open(conn, db, parent_id, definition=key)
        now = utcnow()
        instance_id = conn.execute(_INSERT_INSTANCE, {
            "definition_version_id": comp.version_id, "definition_key": key,
            "subject_unit_id": unit, "parent_id": parent_id, "state": d.initial,
            "version": 1, "data": patch, "last_hash": "", "created_at": now,
            "updated_at": now}).scalar_one()
        entry = _entry(instance_id, 1, None, d.initial, START_TRIGGER, actor, used, now,
                       None, patch, comp, GENESIS)
        conn.execute(_SET_LAST_HASH, {"w_id": instance_id, "w_hash": entry["hash"]})
        conn.execute(_INSERT_HISTORY, entry)
        _enter_state(conn, db, comp, instance_id, 1, d.initial, now, patch)
        _outbox(conn, comp, instance_id, unit, entry, "started")
    return FireResult(instance_id, None, d.initial, 1, entry["hash"])


def _load_for_write(conn: Connection, instance_id: int, expected_version: int | None):
    row = conn.execute(_SELECT_FOR_WRITE, {"w_id": instance_id}).first()
    if row is None:
        raise NotFound(f"没有编号为 {instance_id} 的事项 — no instance {instance_id}",
                       instance=instance_id)
    if expected_version is not None and row.version != expected_version:
        raise Conflict(f"事项已被他人修改,请刷新后重试 — instance {instance_id} is at version "
                       f"{row.version}, not {expected_version}; reload and retry",
                       instance=instance_id, state=row.state, version=row.version,
                       expected_version=expected_version)
    return row


def _check_editable(comp: CompiledDefinition, row, actor: Actor, role: str | None,
                    instance_id: int, action: str, patch: Mapping[str, Any]) -> str:
    """The role ``actor`` saves ``patch`` with in the instance's state: one of the
    state's editors (else NotPermitted, or InvalidInput when nobody may edit there —
    for data sent with a transition, FieldNotEditable naming the fields), holding the
    right to every field in the patch (else FieldNotEditable)."""
    state = comp.definition.states[row.state]
    allowed = state.editors
    used = usable_role(actor, allowed, row.subject_unit_id, role)
    if used is None and action != UPDATE_TRIGGER:
        # data sent with a transition the actor may fire: name the fields refused
        check_fields(comp.definition, row.state, actor, row.subject_unit_id, patch,
                     role=role, instance_id=instance_id)
    if used is None:
        if not allowed:
            raise InvalidInput(f"状态 {row.state} 下不能修改数据 — data cannot be changed in "
                               f"state {row.state!r}", instance=instance_id, state=row.state)
        raise denial(actor, allowed, row.subject_unit_id, action, instance=instance_id,
                     state=row.state)
    check_fields(comp.definition, row.state, actor, row.subject_unit_id, patch, role=role,
                 instance_id=instance_id)
    return used


def _write(conn: Connection, comp: CompiledDefinition, row, instance_id: int, actor: Actor,
           trigger: str, role: str, dest: str, comment: str | None,
           patch: Mapping[str, Any], db: Database | None = None) -> FireResult:
    """The versioned UPDATE, the history entry and — unless ``trigger`` is one of
    :data:`QUIET_TRIGGERS` — the old state's timers cancelled, the new state's timers
    (``db`` gives the calendar) and the outbox row."""
    now = utcnow()
    seq = row.version + 1
    entry = _entry(instance_id, seq, row.state, dest, trigger, actor, role, now, comment,
                   patch, comp, row.last_hash)
    params = {"w_id": instance_id, "w_version": row.version, "w_state": dest, "w_seq": seq,
              "w_hash": entry["hash"], "w_at": now}
    if patch:
        params["w_data"] = {**row.data, **patch}
    changed = conn.execute(_UPDATE_VERSIONED_DATA if patch else _UPDATE_VERSIONED,
                           params).rowcount
    if changed != 1:
        raise Conflict(f"事项已被他人修改,请刷新后重试 — instance {instance_id} changed "
                       f"concurrently; reload and retry", instance=instance_id,
                       state=row.state, trigger=trigger, expected_version=row.version)
    conn.execute(_INSERT_HISTORY, entry)
    if dest != row.state or trigger not in QUIET_TRIGGERS:
        deadlines = comp.definition.deadlines
        if row.state in deadlines:
            conn.execute(_CANCEL_TIMERS, {"w_id": instance_id})
        _enter_state(conn, db, comp, instance_id, seq, dest, now, params.get("w_data", row.data))
        _outbox(conn, comp, instance_id, row.subject_unit_id, entry, "transition")
    return FireResult(instance_id, row.state, dest, seq, entry["hash"])


def fire(db: Database, instance_id: int, trigger: str, actor: Actor, *,
         comment: str | None = None, data: Mapping[str, Any] | None = None,
         expected_version: int | None = None, role: str | None = None,
         computed: Mapping[str, Any] | None = None) -> FireResult:
    """Fire ``trigger`` on instance ``instance_id`` as ``actor``; all or nothing.

    Raises InvalidTransition, NotPermitted, InvalidInput, GuardFailed, Conflict or
    NotFound (all :class:`~engine.exceptions.WorkflowError`) and then writes nothing.
    """
    with db.write() as conn:
        return fire_on(conn, db, instance_id, trigger, actor, comment=comment, data=data,
                       expected_version=expected_version, role=role, computed=computed)


def fire_on(conn: Connection, db: Database, instance_id: int, trigger: str, actor: Actor, *,
            comment: str | None = None, data: Mapping[str, Any] | None = None,
            expected_version: int | None = None, role: str | None = None,
            computed: Mapping[str, Any] | None = None) -> FireResult:
    """:func:`fire` inside the caller's write transaction on ``conn`` — the timer sweep
    fires escalations this way, so that claiming the timer and its effect commit
    together. The caller commits or rolls back.

    ``data`` is checked against the state's field rights; ``computed`` is data the
    calling engine function computed (an appeal decision's old and new result) and is
    only validated. The transition's declared ``effects`` run last, on ``conn``."""
    row = _load_for_write(conn, instance_id, expected_version)
    comp = compiled(db, row.definition_version_id)
    context = {"instance": instance_id, "state": row.state, "trigger": trigger}
    candidates = comp.candidates.get((row.state, trigger))
    if not candidates:
        possible = sorted({t for (s, t) in comp.candidates if s == row.state})
        raise InvalidTransition(
            f"当前状态 {row.state} 下不能执行 {trigger} — no transition {trigger!r} from "
            f"state {row.state!r} (possible: {', '.join(possible) or 'none'})", **context)
    if not any(usable_role(actor, t.roles, row.subject_unit_id, role) for t in candidates):
        roles = tuple(dict.fromkeys(r for t in candidates for r in t.roles))
        raise denial(actor, roles, row.subject_unit_id, trigger, **context)
    patch = validate_patch(comp.definition, data)
    if patch:
        _check_editable(comp, row, actor, role, instance_id, trigger, patch)
    patch = {**patch, **validate_patch(comp.definition, computed)}
    if row.parent_id is not None:
        check_parent_open(conn, db, row.parent_id, **context)
    attempt = Attempt(actor, row.subject_unit_id, {**row.data, **patch}, comment, role)
    if comp.watches_children:
        attempt.children = children_probe(conn, instance_id)
    dest = comp.evaluate(row.state, trigger, attempt)
    if dest is None:
        raise GuardFailed("不满足执行条件:" + ";".join(attempt.reasons) + " — guard refused "
                          f"{trigger!r}", reasons=attempt.reasons, **context)
    result = _write(conn, comp, row, instance_id, actor, trigger, attempt.role, dest,
                    comment, patch, db)
    if row.parent_id is not None and dest != row.state:
        advance_parent(conn, db, row.parent_id, comp.definition.key, dest,
                       comp.definition.states)
    if attempt.transition is not None and attempt.transition.then_children:
        then_children(conn, db, instance_id, attempt.transition)
    if attempt.transition is not None and attempt.transition.effects:
        call = EffectCall(conn, db, instance_id, comp.definition.key, trigger, dest, actor,
                          attempt.data)
        for name in attempt.transition.effects:
            run_effect(name, call)
    return result


def update_data(db: Database, instance_id: int, actor: Actor, data: Mapping[str, Any], *,
                comment: str | None = None, expected_version: int | None = None,
                role: str | None = None) -> FireResult:
    """Save field data without changing state (recorded in history as ``update_data``)."""
    with db.write() as conn:
        row = _load_for_write(conn, instance_id, expected_version)
        comp = compiled(db, row.definition_version_id)
        patch = validate_patch(comp.definition, data)
        used = _check_editable(comp, row, actor, role, instance_id, UPDATE_TRIGGER, patch)
        if row.parent_id is not None:
            check_parent_open(conn, db, row.parent_id, instance=instance_id)
        if not patch:
            raise InvalidInput("没有要保存的数据 — nothing to save", instance=instance_id)
        return _write(conn, comp, row, instance_id, actor, UPDATE_TRIGGER, used, row.state,
                      comment, patch)


def is_fact(trigger: str) -> bool:
    """True for a *fact* entry (``score.enter``, ``results.compute``, …): an evaluation
    fact recorded in an instance's chain whose ``data_patch`` is the fact itself, not a
    change of the instance's data. Fact kinds contain a dot, which no definition's
    trigger can (triggers are identifiers)."""
    return "." in trigger


def record_fact(conn: Connection, db: Database, instance_id: int, kind: str, actor: Actor,
                role: str, payload: Mapping[str, Any], *, comment: str | None = None,
                expected_version: int | None = None) -> FireResult:
    """Append fact ``kind`` (see :func:`is_fact`) to ``instance_id``'s chain inside the
    caller's write transaction: a same-state history entry whose ``data_patch`` is
    ``payload`` (hashed like any data change), the instance's version and last hash
    moved on, its data, timers and outbox untouched. The caller writes the fact's
    projection (score rows, results) on the same connection, so both commit together."""
    if not is_fact(kind):
        raise ValueError(f"fact kinds contain a dot: {kind!r}")
    row = _load_for_write(conn, instance_id, expected_version)
    comp = compiled(db, row.definition_version_id)
    return _append_same_state(conn, row, instance_id, kind, actor, role, comment,
                              dict(payload), comp, _UPDATE_VERSIONED,
                              {"w_state": row.state})


def _append_same_state(conn: Connection, row, instance_id: int, kind: str, actor: Actor,
                       role: str, comment: str | None, payload: dict[str, Any],
                       comp: CompiledDefinition, statement, extra: dict[str, Any]
                       ) -> FireResult:
    """A same-state entry chained on ``row`` and the versioned UPDATE ``statement``
    (its parameters beyond id, version, seq, hash and moment in ``extra``)."""
    now, seq = utcnow(), row.version + 1
    entry = _entry(instance_id, seq, row.state, row.state, kind, actor, role, now, comment,
                   payload, comp, row.last_hash)
    changed = conn.execute(statement, {
        "w_id": instance_id, "w_version": row.version, "w_seq": seq,
        "w_hash": entry["hash"], "w_at": now, **extra}).rowcount
    if changed != 1:
        raise Conflict(f"事项已被他人修改,请刷新后重试 — instance {instance_id} changed "
                       f"concurrently; reload and retry", instance=instance_id)
    conn.execute(_INSERT_HISTORY, entry)
    return FireResult(instance_id, row.state, row.state, seq, entry["hash"])


MIGRATION_KIND = "migration.definition"
_MIGRATE_VERSIONED = update(_i).where(_i.c.id == bindparam("w_id"),
                                      _i.c.version == bindparam("w_version")).values(
    definition_version_id=bindparam("w_dv"), version=bindparam("w_seq"),
    last_hash=bindparam("w_hash"), updated_at=bindparam("w_at"))


def migrate_version(conn: Connection, db: Database, instance_id: int, version_id: int,
                    actor: Actor, role: str, reason: str) -> FireResult:
    """Move ``instance_id`` onto definition version ``version_id`` of the same key,
    recorded as a ``migration.definition`` fact entry (from/to version and content
    hash, ``reason``) chained under the new version; the state, data and timers stay.
    Refused with InvalidInput when the new version lacks the instance's state or one
    of its data fields."""
    row = _load_for_write(conn, instance_id, None)
    old, new = compiled(db, row.definition_version_id), compiled(db, version_id)
    if old.definition.key != new.definition.key:
        raise InvalidInput("只能迁移到同一流程的新版本 — a migration stays within one definition",
                           instance=instance_id)
    missing = [f for f in row.data if f not in new.definition.fields]
    if row.state not in new.definition.states or missing:
        raise InvalidInput(f"新版本缺少状态或字段 — version {new.version} of "
                           f"{new.definition.key} lacks state {row.state!r} or fields "
                           f"{missing}", instance=instance_id, state=row.state)
    payload = {"from_version": old.version, "to_version": new.version,
               "from_hash": old.definition.content_hash, "to_hash": new.definition.content_hash}
    return _append_same_state(conn, row, instance_id, MIGRATION_KIND, actor, role, reason,
                              payload, new, _MIGRATE_VERSIONED, {"w_dv": new.version_id})
