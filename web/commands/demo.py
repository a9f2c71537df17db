"""``perfeval demo``: a ready-to-try database and a scripted performance-plan year.

Until the web UI lands, the demo sets up the embedded SQLite database (schema,
bundled definitions, a small demo county and its users) and walks one unit's annual
performance plan through its whole life — including a revision round — through the
same engine calls the UI will make, then verifies the history chain.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from engine import (Database, actor_for, add_user, available_triggers, fire, init,
                    read_history, start, update_data, verify_history)
from engine.clock import to_local
from engine.models import Unit, User

from .common import db_options

DEMO_PASSWORD = "perfeval-demo"
DEMO_UNITS = (
    ("101", "县发展和改革局", "县直单位"), ("102", "县财政局", "县直单位"),
    ("103", "县教育局", "县直单位"), ("201", "城关镇", "乡镇场"),
    ("202", "新华乡", "乡镇场"), ("301", "县国家税务局", "驻县单位"),
)
DEMO_USERS = (
    ("office", ("office",), None, "县绩效办 王主任"),
    ("auditor", ("auditor",), None, "县审计局 李审计"),
    ("fgj_staff", ("unit_staff",), "101", "发改局 经办人 张明"),
    ("fgj_head", ("unit_head",), "101", "发改局 局长 陈刚"),
    ("czj_head", ("unit_head",), "102", "财政局 局长 刘洋"),
)


def seed_demo(db: Database) -> None:
    """Create the demo units and users unless they exist (idempotent)."""
    with db.write_session() as session:
        existing = set(session.scalars(select(Unit.code)))
        session.add_all(Unit(code=c, name=n, category=k) for c, n, k in DEMO_UNITS
                        if c not in existing)
    with db.read() as conn:
        users = set(conn.execute(select(User.username)).scalars())
    for username, roles, unit, name in DEMO_USERS:
        if username not in users:
            add_user(db, username, DEMO_PASSWORD, roles, unit_code=unit, display_name=name)


def run_plan_lifecycle(db: Database, console: Console) -> int:
    """Walk one annual plan through draft → revision → publication; return its id."""
    staff, head, office = (actor_for(db, u) for u in ("fgj_staff", "fgj_head", "office"))
    plan = start(db, "performance_plan", staff, unit_code="101")
    pid = plan.instance_id
    steps = [
        ("经办人起草", lambda: update_data(db, pid, staff, {"goals": "全年固定资产投资增长8%"})),
        ("尝试报送(缺工作措施)", lambda: fire(db, pid, "submit", head)),
        ("补充工作措施", lambda: update_data(db, pid, staff, {"measures": "项目清单化、责任到人"})),
        ("局长报送", lambda: fire(db, pid, "submit", head)),
        ("绩效办开始审核", lambda: fire(db, pid, "start_review", office)),
        ("绩效办退回修改", lambda: fire(db, pid, "request_revision", office,
                                  comment="目标需量化到季度")),
        ("修改目标", lambda: update_data(db, pid, staff, {"goals": "固定资产投资每季度增长2%"})),
        ("重新报送", lambda: fire(db, pid, "submit", head)),
        ("再次审核", lambda: fire(db, pid, "start_review", office)),
        ("审核备案", lambda: fire(db, pid, "approve", office)),
        ("向社会公布", lambda: fire(db, pid, "publish", office)),
    ]
    console.print(f"[bold]年度绩效计划 #{pid} — 县发展和改革局[/bold]")
    for title, step in steps:
        try:
            result = step()
            console.print(f"  ✓ {title}: {result.from_state} → {result.to_state}")
        except Exception as exc:  # noqa: BLE001 - the demo shows refusals on purpose
            console.print(f"  ✗ {title}: [yellow]{getattr(exc, 'message', exc)}[/yellow]")
    return pid


def _history_table(db: Database, pid: int) -> Table:
    table = Table(title=f"#{pid} 历史记录 history (hash-chained)")
    for column in ("seq", "时间 (北京)", "from → to", "trigger", "actor (role)", "hash"):
        table.add_column(column)
    for e in read_history(db, pid):
        table.add_row(str(e["seq"]), to_local(e["at"]).strftime("%m-%d %H:%M:%S"),
                      f"{e['from_state'] or '—'} → {e['to_state']}", e["trigger"],
                      f"{e['actor']} ({e['role']})", e["hash"][:12])
    return table


def register(main: click.Group) -> None:
    """Attach ``demo`` to ``main``."""

    @main.command("demo")
    @db_options
    def demo(db, as_json):  # noqa: ARG001
        """Set up the demo database and run a scripted performance-plan lifecycle."""
        console = Console()
        revision, loaded = init(db)
        console.print(f"数据库 database: {db.engine.url} (schema {revision}), "
                      f"{len(loaded)} definition(s)")
        seed_demo(db)
        pid = run_plan_lifecycle(db, console)
        console.print(_history_table(db, pid))
        actions = available_triggers(db, pid, actor_for(db, "auditor"))
        console.print(f"审计员可执行的操作 auditor's actions: {len(actions)} (read-only)")
        report = verify_history(db)
        console.print(f"审计校验 audit verify: {'OK' if report.ok else 'FAILED'} — "
                      f"{report.instances} instances, {report.entries} entries")
        console.print(f"演示账号 demo users: {', '.join(u[0] for u in DEMO_USERS)} "
                      f"/ password {DEMO_PASSWORD}")
