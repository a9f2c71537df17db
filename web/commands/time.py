"""``perfeval calendar|sweep|scheduler|simulate|deadline`` — time, timers and deadlines.

``--now`` takes ISO 8601; a time without an offset is UTC, like every stored time
(``2026-12-11T09:00+08:00`` is 09:00 in Beijing).
"""

from __future__ import annotations

import importlib
import logging
from datetime import date, datetime, timezone

import click

from engine import actor_for
from engine.calendar import calendar_for, import_calendar, library_years
from engine.clock import local_today, to_local, utcnow
from engine.exceptions import InvalidInput
from engine.extensions import extend_category, extend_deadline, pause_deadline, resume_deadline
from engine.scheduler import DEFAULT_INTERVAL, heartbeats, is_alive, run
from engine.timers import flagged_timers, recompute_pending, sweep

from .common import db_options, emit

AS_USER = click.option("--as", "username", required=True, help="Act as this user (office).")
REASON = click.option("--reason", required=True, help="Why (recorded in the history).")


def parse_now(value: str | None) -> datetime | None:
    """``--now`` as naive UTC (a value without offset is taken as UTC)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--now 不是 ISO 8601 时间 — --now is not ISO 8601: {value!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _when(moment: datetime | None) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _dispatcher():
    """``notifications.dispatcher.dispatch`` when that package provides it (lazy: the
    engine and this command work without it)."""
    try:
        module = importlib.import_module("notifications.dispatcher")
    except ImportError:
        return None
    return getattr(module, "dispatch", None)


def _calendar_commands(main: click.Group) -> None:
    @main.group("calendar")
    def group() -> None:
        """The working-day calendar: import notices, show coverage."""

    @group.command("import")
    @click.argument("path", type=click.Path(dir_okay=False))
    @click.option("--local", is_flag=True,
                  help="A local notice: add its days without declaring the year covered.")
    @click.option("--source", default=None, help="Name of the notice (default: file name).")
    @db_options
    def import_cmd(db, as_json, path, local, source):
        """Import holidays and make-up working days (CSV date,kind,name or YAML);
        all or nothing. Pending timers are recomputed."""
        report = import_calendar(db, path, local=local, source=source)
        recomputed = recompute_pending(db)
        emit(as_json, {**report.__dict__, "recomputed_entries": recomputed},
             f"已导入 imported {report.days} 天 days (放假 holidays {report.holidays}, "
             f"调休上班 workdays {report.workdays}), 年份 years "
             f"{', '.join(map(str, report.years))}"
             + (f", 覆盖年度 declared covered: {', '.join(map(str, report.declared_years))}"
                if report.declared_years else "")
             + f"; 日历版本 calendar {report.version}; 重算 recomputed {recomputed} 个期限 entries")

    @group.command("status")
    @db_options
    def status_cmd(db, as_json):
        """Which years have official data, overrides, and timers flagged as estimated."""
        calendar = calendar_for(db, refresh=True)
        today = local_today()
        flagged = flagged_timers(db)
        overrides: dict[int, int] = {}
        for day in calendar.overrides:
            overrides[day.year] = overrides.get(day.year, 0) + 1
        years = range(today.year - 1, today.year + 3)
        rows = [{"year": y, "covered": calendar.is_covered(y),
                 "source": "holidays" if y in library_years() else (
                     "import" if y in calendar.imported_years else None),
                 "overrides": overrides.get(y, 0), "flagged_timers": flagged.get(y, 0)}
                for y in years]
        data = {"version": calendar.version, "covered_through_year": calendar.covered_through_year,
                "years": rows, "flagged_timers": flagged}
        lines = [f"日历版本 calendar version {calendar.version}; 官方数据覆盖至 covered through "
                 f"{calendar.covered_through_year}"]
        for r in rows:
            mark = "✓" if r["covered"] else "✗ 无官方数据 no official data (weekends + overrides only)"
            lines.append(f"  {r['year']}  {mark}  {r['source'] or ''}  overrides {r['overrides']}"
                         f"  flagged timers {r['flagged_timers']}")
        if not calendar.is_covered(today.year + 1):
            lines.append(f"提示 note: {today.year + 1} 年节假日安排尚未导入 — import the State "
                         f"Council notice for {today.year + 1} with `perfeval calendar import`")
        emit(as_json, data, "\n".join(lines))


def _timer_commands(main: click.Group) -> None:
    @main.command("sweep")
    @click.option("--now", default=None, help="Sweep as of this ISO 8601 time.")
    @click.option("--limit", type=int, default=None, help="Claim at most this many timers.")
    @db_options
    def sweep_cmd(db, as_json, now, limit):
        """Make every due timer take effect once (reminders, due notices, escalations)."""
        report = sweep(db, parse_now(now), limit=limit)
        summary = report.summary()
        emit(as_json, {**summary, "outcomes": [o.__dict__ for o in report.outcomes]},
             "\n".join([f"#{o.timer_id} {o.kind:<8} instance {o.instance_id} {o.state}: "
                        f"{o.outcome}" + (f" ({o.error})" if o.error else "")
                        for o in report.outcomes]
                       + [f"{_when(report.now)}: claimed {summary['claimed']}, notified "
                          f"{summary['notified']}, fired {summary['fired']}, collapsed "
                          f"{summary['collapsed']}, retry {summary['retry']}, failed "
                          f"{summary['failed']}"]))

    @main.group("scheduler", invoke_without_command=True)
    @click.option("--interval", type=float, default=DEFAULT_INTERVAL, show_default=True,
                  help="Seconds between sweeps.")
    @click.option("--no-dispatch", is_flag=True, help="Do not deliver notifications.")
    @click.option("--db", "db_url", envvar="PERFEVAL_DATABASE_URL", default=None)
    @click.pass_context
    def scheduler_group(ctx, interval, no_dispatch, db_url):
        """Run the scheduler (sweep every --interval s, then dispatch) until SIGTERM."""
        if ctx.invoked_subcommand is not None:
            return
        from engine import Database  # noqa: PLC0415

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        db = Database(db_url)
        dispatch = None if no_dispatch else _dispatcher()
        try:
            run(db, interval=interval, dispatch=dispatch,
                on_start=lambda t: click.echo(f"scheduler {t.worker} started", err=True))
        finally:
            db.dispose()

    @scheduler_group.command("status")
    @db_options
    def scheduler_status(db, as_json):
        """Every scheduler's heartbeat: alive or not, last sweep."""
        beats = heartbeats(db)
        now = utcnow()
        for b in beats:
            b["alive"] = is_alive(b, now)
        emit(as_json, beats, "\n".join(
            f"{b['worker']:<28} {'alive' if b['alive'] else 'stopped' if b['stopped_at'] else 'silent'}"
            f"  beat {_when(b['beat_at'])}  sweeps {b['sweeps']}  "
            f"{b['last_report'] or ''}{'  error: ' + b['last_error'] if b['last_error'] else ''}"
            for b in beats) or "(没有调度进程 no scheduler has run)")


