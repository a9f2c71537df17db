"""Support for the browser tour (tests/web/test_browser__tour.py): the demo's data with
every page populated, and a breadth-first crawler of one signed-in browser context.

:func:`build_site` runs the web demo's own set-up (``web.commands.demo.setup_web_demo``:
the 74-unit sample city, one user per role, the evaluation years replayed up to today
with overdue plans, escalations, results, appeals and attachments) and tops up what a
demo without them lacks (indicator systems in force, results computed and published, an
appeal, an attachment), then adds API tokens, a failed sign-in and calendar overrides.

:class:`Crawler` follows every same-origin GET link from the start page, recording each
page's status, console errors (CSP violations included) and a full-page screenshot per
distinct page; exports and downloads are fetched, not visited.
"""

from __future__ import annotations

import inspect
import io
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from sqlalchemy import func, select

from engine import Database, actor_for, fire, start
from engine.appeals import file_appeal
from engine.attachments import AttachmentSettings, attach, attachments
from engine.calendar_admin import set_override
from engine.models import Instance, Unit, User
from engine.results import compute_results, enter_scores, record_veto
from engine.scoring_models import Cycle, ResultRow
from engine.signins import record_login
from web.api.tokens import create_token
from web.commands.demo import DEMO_PASSWORD, setup_web_demo
from cycle_support import walk_to

INDICATORS = [
    {"code": "K1", "name": "重点工作", "weight": 60, "method": "direct", "verifier": "督查室"},
    {"code": "K2", "name": "依法行政", "weight": 40, "method": "direct", "verifier": "法制办"},
]
# Links fetched (status checked) but not visited and screenshotted.
FETCH_ONLY = re.compile(r"(/export\.|/attachments/\d+$|^/api/)")
# Never followed: they end the session or change state on GET-looking links.
SKIP = re.compile(r"^/(logout|lang)$")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
TRACEBACK = ("Traceback (most recent call last)", "Internal Server Error",
             "jinja2.exceptions", "werkzeug.exceptions")


def _systems(db: Database, year: int) -> None:
    """An indicator system of ``year`` in force for each category that has none."""
    office, committee = actor_for(db, "office"), actor_for(db, "committee")
    with db.read() as conn:
        categories = set(conn.execute(select(Unit.category)).scalars())
        in_force = {data["category"] for data in conn.execute(select(Instance.data).where(
            Instance.definition_key == "indicator_system", Instance.state == "in_force"))
            .scalars() if data.get("year") == year}
    for category in sorted(categories - in_force):
        iid = start(db, "indicator_system", office,
                    data={"year": year, "category": category,
                          "indicators": INDICATORS}).instance_id
        for trigger, who in (("submit", office), ("start_review", committee),
                             ("approve", committee), ("put_in_force", office)):
            fire(db, iid, trigger, who)


def _published_year(db: Database) -> int:
    """The newest year with published results; when there is none, the newest cycle's
    results are entered (every unit), one unit vetoed, computed and published."""
    with db.read() as conn:
        year = conn.execute(select(func.max(Cycle.year)).join(
            ResultRow, ResultRow.cycle_id == Cycle.id)
            .where(ResultRow.published_at.is_not(None))).scalar()
        if year is not None:
            return year
        year = conn.execute(select(func.max(Cycle.year))).scalar_one()
        codes = list(conn.execute(select(Unit.code).order_by(Unit.code)).scalars())
    _systems(db, year)
    office = actor_for(db, "office")
    rows = [(code, item, 60 + (index * 7 + offset) % 40)
            for index, code in enumerate(codes)
            for offset, item in enumerate(("K1", "K2", "public", "leadership"))]
    walk_to(db, year, "scoring")  # scores are entered in 综合计分
    assert enter_scores(db, year, office, rows) == []
    record_veto(db, year, office, codes[-1], "K1", "发生重大安全生产责任事故")
    compute_results(db, year, office, "年终综合计分")
    walk_to(db, year, "publicity")  # the committee's approval publishes them
    return year


