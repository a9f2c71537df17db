"""``perfeval demo``: one command to a running evaluation office.

Without options it creates (or reuses) an embedded SQLite database in ``./instance``
(``--folder``), loads the bundled definitions, imports the bundled 74-unit sample
city, creates one demo user per role (office, committee, leader, expert, auditor,
admin, ``staff_101`` and a head ``head_<code>`` for every unit; password
:data:`DEMO_PASSWORD`), replays the evaluation year up to today and serves the web UI
at http://127.0.0.1:5000 with the scheduler in-process.

The replay (:mod:`.demo_year`) runs a dated script through the engine with its clock
pinned at each step and every timer swept at its own moment, so history entries,
reminders, overdue marks and escalations carry their real dates:

- the previous year, complete: work plan issued in January, that year's indicator
  systems filed in February (one returned once) and bound to its cycle when put in
  force, plans submitted February–March (some returned and revised, a few late:
  reminded, reported overdue and escalated on 1 April), the
  half-year window opened by the sweep on 07-15 and the annual one on 12-01 (late
  reports marked overdue and submitted late), scores entered in January while the cycle
  is in verification, results computed in scoring and published by the committee's
  approval (审定并公布结果) in February, three appeals (one upheld, one adjusted with
  re-ranking, one rejected as late), rectifications for the units graded 不合格 (one
  closed, one in progress, one overdue and escalated) — the cycle stays in 结果运用
  while they are open;
- the current year as far as today reaches, the same way — its indicator systems
  copied from the previous year's in January, one adjusted in June (re-bound to the
  current year only; the previous year keeps the system it was scored with); the demo
  users' units (101, 102, 103) keep their plans in draft, returned and under review so
  a new user can walk "unit submits, office returns, unit revises, office approves",
  and the office forced the cycle on to monitoring in April with those units listed;
- files attached on the way (a plan's XLSX, self-assessment PDFs), stored beside the
  database (``<folder>/attachments``) unless ``PERFEVAL_ATTACHMENT_DIR`` is set.

A second run reuses the data. ``perfeval demo --script`` keeps the original terminal
walkthrough: one unit's plan through review, revision and publication, then
``audit verify``.
"""

from __future__ import annotations

import logging
import os
import secrets
from contextlib import nullcontext
from datetime import date
from pathlib import Path
from time import perf_counter

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from engine import (Database, actor_for, add_user, available_triggers, fire, init,
                    read_history, start, update_data, verify_history)
from engine.attachments import AttachmentSettings
from engine.clock import local_to_utc, pinned, to_local
from engine.exceptions import WorkflowError
from engine.models import Instance, Unit, User

from .demo_year import local_now, replay_years

log = logging.getLogger(__name__)

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
# The web demo: organisation-wide users (one per role) and the first units' people.
ORG_USERS = (("office", "office", "市绩效办 王主任"), ("committee", "committee", "考评委 赵委员"),
             ("leader", "leader", "市领导 孙副市长"), ("expert", "expert", "评审专家 周教授"),
             ("auditor", "auditor", "市审计局 李审计"), ("admin", "admin", "系统管理员"))
PLAN = "performance_plan"


def seed_demo(db: Database) -> None:
    """Create the scripted demo's units and users unless they exist (idempotent)."""
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


def run_script(db: Database) -> None:
    """The terminal walkthrough (``perfeval demo --script``)."""
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


# --- the web demo ----------------------------------------------------------------------


def _units(db: Database) -> list:
    with db.read() as conn:
        return conn.execute(select(Unit.id, Unit.code, Unit.name, Unit.category)
                            .order_by(Unit.code)).all()


