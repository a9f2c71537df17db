"""One-day calendar overrides set by an administrator, and the calendar's coverage.

:func:`engine.calendar.import_calendar` stores a whole notice; here an administrator
adds or removes a single day (a local make-up working day, a local holiday). The
override's ``source`` is ``admin:<user name>`` (who set it); the change is also written
to ``admin_events``. After each change the calendar is reloaded and every pending timer
made with another calendar version is recomputed
(:func:`engine.timers.recompute_pending`); the count of recomputed state entries is
returned so the page can show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, insert, select

from .authz import Actor, require_admin
from .calendar import calendar_for, library_years
from .clock import utcnow
from .db import Database
from .exceptions import InvalidInput, NotFound
from .models import CalendarOverride
from .signins import record_admin_event
from .timers import flagged_timers, recompute_pending

_co = CalendarOverride.__table__
ADMIN_SOURCE = "admin:"


@dataclass(frozen=True)
class YearStatus:
    """One year's coverage: official data from the library or an imported notice, or
    computed from weekends and overrides only."""

    year: int
    covered: bool
    source: str | None  # "holidays" | "import" | None
    overrides: int
    flagged_timers: int


def list_overrides(db: Database, year: int) -> list:
    """The overrides of ``year`` by date: day, working, name (reason), source (who)."""
    with db.read() as conn:
        return conn.execute(select(_co).where(_co.c.day >= date(year, 1, 1),
                                              _co.c.day <= date(year, 12, 31))
                            .order_by(_co.c.day)).all()


def coverage(db: Database, years: range) -> list[YearStatus]:
    """Coverage status of each of ``years``."""
    calendar = calendar_for(db, refresh=True)
    flagged = flagged_timers(db)
    per_year: dict[int, int] = {}
    for day in calendar.overrides:
        per_year[day.year] = per_year.get(day.year, 0) + 1
    return [YearStatus(y, calendar.is_covered(y),
                       "holidays" if y in library_years() else
                       ("import" if y in calendar.imported_years else None),
                       per_year.get(y, 0), flagged.get(y, 0)) for y in years]


def set_override(db: Database, actor: Actor, day: date, working: bool, reason: str) -> int:
    """Make ``day`` a working day or a holiday (replacing any override of that day);
    returns how many pending timer entries were recomputed."""
    require_admin(actor, "calendar")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("须填写原因 — a reason is required")
    with db.write() as conn:
        before = conn.execute(select(_co.c.working).where(_co.c.day == day)).scalar()
        conn.execute(delete(_co).where(_co.c.day == day))
        conn.execute(insert(_co).values(day=day, working=working, name=reason[:100],
                                        source=(ADMIN_SOURCE + actor.username)[:200],
                                        imported_at=utcnow()))
        record_admin_event(conn, actor_id=actor.user_id, actor=actor.username,
                           action="calendar_set", target=day.isoformat(),
                           details={"working": working, "reason": reason[:100],
                                    "before": before})
    return recompute_pending(db)


def remove_override(db: Database, actor: Actor, day: date) -> int:
    """Remove the override of ``day`` (NotFound when there is none); returns how many
    pending timer entries were recomputed."""
    require_admin(actor, "calendar")
    with db.write() as conn:
        row = conn.execute(select(_co).where(_co.c.day == day)).first()
        if row is None:
            raise NotFound(f"{day} 没有调整记录 — no override for {day}")
        conn.execute(delete(_co).where(_co.c.day == day))
        record_admin_event(conn, actor_id=actor.user_id, actor=actor.username,
                           action="calendar_remove", target=day.isoformat(),
                           details={"working": row.working, "reason": row.name,
                                    "source": row.source})
    return recompute_pending(db)