def _simulate_command(main: click.Group) -> None:
    @main.command("simulate")
    @click.option("--year", type=int, required=True)
    @click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
                  help="Also write every event to this CSV file.")
    @db_options
    def simulate_cmd(db, as_json, year, csv_path):
        """Show a year's reminders, due dates and escalations before they happen
        (on a throwaway copy; the database is untouched)."""
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import Progress  # noqa: PLC0415
        from rich.table import Table  # noqa: PLC0415

        from engine.simulate import simulate_year, write_csv  # noqa: PLC0415

        console = Console(stderr=True)
        with Progress(console=console, transient=True, disable=as_json) as bar:
            task = bar.add_task(f"simulating {year}", total=1.0)
            result = simulate_year(db, year, lambda f: bar.update(task, completed=f))
        if csv_path:
            write_csv(result, csv_path)
        rows = result.table()
        if as_json:
            emit(True, {"year": year, "instances": result.instances, "months": rows,
                        "uncovered_years": list(result.uncovered_years)})
            return
        table = Table(title=f"{year} 年期限模拟 deadlines simulated ({result.instances} 个事项 instances)")
        for column in ("月 month", "流程 process", "提醒 remind", "合并 collapsed", "到期 due",
                       "督办 escalate"):
            table.add_column(column)
        for r in rows:
            table.add_row(str(r["month"]), r["definition"], str(r["remind"]),
                          str(r["collapsed"]), str(r["due"]), str(r["escalate"]))
        Console(width=max(Console().width, 110)).print(table)
        for y in result.uncovered_years:
            click.echo(f"注意 note: {y} 年无官方节假日数据,按周末估算 — no official calendar "
                       f"for {y}: weekends only, flagged")


