"""``perfeval outbox list|retry|attempts|dispatch`` — the notification queue.

Messages are Chinese unless ``PERFEVAL_LOCALE`` is ``en``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import click

from engine.clock import to_local
from engine.exceptions import InvalidInput
from notifications import (DispatchConfig, attempts_of, counts, dispatch, list_dead_events,
                           list_deliveries, retry, run_forever)
from notifications.config import default_locale

from .common import db_options, emit


def _t(zh: str, en: str) -> str:
    return en if default_locale() == "en" else zh


def _when(moment: datetime | None) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"--now 不是 ISO 8601 时间 — --now is not ISO 8601: {value!r}") from exc
    if moment.tzinfo is not None:  # naive times are UTC, like every stored time
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _summary(totals: dict[str, int]) -> str:
    parts = [f"{k} {v}" for k, v in sorted(totals.items()) if v]
    return _t("合计: ", "totals: ") + (", ".join(parts) or "—")


def register(main: click.Group) -> None:
    """Attach the ``outbox`` group to ``main``."""

    @main.group("outbox")
    def group() -> None:
        """Notification queue: list, retry dead letters, dispatch."""

    @group.command("list")
    @click.option("--dead", is_flag=True, help="Only dead letters.")
    @click.option("--status", default=None,
                  type=click.Choice(["pending", "sending", "sent", "dead", "held", "folded"]))
    @click.option("--limit", type=int, default=100, show_default=True)
    @db_options
    def list_cmd(db, as_json, dead, status, limit):
        """List deliveries, newest first (with --dead: the dead letters and dead events)."""
        rows = list_deliveries(db, dead=dead, status=status, limit=limit)
        events = list_dead_events(db) if dead or status is None else []
        totals = counts(db)
        lines = [f"#{r.id:<6} {r.status:<8} {r.channel:<8} {r.recipient[:24]:<24} "
                 f"{r.event:<22} {_t('尝试', 'tries')} {r.attempts:<3} "
                 f"{_when(r.next_attempt_at) if r.status == 'pending' else ''}"
                 + (f"  {r.last_error[:80]}" if r.last_error and r.status != "sent" else "")
                 for r in rows]
        lines += [f"{_t('事件', 'event')} #{e['id']} {e['dedupe_key']} dead: {e['last_error']}"
                  for e in events]
        emit(as_json, {"deliveries": [r.__dict__ for r in rows], "dead_events": events,
                       "counts": totals},
             "\n".join(lines + [_summary(totals)]) if lines else
             _t("(无) ", "(none) ") + _summary(totals))

    @group.command("retry")
    @click.argument("ids", nargs=-1, type=int)
    @click.option("--all", "all_dead", is_flag=True, help="Every dead letter.")
    @db_options
    def retry_cmd(db, as_json, ids, all_dead):
        """Put dead letters IDS (or --all) back in the queue, due now."""
        if not ids and not all_dead:
            raise InvalidInput(_t("请指定投递编号或 --all", "give delivery ids or --all"))
        changed = retry(db, ids, all_dead=all_dead)
        emit(as_json, {"requeued": changed},
             _t(f"已重新排队 {changed} 条", f"requeued {changed}"))

    @group.command("attempts")
    @click.argument("delivery_id", type=int)
    @db_options
    def attempts_cmd(db, as_json, delivery_id):
        """Every attempt at one delivery: time, channel, outcome, error."""
        rows = attempts_of(db, delivery_id)
        emit(as_json, rows, "\n".join(
            f"{a['number']:>3} {_when(a['started_at'])} {a['channel']:<8} {a['outcome']:<11} "
            f"{a['worker']} {a['error'] or ''}" for a in rows) or _t("(无)", "(none)"))

    @group.command("dispatch")
    @click.option("--once", is_flag=True, help="One pass, then exit.")
    @click.option("--now", default=None, help="Dispatch as of this ISO 8601 time (implies --once).")
    @click.option("--interval", type=float, default=10.0, show_default=True,
                  help="Seconds between passes.")
    @db_options
    def dispatch_cmd(db, as_json, once, now, interval):
        """Deliver notifications: email (PERFEVAL_SMTP_URL), webhooks; in-app always."""
        config = DispatchConfig.from_env()
        if once or now:
            report = dispatch(db, now=_parse_now(now), config=config)
            waiting = ", ".join(f"{k} {v}" for k, v in report.waiting.items())
            emit(as_json, report.__dict__, _t(
                f"事件 {report.events},站内 {report.inbox},新投递 {report.deliveries},"
                f"汇总 {report.digests};发送成功 {report.sent},失败待重试 {report.failed},"
                f"转入死信 {report.dead}" + (f";未配置通道而等待: {waiting}" if waiting else ""),
                f"events {report.events}, in-app {report.inbox}, deliveries "
                f"{report.deliveries}, digests {report.digests}; sent {report.sent}, failed "
                f"{report.failed}, dead {report.dead}"
                + (f"; waiting for an unconfigured channel: {waiting}" if waiting else "")))
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        click.echo(_t(f"通知分发已启动,每 {interval:g} 秒一轮;Ctrl-C 停止",
                      f"dispatcher running every {interval:g}s; Ctrl-C stops it"), err=True)
        try:
            run_forever(db, interval=interval, config=config)
        except KeyboardInterrupt:
            click.echo(_t("已停止", "stopped"), err=True)
