"""Indicator systems bound to an evaluation year.

An ``indicator_system`` instance carries its ``year`` and ``category``. When one is put
in force (or an adjustment of it finishes) the declared effect
``bind_indicator_system`` records a ``systems.bind`` fact in the chain of that year's
cycle, with a snapshot of the indicators; opening a cycle binds the systems already in
force for its year (:func:`bind_for_open`, in the opening transaction). Computing a
year, an appeal's indicator list and the verifying departments' rights read only that
year's bindings (:func:`bound_systems`), so adjusting a later year's system never
changes an earlier year.

Rules an office relies on:

- one system in force per (year, category): putting a second one in force is refused
  (the office adjusts the one in force instead);
- a year whose results are published keeps its binding: putting a system of that year
  in force is refused, and an adjustment finished afterwards changes the system's own
  record only (the year's results stay as published; a change to them goes through a
  correction or an appeal decision);
- :func:`copy_year` copies last year's systems into a new year as drafts, all or
  nothing, each creation entry naming its source.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import Connection, select, text

from .authz import Actor, denial, usable_role
from .clock import utcnow
from .db import Database
from .effects import EffectCall, effect
from .exceptions import InvalidInput, NotFound
from .facts import SYSTEMS_BIND
from .fields import validate_patch
from .gates import stage_gates
from .instances import create_instances, is_fact, record_fact, start_roles
from .models import HistoryEntry, Instance
from .registry import compiled, latest
from .scoring import Indicator
from .scoring_models import Cycle

_h, _i, _c = HistoryEntry.__table__, Instance.__table__, Cycle.__table__
SYSTEM_KEY = "indicator_system"
#: states of a system that is (still) the one in force for its year and category
LIVE_STATES = ("in_force", "adjusting")
#: states a copy is taken from (last year's system, in force or archived since)
SOURCE_STATES = LIVE_STATES + ("archived",)
#: cycle states after publication, when the cycle's definition declares no gates
PUBLISHED_STATES = ("publicity", "appeals", "finalised", "results_applied", "closed")


def year_of(data: Mapping[str, Any] | None) -> int | None:
    """A system's ``year`` as an int (JSON may carry 2026.0), or None."""
    value = (data or {}).get("year")
    return None if value is None or isinstance(value, bool) else int(value)


# --- reading the bindings ------------------------------------------------------------


def bound_systems(conn: Connection, cycle_instance_id: int) -> dict[str, dict[str, Any]]:
    """Each category's binding in the cycle's chain (the newest per category): the
    ``systems.bind`` payload — ``category``, ``year``, ``system_id``, ``system_hash``,
    ``indicators`` (the snapshot rows), ``reason`` — with ``seq`` (the entry's place in
    the chain), ``at`` and ``actor``."""
    found: dict[str, dict[str, Any]] = {}
    for seq, at, who, patch in conn.execute(
            select(_h.c.seq, _h.c.at, _h.c.actor, _h.c.data_patch).where(
                _h.c.instance_id == cycle_instance_id, _h.c.trigger == SYSTEMS_BIND)
            .order_by(_h.c.seq)):
        found[patch["category"]] = {**patch, "seq": seq, "at": at, "actor": who}
    return found


def scored_indicators(rows: list[dict[str, Any]]) -> list[Indicator]:
    """The scored indicators of a system's rows (veto items are not scored)."""
    return [Indicator(str(r["code"]), Decimal(str(r["weight"])), r.get("method") or "direct",
                      None if r.get("target") is None else Decimal(str(r["target"])))
            for r in rows or [] if r.get("veto") != "yes"]


def indicators_for_cycle(conn: Connection, cycle_instance_id: int) -> dict[str, list[Indicator]]:
    """The scored indicators of each category bound to the cycle."""
    return {category: scored_indicators(b.get("indicators") or [])
            for category, b in bound_systems(conn, cycle_instance_id).items()}


def _systems(conn: Connection) -> list[Any]:
    """Every indicator system (a county has a few per year: read them all)."""
    return conn.execute(select(_i.c.id, _i.c.state, _i.c.data, _i.c.version, _i.c.last_hash,
                               _i.c.definition_version_id, _i.c.updated_at)
                        .where(_i.c.definition_key == SYSTEM_KEY).order_by(_i.c.id)).all()