def _count(db: Database, statement) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(statement.subquery())).scalar_one()


def build_site(db: Database, folder: Path) -> dict:
    """The demo's data, topped up with whatever of the tour's needs it lacks (results
    published, an appeal, an attachment), plus API tokens, a failed sign-in and
    calendar overrides; returns facts the tests use."""
    settings = AttachmentSettings(folder / "attachments")
    options = {"attachments": settings.directory} \
        if "attachments" in inspect.signature(setup_web_demo).parameters else {}
    setup_web_demo(db, Console(file=io.StringIO()), **options)
    year = _published_year(db)
    head = actor_for(db, "head_101")
    if not _count(db, select(Instance.id).where(Instance.definition_key == "appeal")):
        file_appeal(db, year, head, "重点工作完成情况佐证材料未被采纳")
    if not _count(db, select(attachments.c.id)):
        with db.read() as conn:
            plan = conn.execute(select(func.max(Instance.id))
                                .join(Unit, Unit.id == Instance.subject_unit_id)
                                .where(Unit.code == "101",
                                       Instance.definition_key == "performance_plan")).scalar()
        attach(db, plan, head, "季度分解表.csv", io.BytesIO("季度,目标\n一,2%\n".encode()),
               settings=settings)
    create_token(db, "office", "数据同步脚本", created_by="admin")
    create_token(db, "head_101", "报表工具", created_by="head_101")
    record_login(db, kind="web", outcome="bad_password", username="head_101", user_id=None,
                 address="10.0.0.8", user_agent="Mozilla/5.0")
    admin = actor_for(db, "admin")
    set_override(db, admin, date(year + 1, 12, 31), False, "年末调休")
    set_override(db, admin, date(year + 1, 12, 26), True, "调休上班")
    with db.read() as conn:
        names = list(conn.execute(select(Unit.name)).scalars())
        names += set(conn.execute(select(Unit.category)).scalars())
        people = list(conn.execute(select(User.display_name)).scalars())
        other = conn.execute(select(func.max(Instance.id))
                             .join(Unit, Unit.id == Instance.subject_unit_id)
                             .where(Unit.code == "102")).scalar_one()
    return {"year": year, "unit_names": names, "people": people, "other_unit": other,
            "password": DEMO_PASSWORD}


def slug(url: str) -> str:
    """A file name for a page: ``/instances/12`` → ``instances-n``,
    ``/results/?year=2025`` → ``results-year-2025``."""
    parts = urlsplit(url)
    text = re.sub(r"/\d+", "/n", parts.path).strip("/").replace("/", "-").replace(".", "-")
    text = text or "home"
    if parts.query:
        text += "-" + re.sub(r"[=&]", "-", parts.query)
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:80]


def pattern(path: str) -> str:
    """Pages of one kind share a pattern: numbers in the path become ``<n>``."""
    return re.sub(r"/\d+", "/<n>", path)


@dataclass
class Visit:
    """One page or file the crawler reached."""

    url: str
    status: int
    source: str
    problems: list[str] = field(default_factory=list)


