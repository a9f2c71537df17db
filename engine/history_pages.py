"""The auditors' history search one page at a time: the total count and one page of
entries, each with its labels resolved from its own definition version.

Two queries per page whatever its size (the count and the page), plus one per
definition version not yet compiled in this process (a handful, cached afterwards).
Dates are local calendar days; entries are newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from workflow.spec import Label

from .clock import local_to_utc
from .db import Database
from .models import HistoryEntry, Instance, Unit
from .paging import clamp_page, page_count
from .queries import trigger_label
from .registry import compiled

_h, _i, _u = HistoryEntry.__table__, Instance.__table__, Unit.__table__

#: Entries per page of the audit search.
PER_PAGE = 100


@dataclass(frozen=True)
class HistoryPage:
    """One page of matching history entries and how many match in all.

    Each entry is the stored row as a dict plus ``process_label``, ``trigger_label``,
    ``from_label`` and ``to_label`` (:class:`~workflow.spec.Label`; ``from_label`` is
    None for the creating entry)."""

    entries: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """The number of pages (at least 1)."""
        return page_count(self.total, self.per_page)

    @property
    def first(self) -> int:
        """1-based position of the first entry shown (0 when there is none)."""
        return (self.page - 1) * self.per_page + 1 if self.entries else 0

    @property
    def last(self) -> int:
        """1-based position of the last entry shown."""
        return (self.page - 1) * self.per_page + len(self.entries)


def _filtered(query, *, unit_code, actor, key, trigger, since, until):
    if unit_code:
        query = query.where(_u.c.code == unit_code)
    if actor:
        query = query.where(_h.c.actor == actor)
    if key:
        query = query.where(_i.c.definition_key == key)
    if trigger:
        query = query.where(_h.c.trigger == trigger)
    if since:
        query = query.where(_h.c.at >= local_to_utc(since))
    if until:
        query = query.where(_h.c.at < local_to_utc(until + timedelta(days=1)))
    return query


def _state_label(definition, state: str | None) -> Label | None:
    return None if state is None else definition.state_label(state)


def search_history_page(db: Database, *, unit_code: str | None = None,
                        actor: str | None = None, key: str | None = None,
                        trigger: str | None = None, since: date | None = None,
                        until: date | None = None, page: int = 1,
                        per_page: int = PER_PAGE) -> HistoryPage:
    """Page ``page`` (1-based; clamped to the existing pages) of the history entries
    matching every given filter, newest first, with the total number that match."""
    filters = dict(unit_code=unit_code, actor=actor, key=key, trigger=trigger,
                   since=since, until=until)
    joined = (_h.join(_i, _i.c.id == _h.c.instance_id)
              .outerjoin(_u, _u.c.id == _i.c.subject_unit_id))
    count = _filtered(select(func.count()).select_from(joined), **filters)
    rows = _filtered(select(_h.c.id, _h.c.instance_id, _h.c.seq, _h.c.from_state,
                            _h.c.to_state, _h.c.trigger, _h.c.actor, _h.c.role, _h.c.at,
                            _h.c.comment, _h.c.hash, _i.c.definition_key,
                            _i.c.definition_version_id, _u.c.code.label("unit_code"),
                            _u.c.name.label("unit_name")).select_from(joined), **filters)
    with db.read() as conn:
        total = conn.execute(count).scalar_one()
        page, _ = clamp_page(page, total, per_page)
        found = conn.execute(rows.order_by(_h.c.id.desc()).limit(per_page)
                             .offset((page - 1) * per_page)).all()
    entries = []
    for row in found:
        entry = dict(row._mapping)
        definition = compiled(db, row.definition_version_id).definition
        entry.update(process_label=definition.title,
                     trigger_label=trigger_label(definition, row.trigger, row.from_state,
                                                 row.to_state),
                     from_label=_state_label(definition, row.from_state),
                     to_label=_state_label(definition, row.to_state))
        entries.append(entry)
    return HistoryPage(entries, total, page, per_page)


__all__ = ["HistoryPage", "PER_PAGE", "search_history_page"]