def _cycle_of(conn: Connection, year: int) -> Any:
    """The ``year`` cycle's instance row (id, state, definition) or None."""
    return conn.execute(select(_i.c.id, _i.c.state, _i.c.definition_version_id,
                               _i.c.definition_key)
                        .join(_c, _c.c.instance_id == _i.c.id)
                        .where(_c.c.year == year)).first()


def _published(db: Database, cycle) -> bool:
    """Whether the cycle is past publication (its ``correct_results`` stages: from then
    on a result changes only by a recorded correction)."""
    stages = stage_gates(db, cycle.definition_version_id, cycle.definition_key).get(
        "correct_results") or PUBLISHED_STATES
    return cycle.state in stages or compiled(
        db, cycle.definition_version_id).definition.states[cycle.state].final


# --- binding -------------------------------------------------------------------------


def _bind(conn: Connection, db: Database, cycle_id: int, system_id: int,
          data: Mapping[str, Any], system_hash: str, actor: Actor, role: str,
          reason: str) -> None:
    """Record the ``systems.bind`` fact of one system in the cycle's chain."""
    year, category = year_of(data), data.get("category")
    payload = {"category": category, "year": year, "system_id": system_id,
               "system_hash": system_hash,
               "indicators": [dict(r) for r in data.get("indicators") or []],
               "reason": reason}
    record_fact(conn, db, cycle_id, SYSTEMS_BIND, actor, role, payload,
                comment=f"{year} 年度「{category}」指标体系 #{system_id}:{reason}")


def _serialise(conn: Connection, *key: Any) -> None:
    """Serialise the transactions deciding about ``key`` (PostgreSQL: an advisory lock
    held to the end of the transaction; SQLite's writers are serialised already), so
    two offices putting systems in force at once cannot both pass the check below."""
    if conn.dialect.name != "postgresql":
        return
    digest = hashlib.sha256(repr((SYSTEM_KEY, *key)).encode()).digest()
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                 {"k": int.from_bytes(digest[:8], "big", signed=True)})


def _refuse_second(conn: Connection, system_id: int, year: int, category: str) -> None:
    """Refuse a second system in force for the same year and category."""
    _serialise(conn, year, category)
    for row in _systems(conn):
        if row.id != system_id and row.state in LIVE_STATES \
                and year_of(row.data) == year and row.data.get("category") == category:
            raise InvalidInput(
                f"{year} 年度「{category}」已有执行中的指标体系 #{row.id},不能再施行第二个;"
                f"如需修改请对 #{row.id} 启动指标调整 — the {year} {category!r} indicator "
                f"system #{row.id} is already in force; adjust it instead of putting a "
                f"second one in force", year=year, category=category, in_force=row.id)


def _refuse_moved(conn: Connection, system_id: int, seq: int, year: int,
                  category: str) -> None:
    """Refuse an adjustment that changed the system's year or category (an adjustment
    changes the indicators; another year gets its own system, e.g. a copy)."""
    before = _in_force_snapshot(conn, system_id, before=seq)
    if before is None:
        return
    was_year, was_category = year_of(before[0]), before[0].get("category")
    if (was_year is not None and was_year != year) or \
            (was_category and was_category != category):
        raise InvalidInput(
            f"指标调整不能改变适用年度或单位类别(原为 {was_year} 年度「{was_category}」);"
            f"其他年度请复制一个新的指标体系 — an adjustment cannot change the system's year "
            f"or category (it was {was_year}, {was_category!r}); copy it into another year "
            f"instead", instance=system_id, year=was_year, category=was_category)


def _refuse_published(db: Database, conn: Connection, year: int | None, what: str) -> None:
    """Refuse ``what`` for a year whose results are published (its systems are fixed)."""
    cycle = _cycle_of(conn, year) if year is not None else None
    if cycle is not None and _published(db, cycle):
        raise InvalidInput(
            f"{year} 年度考评结果已公布,该年度的指标体系不能再{what[0]};如需用于下一年度,"
            f"请复制为新年度的指标体系 — the {year} results are published: its indicator "
            f"systems cannot be {what[1]}; copy one into the next year instead", year=year)