def _deadline_commands(main: click.Group) -> None:
    @main.group("deadline")
    def group() -> None:
        """Extend, pause or resume a deadline (office; recorded in history)."""

    def _by(working_days, days, until):
        return {"working_days": working_days, "days": days,
                "until": date.fromisoformat(until) if until else None}

    def _shown(as_json, change, verb):
        emit(as_json, change.__dict__,
             f"{verb}: #{change.instance_id} {change.state} 截止 due {change.old_due} → "
             f"{change.new_due}{' (已暂停 paused)' if change.paused else ''} "
             f"(version {change.version})")

    extend_by = [click.option("--working-days", type=int, default=None),
                 click.option("--days", type=int, default=None),
                 click.option("--until", default=None, help="New due date YYYY-MM-DD.")]

    def with_extend(fn):
        for option in reversed(extend_by):
            fn = option(fn)
        return fn

    @group.command("extend")
    @click.argument("instance_id", type=int)
    @with_extend
    @REASON
    @AS_USER
    @click.option("--expected-version", type=int, default=None)
    @db_options
    def extend_cmd(db, as_json, instance_id, working_days, days, until, reason, username,
                   expected_version):
        """Extend the deadline of INSTANCE_ID's current state."""
        change = extend_deadline(db, instance_id, actor_for(db, username), reason=reason,
                                 expected_version=expected_version,
                                 **_by(working_days, days, until))
        _shown(as_json, change, "已延期 extended")

    @group.command("extend-category")
    @click.argument("definition")
    @click.option("--category", required=True, help="Unit category, e.g. 乡镇场.")
    @click.option("--state", default=None, help="Only instances in this state.")
    @with_extend
    @REASON
    @AS_USER
    @db_options
    def extend_category_cmd(db, as_json, definition, category, state, working_days, days,
                            until, reason, username):
        """Extend the deadline of every DEFINITION instance of a unit category."""
        changes = extend_category(db, definition, category, actor_for(db, username),
                                  reason=reason, state=state, **_by(working_days, days, until))
        emit(as_json, [c.__dict__ for c in changes],
             "\n".join(f"#{c.instance_id} {c.state}: {c.old_due} → {c.new_due}" for c in changes)
             + f"\n已延期 extended {len(changes)}")

    @group.command("pause")
    @click.argument("instance_id", type=int)
    @REASON
    @AS_USER
    @db_options
    def pause_cmd(db, as_json, instance_id, reason, username):
        """Stop the deadline clock of INSTANCE_ID."""
        _shown(as_json, pause_deadline(db, instance_id, actor_for(db, username), reason=reason),
               "已暂停 paused")

    @group.command("resume")
    @click.argument("instance_id", type=int)
    @REASON
    @AS_USER
    @db_options
    def resume_cmd(db, as_json, instance_id, reason, username):
        """Restart the deadline clock of INSTANCE_ID (paused days do not count)."""
        _shown(as_json, resume_deadline(db, instance_id, actor_for(db, username), reason=reason),
               "已恢复 resumed")


def register(main: click.Group) -> None:
    """Attach the time commands to ``main``."""
    _calendar_commands(main)
    _timer_commands(main)
    _simulate_command(main)
    _deadline_commands(main)
