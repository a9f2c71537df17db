"""Read side: instances, what an actor may do now (and why not), and history.

Reads honour the same confinement as writes: unit roles see only their own unit's
instances; organisation-wide roles (office, committee, auditor, …) see everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from workflow.spec import Label, TransitionSpec

from .authz import Actor, can_read, denial, role_label, usable_role
from .children import pending_children
from .db import Database
from .exceptions import NotFound, NotPermitted
from .facts import FACT_LABELS
from .field_rights import field_rights
from .instances import MIGRATION_KIND
from .models import HistoryEntry, Instance, Unit
from .registry import compiled

_i, _h, _u = Instance.__table__, HistoryEntry.__table__, Unit.__table__


@dataclass(frozen=True)
class InstanceView:
    """A snapshot of one instance, with labels resolved from its definition version."""

    id: int
    definition_key: str
    definition_version_id: int
    definition_version: int
    title: str
    subject_unit_id: int | None
    unit_code: str | None
    unit_name: str | None
    parent_id: int | None
    state: str
    state_label: str
    final: bool
    version: int
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (times as ISO 8601 UTC)."""
        out = dict(self.__dict__)
        out["created_at"] = self.created_at.isoformat() + "Z"
        out["updated_at"] = self.updated_at.isoformat() + "Z"
        return out


@dataclass(frozen=True)
class Availability:
    """One trigger from the current state: may the actor fire it now, and if not, why.

    ``caption`` is what a button reads, in both languages: the transition's own label,
    or 转入「state」 / Move to “state” when it has none; pages pick the language (the
    ``label`` filter) and keep ``trigger`` as the tooltip. ``label`` is its Chinese
    text (the API's and the CLI's plain-text field). ``reasons`` are bilingual texts
    ("中文 (English)"); ``reason_labels`` are the same reasons split into a
    :class:`~workflow.spec.Label` each (a missing role names the transition by its
    label, not its code name).
    """

    trigger: str
    to_state: str
    label: str
    allowed: bool
    comment_required: bool
    roles: tuple[str, ...]
    reasons: tuple[str, ...] = field(default=())
    caption: Label | None = None
    to_state_label: Label | None = None
    reason_labels: tuple[Label, ...] = field(default=())


_HAN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def split_bilingual(text: str) -> Label:
    """A bilingual message as a :class:`Label`: ``中文 — English`` or ``中文 (English)``
    (the last parenthesis, when it holds no Chinese); otherwise the text in both."""
    if " — " in text:
        zh, en = text.split(" — ", 1)
        return Label(zh.strip(), en.strip())
    if text.endswith(")"):
        start = text.rfind(" (")
        if start > 0 and not _HAN.search(text[start:]):
            return Label(text[:start].strip(), text[start + 2:-1].strip())
    return Label(text, text)


def caption(spec: TransitionSpec, definition) -> Label:
    """The button text of ``spec`` in both languages (its label, else the target state)."""
    if spec.label is not None:
        return spec.label
    dest = definition.states[spec.dest].label
    return Label(f"转入「{dest.zh}」", f"Move to “{dest.en}”")


#: History entries the engine writes without a declared transition (creating, saving
#: data, deadline changes, reminders, attachments), by reserved trigger.
ENGINE_TRIGGERS: dict[str, Label] = {
    "start": Label("创建", "Created"),
    "update_data": Label("保存数据", "Data saved"),
    "attach": Label("上传附件", "Attachment uploaded"),
    "extend_deadline": Label("延期", "Deadline extended"),
    "pause_deadline": Label("暂停计时", "Deadline paused"),
    "resume_deadline": Label("恢复计时", "Deadline resumed"),
    "remind_now": Label("催办提醒", "Reminder sent"),
}


MIGRATION_LABEL = Label("迁移至流程定义新版本", "Moved to a new definition version")


def trigger_label(definition, trigger: str, from_state: str | None = None,
                  to_state: str | None = None) -> Label:
    """What ``trigger`` reads as in ``definition`` (a history entry, an audit row): the
    label of the transition it fired (the one from ``from_state`` to ``to_state`` when
    several share the trigger), the engine's own name for a reserved trigger, or the
    code name itself when the definition does not know it."""
    if definition is not None:
        candidates = [t for t in definition.transitions if t.trigger == trigger]
        exact = [t for t in candidates if (to_state is None or t.dest == to_state)
                 and (from_state is None or from_state in t.sources)]
        chosen = (exact or candidates or [None])[0]
        if chosen is not None:
            return caption(chosen, definition)
    if trigger in FACT_LABELS or trigger == MIGRATION_KIND:
        return FACT_LABELS.get(trigger) or MIGRATION_LABEL
    return ENGINE_TRIGGERS.get(trigger) or Label(trigger, trigger)


def _named(reason: Label, trigger: str, title: Label) -> Label:
    """``reason`` with the code name ``trigger`` replaced by ``title``."""
    zh = re.sub(rf"(?<![\w]){re.escape(trigger)}(?![\w])", f"「{title.zh}」", reason.zh)
    en = re.sub(rf"(?<![\w]){re.escape(trigger)}(?![\w])", f"“{title.en}”", reason.en)
    return Label(zh.replace(" 「", "「"), en)


