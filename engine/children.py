"""Parents and children inside the write path: ``when_children`` probes, closed parents,
and a parent advanced by the system when its last child arrives.

Costs nothing for instances without a parent (the caller tests ``parent_id``); for a
child, one read of the parent row, and — only when the child enters a state some
``when_children`` of the parent's current state waits for — the parent row is locked
(``FOR UPDATE`` on PostgreSQL; SQLite writers are serialised already) and the
remaining children counted, so two children finishing at once cannot both miss it.
A transition may wait for children of several definitions (every condition must hold).

``then_children`` goes the other way: a parent's transition that declares it fires the
named trigger on its children (e.g. the cycle opening every unit's self-assessment
window) in the same transaction.
"""

from __future__ import annotations

from typing import Callable, Iterable

from sqlalchemy import Connection, bindparam, select

from workflow.spec import ChildrenCondition, TransitionSpec

from .authz import Actor
from .db import Database
from .exceptions import InvalidTransition
from .models import Instance, Unit
from .registry import compiled

_i, _u = Instance.__table__, Unit.__table__
_SELECT_PARENT = select(_i.c.state, _i.c.definition_version_id).where(
    _i.c.id == bindparam("p_id"))
_SELECT_PARENT_LOCKED = _SELECT_PARENT.with_for_update()


def pending_children(conn: Connection, parent_id: int, cond: ChildrenCondition) -> list[str]:
    """Labels (``code name``) of ``parent_id``'s children of ``cond.definition`` not in
    one of ``cond.all_in``, in unit-code order."""
    rows = conn.execute(
        select(_u.c.code, _u.c.name, _i.c.id).select_from(
            _i.outerjoin(_u, _u.c.id == _i.c.subject_unit_id))
        .where(_i.c.parent_id == parent_id, _i.c.definition_key == cond.definition,
               _i.c.state.not_in(cond.all_in)).order_by(_u.c.code, _i.c.id)).all()
    return [f"{r.code} {r.name}" if r.code else f"#{r.id}" for r in rows]


def probe(conn: Connection, instance_id: int) -> Callable[[ChildrenCondition], list[str]]:
    """The ``when_children`` probe for ``instance_id`` on ``conn``."""
    return lambda cond: pending_children(conn, instance_id, cond)


def check_parent_open(conn: Connection, db: Database, parent_id: int, **context) -> None:
    """Refuse to act on a child whose parent has reached a final state."""
    parent = conn.execute(_SELECT_PARENT, {"p_id": parent_id}).first()
    if parent is None:
        return
    state = compiled(db, parent.definition_version_id).definition.states[parent.state]
    if state.final:
        raise InvalidTransition(f"上级流程 #{parent_id} 已结束({state.label.zh}),不能再办理 — "
                                f"the parent #{parent_id} is closed", parent=parent_id,
                                **context)


def any_pending(conn: Connection, parent_id: int, cond: ChildrenCondition,
                child_states: Iterable[str]) -> bool:
    """Whether some child is still outside ``cond.all_in``: an index seek per other state
    of the child definition (``ix_instances_parent``), stopping at the first found —
    constant cost however many children the parent has."""
    others = [s for s in child_states if s not in cond.all_in]
    if not others:
        return False
    return conn.execute(select(_i.c.id).where(
        _i.c.parent_id == parent_id, _i.c.definition_key == cond.definition,
        _i.c.state.in_(others)).limit(1)).first() is not None


def advance_parent(conn: Connection, db: Database, parent_id: int, child_key: str,
                   child_state: str, child_states: Iterable[str]):
    """Fire the parent's system ``when_children`` transition that ``child_state`` of a
    ``child_key`` child may complete, when every condition of it holds: no ``child_key``
    child left outside its states (``child_states``: every state of the child's
    definition) and, for a transition with several conditions, no child of the other
    definitions outside theirs."""
    parent = conn.execute(_SELECT_PARENT, {"p_id": parent_id}).first()
    if parent is None:
        return None
    comp = compiled(db, parent.definition_version_id)
    waiting = [t for t in comp.auto_children.get((parent.state, child_key), ())
               if child_state in _condition(t, child_key).all_in]
    if not waiting:
        return None
    parent = conn.execute(_SELECT_PARENT_LOCKED, {"p_id": parent_id}).first()
    for t in comp.auto_children.get((parent.state, child_key), ()):
        if all(not (any_pending(conn, parent_id, cond, child_states)
                    if cond.definition == child_key else _any_outside(conn, parent_id, cond))
               for cond in t.children_conditions):
            from .instances import fire_on  # the parent moves through the same write path

            return fire_on(conn, db, parent_id, t.trigger, Actor.system())
    return None


def _condition(t: TransitionSpec, child_key: str) -> ChildrenCondition:
    return next(c for c in t.children_conditions if c.definition == child_key)


def _any_outside(conn: Connection, parent_id: int, cond: ChildrenCondition) -> bool:
    """Whether some child of ``cond.definition`` is outside ``cond.all_in`` (the other
    definitions of a several-condition transition: few children, one query)."""
    return conn.execute(select(_i.c.id).where(
        _i.c.parent_id == parent_id, _i.c.definition_key == cond.definition,
        _i.c.state.not_in(cond.all_in)).limit(1)).first() is not None


def pending_by_definition(conn: Connection, parent_id: int,
                          t: TransitionSpec) -> list[tuple[str, list[str]]]:
    """(child definition, labels of its children not done) for every condition of
    ``t``, in declaration order."""
    return [(cond.definition, pending_children(conn, parent_id, cond))
            for cond in t.children_conditions]


def then_children(conn: Connection, db: Database, parent_id: int, t: TransitionSpec) -> int:
    """Fire ``t``'s ``then_children`` triggers on the parent's children (those in a
    state each trigger leaves, by the child's own definition version), as the system,
    in the caller's transaction; how many children moved. A child that refuses rolls
    the whole transition back."""
    from .instances import fire_on  # the children move through the same write path

    moved = 0
    for then in t.then_children:
        rows = conn.execute(select(_i.c.id, _i.c.definition_version_id, _i.c.state).where(
            _i.c.parent_id == parent_id, _i.c.definition_key == then.definition)
            .order_by(_i.c.id)).all()
        # each child by its own version: one started before a newer version was loaded
        # moves when ITS transitions let the trigger leave its state
        ids = [r.id for r in rows if compiled(db, r.definition_version_id)
               .candidates.get((r.state, then.trigger))]
        for child_id in ids:
            fire_on(conn, db, child_id, then.trigger, Actor.system())
        moved += len(ids)
    return moved