@effect("bind_indicator_system")
def _bind_effect(call: EffectCall) -> None:
    """``put_in_force`` / ``finish_adjustment``: bind the system to its year's cycle;
    ``start_adjustment``: refused once the year's results are published."""
    conn, data = call.conn, call.data
    if call.trigger == "start_adjustment":
        _refuse_published(call.db, conn, year_of(data), ("调整", "adjusted"))
        return
    year, category = year_of(data), data.get("category")
    if year is None or not category:
        raise InvalidInput("指标体系须填写适用年度和单位类别 — an indicator system needs its "
                           "year and category before it is put in force",
                           instance=call.instance_id)
    row = conn.execute(select(_i.c.last_hash, _i.c.version).where(
        _i.c.id == call.instance_id)).one()
    if call.trigger != "put_in_force":
        _refuse_moved(conn, call.instance_id, row.version, year, category)
    _refuse_second(conn, call.instance_id, year, category)
    cycle = _cycle_of(conn, year)
    if cycle is None:
        return  # bound when the year's cycle is opened
    if _published(call.db, cycle):
        if call.trigger == "put_in_force":
            raise InvalidInput(
                f"{year} 年度考评结果已公布,不能再为该年度施行指标体系 — the {year} results "
                f"are published; no indicator system can be put in force for that year",
                year=year, category=category)
        return  # a published year keeps the system it was scored with
    role = conn.execute(select(_h.c.role).where(
        _h.c.instance_id == call.instance_id, _h.c.seq == row.version)).scalar_one()
    reason = ("印发施行 put in force" if call.trigger == "put_in_force" else
              f"完成指标调整 adjustment finished: {data.get('adjustment_reason') or ''}".strip())
    _bind(conn, call.db, cycle.id, call.instance_id, data, row.last_hash, call.actor, role,
          reason)


def _in_force_snapshot(conn: Connection, system_id: int, *,
                       before: int | None = None) -> tuple[dict[str, Any], str] | None:
    """The data and hash of the system when it last entered ``in_force`` (before entry
    ``before``), replayed from its history: a system being adjusted is bound as it was
    in force."""
    data: dict[str, Any] = {}
    found = None
    query = select(_h.c.trigger, _h.c.to_state, _h.c.data_patch, _h.c.hash).where(
        _h.c.instance_id == system_id).order_by(_h.c.seq)
    if before is not None:
        query = query.where(_h.c.seq < before)
    for trigger, to_state, patch, hash_ in conn.execute(query):
        if patch and not is_fact(trigger):
            data.update(patch)
        if to_state == "in_force":
            found = (dict(data), hash_)
    return found


def bind_for_open(conn: Connection, db: Database, cycle_id: int, year: int, actor: Actor,
                  role: str) -> int:
    """Bind every system of ``year`` in force to the new cycle ``cycle_id`` (inside
    :func:`engine.cycles.open_cycle`'s transaction); returns how many were bound."""
    bound = 0
    for row in _systems(conn):
        if row.state not in LIVE_STATES or year_of(row.data) != year:
            continue
        if row.state == "in_force":
            data, hash_ = row.data, row.last_hash
        else:
            snapshot = _in_force_snapshot(conn, row.id)
            if snapshot is None:
                continue
            data, hash_ = snapshot
        _bind(conn, db, cycle_id, row.id, data, hash_, actor, role,
              "开启年度考评时确定 bound when the cycle was opened")
        bound += 1
    return bound


# --- the list page -------------------------------------------------------------------


def _bindings(conn: Connection) -> dict[int, dict[str, Any]]:
    """Each bound system's current binding: the cycle year, moment and actor."""
    found: dict[int, dict[str, Any]] = {}
    for year, cycle_id in conn.execute(select(_c.c.year, _c.c.instance_id)):
        for category, b in bound_systems(conn, cycle_id).items():
            found[b["system_id"]] = {"cycle_year": year, "bound_at": b["at"],
                                     "bound_by": b["actor"], "bound_hash": b["system_hash"]}
    return found


def _editions(conn: Connection) -> dict[int, int]:
    """How many times each system entered ``in_force`` (第 N 版: 1 + adjustments)."""
    found: dict[int, int] = {}
    for instance_id in conn.execute(select(_h.c.instance_id).join(
            _i, _i.c.id == _h.c.instance_id).where(
            _i.c.definition_key == SYSTEM_KEY, _h.c.to_state == "in_force",
            _h.c.from_state != "in_force")).scalars():
        found[instance_id] = found.get(instance_id, 0) + 1
    return found