def _select_instances():
    return (select(_i, _u.c.code.label("unit_code"), _u.c.name.label("unit_name"))
            .select_from(_i.outerjoin(_u, _u.c.id == _i.c.subject_unit_id)))


def _view(db: Database, row) -> InstanceView:
    comp = compiled(db, row.definition_version_id)
    state = comp.definition.states[row.state]
    return InstanceView(row.id, row.definition_key, row.definition_version_id, comp.version,
                        comp.definition.title.zh, row.subject_unit_id, row.unit_code,
                        row.unit_name, row.parent_id, row.state, state.label.zh, state.final,
                        row.version, dict(row.data or {}), row.created_at, row.updated_at)


def get_instance(db: Database, instance_id: int, actor: Actor | None = None) -> InstanceView:
    """One instance; with ``actor``, raises NotPermitted outside the actor's reach."""
    with db.read() as conn:
        row = conn.execute(_select_instances().where(_i.c.id == instance_id)).first()
    if row is None:
        raise NotFound(f"没有编号为 {instance_id} 的事项 — no instance {instance_id}",
                       instance=instance_id)
    if actor is not None and not can_read(actor, row.subject_unit_id):
        raise NotPermitted("单位用户只能查看本单位的事项 — unit users see only their own "
                           "unit's instances", instance=instance_id)
    return _view(db, row)


def list_instances(db: Database, actor: Actor | None = None, *, key: str | None = None,
                   unit_id: int | None = None, state: str | None = None,
                   limit: int = 500) -> list[InstanceView]:
    """Instances visible to ``actor``, newest first, optionally filtered."""
    query = _select_instances().order_by(_i.c.id.desc()).limit(limit)
    if actor is not None and not actor.is_org_wide:
        query = query.where(_i.c.subject_unit_id == actor.unit_id)
    if key:
        query = query.where(_i.c.definition_key == key)
    if unit_id is not None:
        query = query.where(_i.c.subject_unit_id == unit_id)
    if state:
        query = query.where(_i.c.state == state)
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [_view(db, r) for r in rows]


def available_triggers(db: Database, instance_id: int, actor: Actor) -> list[Availability]:
    """Every trigger leaving the current state, whether ``actor`` may fire it now, and
    the reasons when not (missing role, other unit, missing data, a guard)."""
    view = get_instance(db, instance_id, actor)
    comp = compiled(db, view.definition_version_id)
    probe = _children_probe(db, comp, instance_id, view.state)
    result = []
    for spec in comp.definition.transitions_from(view.state):
        role = usable_role(actor, spec.roles, view.subject_unit_id)
        if role is None:
            reasons = (denial(actor, spec.roles, view.subject_unit_id, spec.trigger).message,)
        else:
            reasons = tuple(comp.blocking_reasons(spec, view.state, view.data, None, role,
                                                  check_comment=False, children=probe))
        title = caption(spec, comp.definition)
        result.append(Availability(
            spec.trigger, spec.dest, title.zh, not reasons, spec.comment_required,
            spec.roles, reasons, title, comp.definition.states[spec.dest].label,
            tuple(_named(split_bilingual(r), spec.trigger, title) if role is None
                  else split_bilingual(r) for r in reasons)))
    return result


def editable_fields(definition, state: str, actor: Actor,
                    subject_unit_id: int | None) -> tuple[str, ...]:
    """The fields ``actor`` may set in ``state`` of an instance of ``subject_unit_id``, in
    declaration order: a role among the field's setters (``Definition.field_setters``)
    that the actor may use there — unit roles on their own unit only, never a read-only
    role. The same rule the write kernel enforces (``engine.field_rights.check_fields``);
    forms and the API show it so that nothing offered is then refused."""
    return tuple(n for n in definition.fields
                 if usable_role(actor, field_rights(definition, state, n),
                                subject_unit_id) is not None)


def _children_probe(db: Database, comp, instance_id: int, state: str):
    """The ``when_children`` answers for the transitions leaving ``state`` (read once)."""
    conditions = list(dict.fromkeys(c for t in comp.definition.transitions_from(state)
                                    for c in t.children_conditions))
    if not conditions:
        return None
    with db.read() as conn:
        pending = {c: pending_children(conn, instance_id, c) for c in conditions}
    return pending.__getitem__


def read_history(db: Database, instance_id: int, actor: Actor | None = None) -> list[dict]:
    """The instance's history entries in sequence order, as dicts."""
    get_instance(db, instance_id, actor)
    with db.read() as conn:
        rows = conn.execute(select(_h).where(_h.c.instance_id == instance_id)
                            .order_by(_h.c.seq)).all()
    return [dict(r._mapping) for r in rows]


__all__ = ["InstanceView", "Availability", "get_instance", "list_instances",
           "available_triggers", "editable_fields", "read_history", "role_label", "caption",
           "split_bilingual", "trigger_label", "ENGINE_TRIGGERS"]
