"""Field rights: who may set which field of an instance in which state.

A definition declares them (``editable_by`` / ``editable: {role: [fields]}`` per state,
``set_by`` per field; :meth:`workflow.spec.Definition.field_setters`). The write kernel
(:mod:`engine.instances`) calls :func:`check_fields` on the data of every start, save
and fire; the pages and the API ask :func:`field_rights` which inputs to offer.
"""

from __future__ import annotations

from typing import Any, Mapping

from .authz import Actor, role_label, usable_role
from .exceptions import FieldNotEditable

ORG_STARTERS = ("office", "admin", "system")


def field_rights(definition, state: str, name: str, *, starting: bool = False
                 ) -> tuple[str, ...]:
    """Who may set field ``name`` in ``state`` (``starting``: when an instance is created
    there, the office, administrators and the system too, unless ``set_by`` excludes
    them)."""
    roles = definition.field_setters(state, name)
    if starting:
        spec = definition.fields.get(name)
        extra = tuple(r for r in ORG_STARTERS
                      if spec is None or spec.set_by is None or r in spec.set_by)
        roles = tuple(dict.fromkeys(roles + extra))
    return roles


def check_fields(definition, state: str, actor: Actor, unit_id: int | None,
                 patch: Mapping[str, Any], *, role: str | None = None,
                 instance_id: int | None = None, starting: bool = False) -> None:
    """Refuse with :class:`FieldNotEditable` when ``patch`` holds a field that ``actor``
    (as ``role``, if given) may not set in ``state``; the error names every such field
    and the roles that may set it."""
    refused: dict[str, list[str]] = {}
    for name in patch:
        setters = field_rights(definition, state, name, starting=starting)
        if usable_role(actor, setters, unit_id, role) is None:
            refused[name] = list(setters)
    if refused:
        raise _field_error(definition, refused, instance_id, state)


def _field_error(definition, refused: dict[str, list[str]], instance_id: int | None,
                 state: str) -> FieldNotEditable:
    parts_zh, parts_en = [], []
    for name, roles in refused.items():
        spec = definition.fields.get(name)
        title = spec.label.zh if spec is not None else name
        if spec is not None and spec.set_by == ("system",):
            parts_zh.append(f"「{title}」由系统自动设置")
            parts_en.append(f"{name!r} is set by the system")
        elif roles:
            parts_zh.append(f"「{title}」只能由{'、'.join(role_label(r) for r in roles)}填写")
            parts_en.append(f"{name!r} may be set only by {', '.join(roles)}")
        else:
            parts_zh.append(f"「{title}」在当前状态下不能修改")
            parts_en.append(f"{name!r} cannot be changed in state {state!r}")
    first = next(iter(refused))
    return FieldNotEditable("不能修改:" + ";".join(parts_zh) + " — not editable: "
                            + "; ".join(parts_en), field=first, fields=refused,
                            instance=instance_id, state=state)