class Crawler:
    """Breadth-first crawl of one signed-in context from ``start``.

    At most ``cap`` URLs of one pattern (``/instances/<n>`` …, query strings
    included) from pages of one pattern, so the tour sees instances of every kind the
    pages link to (tasks, the cycle, appeals …) without walking all 74 units' processes.
    """

    def __init__(self, page, base: str, shots: Path, cap: int = 2) -> None:
        self.page, self.base, self.shots, self.cap = page, base, shots, cap
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}")
                if m.type == "error" or "Refused to" in m.text else None)
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.visits: list[Visit] = []
        self.seen: set[str] = set()
        self.per_pattern: dict[tuple[str, str], int] = {}
        self.shot_patterns: set[str] = set()  # screenshot names taken

    def _local(self, href: str) -> str | None:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != self.base or not parts.path:
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _admit(self, local: str, source: str) -> bool:
        path = local.split("?")[0]
        if local in self.seen or SKIP.match(path):
            return False
        key = (pattern(path), pattern(source.split("?")[0]))
        if self.per_pattern.get(key, 0) >= self.cap:
            return False
        self.seen.add(local)
        self.per_pattern[key] = self.per_pattern.get(key, 0) + 1
        return True

    def links(self) -> list[str]:
        """The same-origin hrefs of the current page, in document order."""
        hrefs = self.page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        out = []
        for href in hrefs:
            local = self._local(href.split("#")[0])
            if local and local not in out:
                out.append(local)
        return out

    def nav_links(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all("header a[href]", "els => els.map(e => e.href)")
        return [local for local in (self._local(h) for h in hrefs) if local]

    def _fetch(self, local: str, source: str) -> None:
        response = self.page.context.request.get(self.base + local, max_redirects=0)
        self.visits.append(Visit(local, response.status, source))
        response.dispose()

    def _visit(self, local: str, source: str, check=None) -> list[str]:
        before = len(self.console)
        response = self.page.goto(self.base + local)
        visit = Visit(local, response.status if response else 0, source)
        self.visits.append(visit)
        text = self.page.content()
        visit.problems += [f"shows {marker!r}" for marker in TRACEBACK if marker in text]
        visit.problems += self.console[before:]
        del self.console[before:]
        if check:
            visit.problems += check(self.page)
        name = slug(self.page.url)
        if name not in self.shot_patterns:
            self.shot_patterns.add(name)
            self.shots.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        return self.links() if visit.status == 200 else []

    def crawl(self, start: str = "/", check=None, limit: int = 80) -> list[Visit]:
        """Visit ``start`` and everything reachable from it (at most ``limit`` pages)."""
        self.seen.add(start)
        queue = deque([(start, "(start)")])
        pages = 0
        while queue and pages < limit:
            local, source = queue.popleft()
            if FETCH_ONLY.search(local.split("?")[0]):
                self._fetch(local, source)
                continue
            pages += 1
            for link in self._visit(local, source, check):
                if self._admit(link, local):
                    queue.append((link, local))
        return self.visits


def cjk_chrome(page, data: list[str]) -> list[str]:
    """Chinese text in the page's chrome (nav, headings, table headers, buttons, labels)
    once data (unit names, people's names) is taken out."""
    texts = page.eval_on_selector_all(
        "header nav a, h1, h2, h3, th, button:not(#lang-switch), label, "
        "input[type=submit], legend, caption",
        "els => els.map(e => (e.innerText || e.value || '').trim())")
    found = []
    for text in texts:
        rest = text
        for name in data:
            rest = rest.replace(name, "")
        if CJK.search(rest) and text not in found:
            found.append(text)
    return found


def empty_tables(page) -> list[str]:
    """Tables with headers but no rows: a page must say it has nothing to show."""
    return page.eval_on_selector_all(
        "table", "els => els.filter(t => t.tHead && (!t.tBodies.length || "
                 "![...t.tBodies].some(b => b.rows.length))).map(t => t.id || t.className)")


def unlabelled_buttons(page) -> list[str]:
    """Buttons a person cannot read: no text, or a code name (``start_review``)."""
    texts = page.eval_on_selector_all(
        "button, input[type=submit]", "els => els.map(e => (e.innerText || e.value || '')"
                                      ".replace(/\\s*\\*$/, '').trim())")
    return [t or "(empty)" for t in texts if not t or re.fullmatch(r"[a-z]+(_[a-z]+)+|[a-z]+", t)]


def page_problems(page) -> list[str]:
    """What a new user would stumble on, whatever the language."""
    return ([f"empty table without a word: {t!r}" for t in empty_tables(page)]
            + [f"button without a readable label: {t!r}" for t in unlabelled_buttons(page)])