def list_systems(db: Database, *, year: int | None = None,
                 category: str | None = None) -> list[dict[str, Any]]:
    """Every indicator system (newest year first, then category), with its state, its
    edition, the weight total and the cycle it is bound to (``cycle_year``,
    ``bound_at``, ``bound_by``; None when not bound)."""
    with db.read() as conn:
        rows, bindings, editions = _systems(conn), _bindings(conn), _editions(conn)
    out = []
    for r in rows:
        data = r.data or {}
        if (year is not None and year_of(data) != year) or \
                (category is not None and data.get("category") != category):
            continue
        definition = compiled(db, r.definition_version_id).definition
        indicators = data.get("indicators") or []
        binding = bindings.get(r.id, {})
        out.append({
            "id": r.id, "year": year_of(data), "category": data.get("category"),
            "state": r.state, "state_label": definition.state_label(r.state),
            "version": r.version, "edition": editions.get(r.id, 0),
            "indicators": len(indicators),
            "weight_total": sum(float(x.get("weight") or 0) for x in indicators),
            "updated_at": r.updated_at, "cycle_year": binding.get("cycle_year"),
            "bound_at": binding.get("bound_at"), "bound_by": binding.get("bound_by")})
    return sorted(out, key=lambda s: (-(s["year"] or 0), s["category"] or "", s["id"]))


# --- copying last year's systems -----------------------------------------------------


def _sources(rows: list[Any], from_year: int, category: str | None) -> list[Any]:
    """Per category, the system of ``from_year`` to copy: the one in force, else the
    newest archived."""
    chosen: dict[str, Any] = {}
    for r in rows:
        data = r.data or {}
        if r.state not in SOURCE_STATES or year_of(data) != from_year:
            continue
        if category is not None and data.get("category") != category:
            continue
        best = chosen.get(data.get("category"))
        if best is None or (r.state in LIVE_STATES, r.id) > (best.state in LIVE_STATES, best.id):
            chosen[data.get("category")] = r
    return [chosen[k] for k in sorted(chosen, key=str)]


def _refuse_existing(rows: list[Any], year: int, categories: list[str]) -> None:
    """Refuse a copy into a year that already has a (not archived) system for one of
    the categories, naming every one."""
    taken = [f"「{r.data.get('category')}」#{r.id}" for r in rows
             if r.state != "archived" and year_of(r.data) == year
             and r.data.get("category") in categories]
    if taken:
        raise InvalidInput(f"{year} 年度已有指标体系 {'、'.join(taken)},未复制任何体系 — {year} "
                           f"already has an indicator system for these categories; nothing "
                           f"was copied", year=year, existing=taken)


def copy_year(db: Database, from_year: int, to_year: int, actor: Actor, *,
              category: str | None = None) -> list[int]:
    """Copy the ``from_year`` systems (every category, or ``category``) into ``to_year``
    as drafts, in ONE transaction: all or nothing. Returns the new instances' ids."""
    return _copy(db, actor, to_year, lambda rows: _sources(rows, from_year, category),
                 f"{from_year} 年度" + (f"「{category}」" if category else ""))


def copy_system(db: Database, system_id: int, year: int, actor: Actor) -> int:
    """Copy system ``system_id`` into ``year`` as a draft (same category and
    indicators); its creation entry names the source. Returns the new id."""
    def pick(rows):
        found = [r for r in rows if r.id == system_id]
        if not found:
            raise NotFound(f"没有编号为 {system_id} 的指标体系 — no indicator system "
                           f"{system_id}", instance=system_id)
        return found

    return _copy(db, actor, year, pick, f"#{system_id}")[0]


def _copy(db: Database, actor: Actor, year: int, pick, what: str) -> list[int]:
    comp = latest(db, SYSTEM_KEY)
    role = usable_role(actor, start_roles(comp), None)
    if role is None:
        raise denial(actor, start_roles(comp), None, "copy", definition=SYSTEM_KEY)
    validate_patch(comp.definition, {"year": year})
    with db.write() as conn:
        _serialise(conn, year, "copy")
        _refuse_published(db, conn, year, ("新增", "added"))
        rows = _systems(conn)
        sources = pick(rows)
        if not sources:
            raise NotFound(f"{what}没有可复制的指标体系 — no indicator system of {what} to copy")
        _refuse_existing(rows, year, [s.data.get("category") for s in sources])
        ids = []
        for s in sources:
            data = {"year": year, "category": s.data.get("category"),
                    "indicators": [dict(r) for r in s.data.get("indicators") or []]}
            comment = (f"复制自 {year_of(s.data)} 年度「{s.data.get('category')}」指标体系 "
                       f"#{s.id} — copied from the {year_of(s.data)} indicator system #{s.id}")
            ids += create_instances(conn, db, comp, actor, role, [{"subject_unit_id": None,
                                                          "data": data}], utcnow(),
                           comment=comment)
    return ids