def _city_subset(db: Database, size: int) -> None:
    """The first units of each category of the sample city, ``size`` in all (tests)."""
    from engine.org import read_table
    from engine.people import SAMPLES, samples_dir

    rows = read_table(samples_dir() / SAMPLES["city"])[1:]
    categories = list(dict.fromkeys(r[2] for r in rows))
    per = -(-size // len(categories))
    chosen = [r for c in categories for r in [x for x in rows if x[2] == c][:per]][:size]
    with db.write_session() as session:
        session.add_all(Unit(code=str(c), name=n, category=k) for c, n, k in chosen)


def _load_organisation(db: Database, size: int | None = None) -> str:
    """The bundled sample city (or ``size`` of its units) if present, else the small
    demo county."""
    try:
        if size:
            _city_subset(db, size)
            return f"city, {size} units"
        from engine.people import load_sample

        load_sample(db, "city")
        return "city"
    except (ImportError, WorkflowError, OSError) as exc:
        log.warning("sample city unavailable (%s); using the demo county", exc)
        seed_demo(db)
        return "county"


def _add_users(db: Database, units: list) -> list[tuple[str, str, str]]:
    """One user per organisation role, a head for every unit, staff for the first."""
    with db.read() as conn:
        taken = set(conn.execute(select(User.username)).scalars())
    people = [(u, (role,), None, name) for u, role, name in ORG_USERS]
    people.append((f"staff_{units[0].code}", ("unit_staff",), units[0].code,
                   f"{units[0].name} 经办人"))
    people += [(f"head_{u.code}", ("unit_head",), u.code, f"{u.name} 负责人") for u in units]
    shown = []
    for username, roles, unit, name in people:
        if username not in taken:
            add_user(db, username, DEMO_PASSWORD, roles, unit_code=unit, display_name=name)
        if unit is None or unit in {u.code for u in units[:3]}:
            shown.append((username, roles[0], name))
    return shown


def _has_plans(db: Database) -> bool:
    """Whether the demo's data exists (False too when the schema does not yet)."""
    try:
        with db.read() as conn:
            return conn.execute(select(Instance.id).where(Instance.definition_key == PLAN)
                                .limit(1)).first() is not None
    except SQLAlchemyError:
        return False


def _attachment_settings(db: Database, folder: Path | None) -> AttachmentSettings:
    """Where the demo's files go: ``folder``, else ``PERFEVAL_ATTACHMENT_DIR``, else
    ``attachments`` beside a SQLite database (the demo's folder), else the default."""
    if folder is not None:
        return AttachmentSettings(Path(folder))
    if not os.environ.get("PERFEVAL_ATTACHMENT_DIR") and db.dialect == "sqlite" \
            and db.engine.url.database:
        return AttachmentSettings(Path(db.engine.url.database).resolve().parent / "attachments")
    return AttachmentSettings.from_env()


def setup_web_demo(db: Database, console: Console, *, units: int | None = None,
                   attachments: Path | None = None) -> list[tuple[str, str, str]]:
    """Initialise, import, add users and replay the evaluation years up to today
    (:mod:`.demo_year`); idempotent. Returns the users to show.

    ``units`` takes that many units of the sample city instead of all 74 (tests);
    ``attachments`` is the folder for the demo's files (default: beside the database).
    """
    ready = _has_plans(db)
    year = local_now().year
    # the organisation exists before the first step of the previous year
    with (nullcontext() if ready else pinned(local_to_utc(date(year - 1, 1, 4), 8))):
        init(db)
        which = _load_organisation(db, units) if not ready else "existing"
        rows = _units(db)
        shown = _add_users(db, rows)
    if ready:
        console.print("演示数据已存在 demo data exists — reusing it")
        return shown
    started = perf_counter()
    replay = replay_years(db, rows, year, attachments=_attachment_settings(db, attachments))
    console.print(f"已导入 {len(rows)} 个单位 ({which}) · {_cycle_states(db)} — replayed "
                  f"{replay.days} days of {year - 1}–{year} with {replay.sweeps} timer sweeps "
                  f"in {perf_counter() - started:.1f} s")
    return shown


def _cycle_states(db: Database) -> str:
    """``2025 年度考评:结果运用 · 2026 年度考评:年终评估准备``."""
    from engine.cycles import CYCLE_KEY
    from engine.dashboard import cycles
    from engine.registry import latest

    states = latest(db, CYCLE_KEY).definition.states
    with db.read() as conn:
        now = dict(conn.execute(select(Instance.id, Instance.state).where(
            Instance.definition_key == CYCLE_KEY)).all())
    return " · ".join(f"{c['year']} 年度考评:{states[now[c['instance_id']]].label.zh}"
                      for c in reversed(cycles(db)))


def _credentials(shown: list[tuple[str, str, str]]) -> Table:
    table = Table(title=f"演示账号 demo users — password / 密码: {DEMO_PASSWORD}")
    for column in ("username 用户名", "role 角色", "name 姓名"):
        table.add_column(column)
    for row in shown:
        table.add_row(*row)
    table.add_row("head_<单位编码>", "unit_head", "每个单位一名负责人 one head per unit")
    return table


def _demo_anchor(db: Database, folder: Path, console: Console) -> Path:
    """The demo signs audit anchors like a production office would: a key in the demo
    folder (unless ``PERFEVAL_ANCHOR_KEY`` names one), used by the demo's scheduler for
    the daily anchor, and a first anchor now if none was written yet."""
    from engine.anchor import anchor, list_anchors
    from engine.anchor_keys import KEY_ENV, keygen, signing_key

    path = Path(os.environ.get(KEY_ENV) or folder / "anchor-key.pem")
    if not path.exists():
        keygen(path)
    if not list_anchors(db, limit=1):
        written = anchor(db, signing_key(path), origin="demo", created_by="demo")
        console.print(f"已签发审计锚点 audit anchor #{written['id']} (密钥 key: {path})")
    return path.resolve()


def _secret_key(folder: Path) -> str:
    path = folder / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def register(main: click.Group) -> None:
    """Attach ``demo`` to ``main``."""

    @main.command("demo")
    @click.option("--script", is_flag=True,
                  help="Run the scripted terminal walkthrough instead of the web UI.")
    @click.option("--folder", type=click.Path(file_okay=False, path_type=Path),
                  default=Path("instance"), show_default=True,
                  help="Folder for the embedded SQLite database (when --db is not given).")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @click.option("--no-serve", is_flag=True, help="Set up the demo data and exit.")
    @click.option("--db", "db_url", envvar="PERFEVAL_DATABASE_URL", default=None,
                  help="Database URL (default: a SQLite file in --folder).")
    def demo(script, folder, host, port, no_serve, db_url):
        """One command to a running evaluation office: demo data, web UI, scheduler."""
        folder.mkdir(parents=True, exist_ok=True)
        db = Database(db_url or f"sqlite:///{folder.resolve() / 'perfeval.db'}")
        try:
            if script:
                run_script(db)
            else:
                _web_demo(db, folder, host, port, no_serve)
        finally:
            db.dispose()


def _web_demo(db: Database, folder: Path, host: str, port: int, no_serve: bool) -> None:
    console = Console()
    console.print(f"数据库 database: {db.engine.url}")
    files = None if os.environ.get("PERFEVAL_ATTACHMENT_DIR") else folder / "attachments"
    shown = setup_web_demo(db, console, attachments=files)  # where the app looks for them
    key = _demo_anchor(db, folder, console)
    console.print(_credentials(shown))
    if no_serve:
        return
    os.environ.setdefault("PERFEVAL_ANCHOR_KEY", str(key))  # the scheduler's daily anchor
    from ..app import create_app
    from .serve import serve_app

    app = create_app({"DB": db, "SECRET_KEY": _secret_key(folder),
                      "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
    app.instance_path = str(folder.resolve())
    console.print(f"[bold green]打开 open http://{host}:{port}/[/bold green]  (Ctrl+C 停止 stop)")
    serve_app(app, db, host=host, port=port, with_scheduler=True)
