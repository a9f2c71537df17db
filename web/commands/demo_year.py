"""The demo's evaluation years, replayed up to today on the engine's clock.

:func:`replay_years` builds a dated script — a list of :class:`Step` (a local
wall-clock time and an action) — for the previous year ``Y-1`` (complete: plans,
half-year and annual reports, scores, results published in February of ``Y``, three
appeals, rectifications) and the current year ``Y`` (as far as today reaches), and runs
the steps at or before now in date order. Every action goes through the engine's
functions with :func:`engine.clock.pinned` set to the step's moment, and between steps
every pending timer is swept at its own due moment (the real
:func:`engine.timers.sweep`, as ``perfeval simulate`` does), so reminders, overdue
marks, escalations and the cycle's window openings carry their real times; the
notification dispatcher runs at the end of each day with actions.

The replay follows the cycle's stage gates: scores are entered while the previous
year's cycle is in verification (指标考核与评议), computed in scoring (综合计分), and
published by the committee's ``approve_results`` (no separate publication step);
appeals are filed in 公示 and decided in 申诉复核. Each year has its own indicator
systems, bound to its cycle when put in force: the current year's are copied from the
previous year's, and one of them is adjusted in June without touching last year's.

Unit ``i`` (units in code order) follows a profile chosen by its index, so the same
script works for the 74-unit sample city and for a dozen units in the tests (nine at least):
most plans are submitted from mid-February to late March and approved, every fifth
is returned once and revised, a few are late (reminded, reported overdue and escalated
by the sweep on 1 April); in the current year the first three units' plans (the
demo users' units) stay in draft, returned and under review, so the cycle is moved
to monitoring by an office force whose comment lists them. Steps of the same day that
are plain transitions share one write transaction (:func:`engine.instances.fire_on`),
each at its own pinned time.
"""

from __future__ import annotations

import io
import logging
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any, Callable

from sqlalchemy import func, select

from engine import Actor, Database, actor_for
from engine.appeals import file_appeal, issue_rectifications
from engine.attachments import AttachmentSettings, attach
from engine.calendar import WorkCalendar, calendar_for
from engine.clock import local_to_utc, pinned, to_local, utcnow
from engine.cycles import advance, cycle_for_year, force, open_cycle
from engine.indicator_systems import copy_year
from engine.instances import fire_on, start, update_data
from engine.models import Instance, Timer
from engine.results import adjust_for_appeal, compute_results, enter_scores
from engine.timers import sweep

log = logging.getLogger(__name__)
_t, _i = Timer.__table__, Instance.__table__

#: Indicator system of every category (weights total 100; V1 is a veto item).
INDICATORS = (
    {"code": "K1", "name": "党委政府重点工作", "weight": 40, "method": "direct",
     "verifier": "市委督查室", "veto": "no"},
    {"code": "K2", "name": "职能工作目标", "weight": 35, "method": "direct",
     "verifier": "市绩效办", "veto": "no"},
    {"code": "K3", "name": "依法行政与服务效能", "weight": 15, "method": "direct",
     "verifier": "市司法局", "veto": "no"},
    {"code": "K4", "name": "党风廉政建设", "weight": 10, "method": "direct",
     "verifier": "市纪委监委", "veto": "no"},
    {"code": "V1", "name": "安全生产", "weight": 0, "method": "direct",
     "verifier": "市应急管理局", "veto": "yes"},
)
GOALS = {"goals": "全年重点任务按季度分解,主要指标增长8%", "measures": "项目清单化、责任到人、每月调度"}
REVISED = {"goals": "全年重点任务按季度分解:一季度20%、二季度50%、三季度75%、四季度100%"}
HALF_REPORT = "上半年重点任务完成进度过半,主要指标达到序时进度,存在问题及下半年措施见附件。"
WORK_PLAN = ("{0}年度绩效评估工作实施方案:3月31日前报送年度绩效计划;7月中旬开展半年自评,"
             "7月31日前报送;12月上旬开展年度自评,12月10日前报送;次年1月综合计分,"
             "2月公布结果并受理申诉。")
ANNUAL_REPORT = "全年绩效目标基本完成,重点项目全部按期推进,自评得分及佐证材料已报送。"


@dataclass(frozen=True)
class Move:
    """One transition of one unit's instance (resolved when it runs)."""

    key: str                 # child definition of the year's cycle, or a demo handle
    unit: int                # index into the units
    trigger: str
    who: str                 # username, or "head" for the unit's head
    data: dict | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Step:
    """One dated action of the script: a :class:`Move` or a call."""

    at: datetime             # local wall-clock time (naive)
    year: int                # the cycle year it belongs to
    action: Move | Callable[["Replay"], Any]
    label: str = ""


@dataclass
class Replay:
    """The database, the units and what the script has created so far."""

    db: Database
    units: list                       # rows (id, code, name, category), code order
    attachments: AttachmentSettings
    actors: dict[str, Actor] = field(default_factory=dict)
    children: dict[tuple[int, str, int], int] = field(default_factory=dict)
    named: dict[str, int] = field(default_factory=dict)   # appeals, rectifications, …
    days: int = 0
    sweeps: int = 0

    def actor(self, username: str) -> Actor:
        """The (cached) actor of ``username``."""
        if username not in self.actors:
            self.actors[username] = actor_for(self.db, username)
        return self.actors[username]

    def head(self, index: int) -> Actor:
        """The head of unit ``index``."""
        return self.actor(f"head_{self.units[index].code}")

    def child(self, year: int, key: str, index: int) -> int:
        """The id of unit ``index``'s ``key`` instance in the ``year`` cycle."""
        found = self.children.get((year, key, index))
        if found is None:
            parent = cycle_for_year(self.db, year)["instance_id"]
            by_unit = {u.id: n for n, u in enumerate(self.units)}
            with self.db.read() as conn:
                rows = conn.execute(select(_i.c.subject_unit_id, _i.c.definition_key,
                                           _i.c.id).where(_i.c.parent_id == parent)).all()
            for unit_id, k, iid in rows:
                if unit_id in by_unit:
                    self.children.setdefault((year, k, by_unit[unit_id]), iid)
            found = self.children[(year, key, index)]
        return found

    def resolve(self, year: int, move: Move) -> int:
        """The instance a move acts on."""
        if move.key in self.named or move.key.startswith(("appeal:", "rect:", "system:")):
            return self.named[move.key]
        return self.child(year, move.key, move.unit)


# --- the calendar of the script ------------------------------------------------------


class Dates:
    """Working-day arithmetic of the script (the database's calendar)."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.cal = calendar

    def on(self, year: int, month: int, day: int, plus: int = 0) -> date:
        """``year-month-day`` + ``plus`` calendar days, rolled to a working day."""
        return self.cal.roll(date(year, month, day) + timedelta(days=plus))

    def after(self, day: date, working_days: int) -> date:
        """``working_days`` working days after ``day``."""
        return self.cal.add_working_days(day, working_days)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


# --- who does what: profiles by unit index -------------------------------------------


MIN_UNITS = 9


def profiles(n: int) -> dict[str, set[int]]:
    """Which units (by index) are late, returned, low-graded, appealing, … (at least
    :data:`MIN_UNITS`: three demo users' units, three graded lowest, three appealing)."""
    if n < MIN_UNITS:
        raise ValueError(f"the demo's year needs at least {MIN_UNITS} units, not {n}")
    demo = {0, 1, 2} if n > 5 else set()
    rest = [i for i in range(n) if i not in demo]
    low = sorted({rest[len(rest) // 2], rest[(3 * len(rest)) // 4], rest[-1]})
    others = [i for i in rest if i not in low]
    return {
        "demo": demo,
        "late_plan": {i for i in rest if i % 11 == 6} or {rest[0]},
        "returned_plan": {i for i in rest if i % 5 == 3},
        "late_half": {i for i in rest if i % 13 == 5} or {rest[1]},
        "sent_back_half": {i for i in rest if i % 17 == 8},
        "late_annual": {i for i in rest if i % 13 == 9} or {rest[2]},
        "low": set(low),
        "upheld": {others[0]}, "adjusted": {others[1]}, "late_appeal": {others[2]},
    }


def _scores(units: list, low: set[int]) -> list[tuple[str, str, str]]:
    """Plausible scores (indicator values, 公众评议, 领导评价) for every unit."""
    rows = []
    for index, unit in enumerate(units):
        rng = random.Random(f"perfeval-demo-{unit.code}")
        base = rng.uniform(45, 54) if index in low else rng.uniform(74, 95)
        for item in [r["code"] for r in INDICATORS if r["veto"] == "no"] + ["public"]:
            value = min(Decimal(100), Decimal(str(round(base + rng.uniform(-6, 5), 1))))
            rows.append((unit.code, item, str(value)))
    return rows


def _leadership(units: list, low: set[int]) -> list[tuple[str, str, str]]:
    rows = []
    for index, unit in enumerate(units):
        rng = random.Random(f"perfeval-demo-lead-{unit.code}")
        value = rng.uniform(50, 60) if index in low else rng.uniform(78, 96)
        rows.append((unit.code, "leadership", str(round(value, 1))))
    return rows


# --- the script ----------------------------------------------------------------------


def _indicator_systems(rp: Replay, d: Dates, year: int, current: bool) -> list[Step]:
    """One indicator system per category for ``year``: drafted in January (the previous
    year's from scratch; the current year's copied from the previous year's with
    :func:`engine.indicator_systems.copy_year`), filed in February (the first one
    returned once by the committee and re-filed) and put in force, which binds it to
    the year's cycle; last year's are archived then. In the current year the first
    category's system is adjusted in June (:func:`_adjustment`)."""
    categories = sorted({u.category for u in rp.units})
    steps: list[Step] = []
    drafted = d.on(year, 1, 19)
    submitted = d.on(year, 2, 2)
    if current:
        steps.append(Step(_at(drafted, 10), year, _copy_systems(year, categories),
                          f"复制 {year - 1} 年度指标体系"))
    for n, category in enumerate(categories):
        handle = f"system:{year}:{category}"

        def create(rp: Replay, category=category, handle=handle) -> None:
            rp.named[handle] = start(rp.db, "indicator_system", rp.actor("office"), data={
                "year": year, "category": category,
                "indicators": [dict(r) for r in INDICATORS]}).instance_id

        if not current:
            steps.append(Step(_at(drafted, 10, n), year, create, f"{category} 指标体系起草"))
        steps.append(Step(_at(submitted, 10, n), year, Move(handle, 0, "submit", "office")))
        steps.append(Step(_at(d.after(submitted, 1), 9, 30 + n), year,
                          Move(handle, 0, "start_review", "committee")))
        if n == 0:
            steps += _returned_once(d, year, handle, back := d.after(submitted, 2))
            approve = d.after(back, 4)
        else:
            approve = d.after(submitted, 3)
        steps.append(Step(_at(approve, 10, n), year, Move(handle, 0, "approve", "committee")))
        in_force = d.after(submitted, 8)
        steps.append(Step(_at(in_force, 9, 30 + n), year,
                          Move(handle, 0, "put_in_force", "office")))
        if current:
            old = f"system:{year - 1}:{category}"
            steps.append(Step(_at(in_force, 9, 45 + n), year, Move(old, 0, "archive", "office")))
    if current and categories:
        steps += _adjustment(d, year, f"system:{year}:{categories[0]}")
    return steps


def _returned_once(d: Dates, year: int, handle: str, back: date) -> list[Step]:
    """The committee sends a system back on ``back``; the office revises and resubmits."""
    again = d.after(back, 2)
    return [
        Step(_at(back, 15), year, Move(handle, 0, "send_back", "committee",
                                       comment="K1 指标权重偏低,请按重点工作占比调整后重新报审")),
        Step(_at(again, 10), year, Move(handle, 0, "submit", "office",
                                        data={"indicators": [dict(r) for r in INDICATORS]},
                                        comment="已按意见调整 K1 权重说明")),
        Step(_at(again, 16), year, Move(handle, 0, "start_review", "committee")),
    ]


def _copy_systems(year: int, categories: list[str]) -> Callable[[Replay], Any]:
    """Copy every category's system of ``year - 1`` into ``year`` (one transaction)."""
    def run(rp: Replay) -> None:
        ids = copy_year(rp.db, year - 1, year, rp.actor("office"))
        with rp.db.read() as conn:
            by_id = dict(conn.execute(select(_i.c.id, _i.c.data).where(_i.c.id.in_(ids))).all())
        for iid, data in by_id.items():
            rp.named[f"system:{year}:{data['category']}"] = iid
    return run


#: the first category's indicators after the current year's mid-year adjustment
ADJUSTED = tuple({**r, "weight": {"K1": 45, "K2": 30}.get(r["code"], r["weight"])}
                 for r in INDICATORS)


def _adjustment(d: Dates, year: int, handle: str) -> list[Step]:
    """The committee adjusts one system of the current year in June (K1 45, K2 30):
    re-bound to the current year's cycle; last year's binding stays as it was."""
    opened, closed = d.on(year, 6, 15), d.on(year, 6, 22)

    def edit(rp: Replay) -> None:
        update_data(rp.db, rp.named[handle], rp.actor("office"), {
            "indicators": [dict(r) for r in ADJUSTED],
            "adjustment_reason": "市委全会部署新增重点项目,K1 重点工作权重由 40 调整为 45,K2 由 35 调整为 30"})

    return [Step(_at(opened, 10), year, Move(handle, 0, "start_adjustment", "committee",
                                             comment="根据市委全会部署启动年中指标调整")),
            Step(_at(d.after(opened, 2), 15), year, edit, "调整指标权重"),
            Step(_at(closed, 10), year, Move(handle, 0, "finish_adjustment", "committee",
                                             comment="年中调整完成,自印发之日起执行"))]


def _plans(rp: Replay, d: Dates, year: int, current: bool, p: dict) -> list[Step]:
    """Every unit's performance plan, February to April; the cycle to monitoring."""
    steps: list[Step] = []
    n = len(rp.units)
    first = d.on(year, 2, 16)
    span = max((date(year, 3, 26) - first).days, 1)
    for i in range(n):
        if current and i in p["demo"]:
            continue
        if i in p["late_plan"]:
            sub = d.on(year, 4, 3 + i % 4)
        else:
            sub = d.on(year, 2, 16, (i * 37) % span)
        steps.append(Step(_at(sub, 15, i % 60), year,
                          Move("performance_plan", i, "submit", "head", data=dict(GOALS))))
        review = d.after(sub, 1 + i % 2)
        steps.append(Step(_at(review, 10, i % 60), year,
                          Move("performance_plan", i, "start_review", "office")))
        if i in p["returned_plan"]:
            steps.append(Step(_at(review, 16, i % 60), year, Move(
                "performance_plan", i, "request_revision", "office",
                comment="目标需量化到季度,请补充分季度指标")))
            again = d.after(review, 3)
            steps.append(Step(_at(again, 11, i % 60), year, Move(
                "performance_plan", i, "submit", "head", data=dict(REVISED))))
            review = d.after(again, 1)
            steps.append(Step(_at(review, 10, i % 60), year,
                              Move("performance_plan", i, "start_review", "office")))
        approved = d.after(review, 1 + i % 3)
        steps.append(Step(_at(approved, 16, i % 60), year,
                          Move("performance_plan", i, "approve", "office")))
        if i not in p["late_plan"]:
            steps.append(Step(_at(d.on(year, 4, 20), 10, i % 60), year,
                              Move("performance_plan", i, "publish", "office")))
    if current and p["demo"]:
        # the demo users' units: one drafted, one returned, one waiting for the office
        a, b, c = sorted(p["demo"])
        steps += [
            Step(_at(d.on(year, 3, 10), 9, 40), year, lambda rp: update_data(
                rp.db, rp.child(year, "performance_plan", a), rp.head(a), dict(GOALS))),
            Step(_at(d.on(year, 3, 10), 9, 50), year, lambda rp: _attach_xlsx(rp, year, a)),
            Step(_at(d.on(year, 3, 16), 15), year,
                 Move("performance_plan", b, "submit", "head", data=dict(GOALS))),
            Step(_at(d.on(year, 3, 18), 10), year,
                 Move("performance_plan", b, "start_review", "office")),
            Step(_at(d.on(year, 3, 18), 16), year, Move(
                "performance_plan", b, "request_revision", "office",
                comment="目标需量化到季度,请补充分季度指标")),
            Step(_at(d.on(year, 4, 9), 15), year,
                 Move("performance_plan", c, "submit", "head", data=dict(GOALS))),
            Step(_at(d.on(year, 4, 13), 10), year,
                 Move("performance_plan", c, "start_review", "office")),
        ]

        def force_on(rp: Replay) -> None:
            parent = cycle_for_year(rp.db, year)["instance_id"]
            force(rp.db, parent, "force_start_monitoring", rp.actor("office"),
                  "绝大多数单位绩效计划已审核备案,进入日常监测;未完成单位继续修改报送")

        steps.append(Step(_at(d.on(year, 4, 15), 17), year, force_on, "强制进入日常监测"))
    return steps


def _reports(rp: Replay, d: Dates, year: int, key: str, p: dict, *, opens: date,
             due: date, late: set[int], sent_back: set[int], first_review: date) -> list[Step]:
    """A self-assessment window: submissions until ``due``, the late ones marked overdue
    by the sweep and submitted late, reviews and acceptance."""
    steps: list[Step] = []
    window = max((due - opens).days, 1)
    report = HALF_REPORT if key.startswith("half") else ANNUAL_REPORT
    for i in range(len(rp.units)):
        if i in late:
            sub, trigger = d.after(due, 2 + i % 3), "submit_late"
        else:
            sub, trigger = d.cal.roll(min(opens + timedelta(days=3 + (i * 5) % window), due),
                                      "previous_working_day"), "submit"
        steps.append(Step(_at(sub, 15, i % 60), year,
                          Move(key, i, trigger, "head", data={"report": report})))
        review = max(d.after(sub, 2), first_review)
        steps.append(Step(_at(review, 10, i % 60), year, Move(key, i, "start_review", "office")))
        if i in sent_back:
            steps.append(Step(_at(review, 11, i % 60), year, Move(
                key, i, "send_back", "office", comment="佐证材料不全,请补充重点项目进度表")))
            again = d.after(review, 2)
            steps.append(Step(_at(again, 15, i % 60), year, Move(
                key, i, "submit", "head", data={"report": report + "(已补充佐证材料)"})))
            review = d.after(again, 1)
            steps.append(Step(_at(review, 10, i % 60), year,
                              Move(key, i, "start_review", "office")))
        steps.append(Step(_at(d.after(review, 1), 16, i % 60), year,
                          Move(key, i, "accept", "office")))
    return steps


def _cycle(rp: Replay, d: Dates, year: int, current: bool, p: dict) -> list[Step]:
    """The cycle of ``year``: opened in January; the year until the annual reports."""
    def open_it(rp: Replay) -> None:
        open_cycle(rp.db, year, rp.actor("office"))

    def cycle_move(trigger: str, who: str, comment=None) -> Callable:
        def run(rp: Replay) -> None:
            parent = cycle_for_year(rp.db, year)["instance_id"]
            advance(rp.db, parent, trigger, rp.actor(who), comment=comment)
        return run

    def work_plan(rp: Replay) -> None:
        parent = cycle_for_year(rp.db, year)["instance_id"]
        update_data(rp.db, parent, rp.actor("office"), {"work_plan": WORK_PLAN.format(year)})

    steps = [
        Step(_at(d.on(year, 1, 5), 9, 30), year, open_it, f"开启 {year} 年度考评"),
        Step(_at(d.on(year, 1, 6), 16), year, work_plan, "起草实施方案"),
        Step(_at(d.on(year, 1, 8), 15), year, cycle_move(
            "issue_work_plan", "committee", comment="印发年度绩效评估工作实施方案"), "印发实施方案"),
    ]
    steps += _indicator_systems(rp, d, year, current)
    steps += _plans(rp, d, year, current, p)
    # 07-15 00:00: the sweep opens the half-year window (the cycle's dated deadline)
    steps += _reports(rp, d, year, "half_year_self_assessment", p, opens=date(year, 7, 15),
                      due=d.on(year, 7, 31), late=p["late_half"],
                      sent_back=p["sent_back_half"], first_review=d.on(year, 8, 3))
    steps.append(Step(_at(d.on(year, 7, 20), 9, 45), year,
                      lambda rp: _attach_pdf(rp, year, "half_year_self_assessment",
                                             3 % len(rp.units), f"{year}年上半年绩效自评报告.pdf")))
    steps.append(Step(_at(d.on(year, 11, 16), 10), year,
                      cycle_move("prepare_year_end", "office"), "年终评估准备"))
    # 12-01 00:00: the sweep opens the annual window
    steps += _reports(rp, d, year, "annual_self_assessment", p, opens=date(year, 12, 1),
                      due=d.on(year, 12, 10), late=p["late_annual"], sent_back=set(),
                      first_review=d.on(year, 12, 8))
    steps.append(Step(_at(d.on(year, 12, 2), 9, 45), year,
                      lambda rp: _attach_pdf(rp, year, "annual_self_assessment", 0,
                                             f"{year}年度绩效自评报告.pdf")))
    verify = d.on(year, 12, 28)
    steps += [Step(_at(verify, 9, 30), year, Move("unit_evaluation", i, "start_verification",
                                                  "office")) for i in range(len(rp.units))]
    return steps


def _results(rp: Replay, d: Dates, year: int, p: dict) -> list[Step]:
    """``year``'s scoring, results, appeals and rectifications, in January–July of the
    next year."""
    nxt, n, office = year + 1, len(rp.units), "office"
    steps: list[Step] = []
    scores_day, lead_day = d.on(nxt, 1, 7), d.on(nxt, 1, 8)
    steps.append(Step(_at(scores_day, 10), year, lambda rp: _enter(
        rp, year, "office", _scores(rp.units, p["low"])), "录入指标得分和公众评议"))
    steps.append(Step(_at(lead_day, 15), year, lambda rp: _enter(
        rp, year, "leader", _leadership(rp.units, p["low"])), "录入领导评价"))
    confirm = d.on(nxt, 1, 12)
    steps += [Step(_at(confirm, 10, i % 60), year, Move("unit_evaluation", i, "confirm_scores",
                                                        office)) for i in range(n)]
    computed = d.on(nxt, 1, 20)
    steps.append(Step(_at(computed, 10), year, lambda rp: compute_results(
        rp.db, year, rp.actor(office)), "计算结果"))
    steps += [Step(_at(computed, 11, i % 60), year, Move("unit_evaluation", i, "record_result",
                                                         office)) for i in range(n)]
    steps.append(Step(_at(d.on(nxt, 1, 22), 10), year, _cycle_fire(year, "submit_results", office)))
    published = d.on(nxt, 2, 2)
    # the committee's approval publishes the results (the transition's effect)
    steps.append(Step(_at(published, 10), year, _cycle_fire(year, "approve_results", "committee")))
    steps += [Step(_at(published, 15, i % 60), year, Move("unit_evaluation", i, "notify_result",
                                                          office)) for i in range(n)]
    steps += [Step(_at(d.after(published, 1 + i % 3), 10, i % 60), year,
                   Move("unit_evaluation", i, "acknowledge", "head"))
              for i in range(n) if i not in p["low"] | p["upheld"] | p["adjusted"]]
    [up], [adj], [late] = (sorted(p[k]) for k in ("upheld", "adjusted", "late_appeal"))
    steps.append(Step(_at(d.after(published, 2), 11), year, _appeal(
        year, up, "appeal:upheld", "public", "公众评议样本集中在个别社区,代表性不足,请求复核")))
    steps.append(Step(_at(d.after(published, 3), 11), year, _appeal(
        year, adj, "appeal:adjusted", "K1", "K1 重点工作中市重大项目已于12月竣工验收,考核时未计入,附验收报告")))
    for k, handle in enumerate(("appeal:upheld", "appeal:adjusted")):
        steps.append(Step(_at(d.after(published, 3 + k), 16), year,
                          Move(handle, 0, "admit", office)))
    opened = d.after(published, 6)  # after the 公示 of 5 working days
    steps.append(Step(_at(opened, 9, 30), year, _cycle_fire(year, "open_appeals", office)))
    for handle in ("appeal:upheld", "appeal:adjusted"):
        steps.append(Step(_at(d.after(opened, 1), 10), year,
                          Move(handle, 0, "start_review", office)))
    late_day = d.on(nxt, 2, 26)
    steps.append(Step(_at(late_day, 16), year, _appeal(
        year, late, "appeal:late", "overall", "对年度综合等次有异议,请求重新核定")))
    steps.append(Step(_at(d.after(late_day, 1), 10), year, Move(
        "appeal:late", 0, "reject", office, comment="超过结果通知后5个工作日的申诉期限,不予受理")))
    decided = d.on(nxt, 3, 2)
    steps.append(Step(_at(decided, 10), year, Move(
        "appeal:upheld", 0, "uphold", office, data={"decision": "经复核,公众评议抽样符合实施方案规定,维持原结果"},
        comment="抽样覆盖全部街道,程序合规")))
    steps.append(Step(_at(decided, 11), year, lambda rp: adjust_for_appeal(
        rp.db, rp.named["appeal:adjusted"], rp.actor(office), "K1", "99",
        "经核实重大项目已竣工验收,K1 得分调整为 99"), "申诉调整"))
    for handle, unit in (("appeal:upheld", up), ("appeal:adjusted", adj)):
        steps.append(Step(_at(d.after(decided, 1), 10), year, Move(handle, 0, "notify", office)))
        steps.append(Step(_at(d.after(decided, 3), 15), year, Move(
            handle, unit, "accept_decision", f"head:{unit}")))
        steps.append(Step(_at(d.after(decided, 4), 10), year, Move(
            "unit_evaluation", unit, "acknowledge", "head")))
    final = d.after(decided, 5)
    steps.append(Step(_at(final, 10), year, _cycle_fire(year, "finalise", office)))
    steps.append(Step(_at(d.after(final, 3), 15), year,
                      _cycle_fire(year, "apply_results", "committee")))
    issued = d.after(final, 4)

    def rectify(rp: Replay) -> None:
        ids = issue_rectifications(rp.db, year, rp.actor(office))
        with rp.db.read() as conn:
            units = dict(conn.execute(select(_i.c.id, _i.c.subject_unit_id)
                                      .where(_i.c.id.in_(ids))).all())
        index = {u.id: n for n, u in enumerate(rp.units)}
        for k, iid in enumerate(sorted(ids, key=lambda x: index[units[x]])):
            rp.named[f"rect:{k}"] = iid
            rp.named[f"rect-unit:{k}"] = index[units[iid]]

    steps.append(Step(_at(issued, 10), year, rectify, "下达整改"))
    low = sorted(p["low"])
    plan = {"plan": "逐项对照扣分点制定整改清单,明确责任人和完成时限"}
    # rect:0 closed by July; rect:1 in progress (due 11-30); rect:2 overdue, escalated
    for k, (sub, acc) in enumerate(((d.after(issued, 5), d.after(issued, 7)),
                                    (d.after(issued, 9), d.after(issued, 11)))):
        if k >= len(low):
            break
        steps.append(Step(_at(sub, 15), year, Move(f"rect:{k}", low[k], "submit_plan",
                                                   f"head:{low[k]}", data=dict(plan))))
        steps.append(Step(_at(acc, 10), year, Move(f"rect:{k}", 0, "accept_plan", office)))
    if low:
        done = d.on(nxt, 6, 26)
        steps += [
            Step(_at(done, 15), year, Move("rect:0", low[0], "report_done", f"head:{low[0]}",
                                           data={"report": "整改清单12项已全部完成,附整改佐证"})),
            Step(_at(d.after(done, 4), 10), year, Move("rect:0", 0, "verify", office)),
            Step(_at(d.after(done, 6), 10), year, Move("rect:0", 0, "close", office)),
        ]
    return steps


def _cycle_fire(year: int, trigger: str, who: str) -> Callable[[Replay], Any]:
    def run(rp: Replay) -> None:
        advance(rp.db, cycle_for_year(rp.db, year)["instance_id"], trigger, rp.actor(who))
    run.__name__ = f"cycle_{trigger}"
    return run


def _appeal(year: int, index: int, handle: str, item: str, grounds: str) -> Callable:
    def run(rp: Replay) -> None:
        rp.named[handle] = file_appeal(rp.db, year, rp.head(index), grounds,
                                       item=item).instance_id
    return run


def _enter(rp: Replay, year: int, who: str, rows: list) -> None:
    errors = enter_scores(rp.db, year, rp.actor(who), rows)
    if errors:
        raise RuntimeError(f"demo scores refused: {errors[:3]}")


# --- attachments ---------------------------------------------------------------------


def _pdf(title: str) -> bytes:
    """A minimal valid one-page PDF (ASCII text; the file name carries the Chinese)."""
    text = title.encode("ascii", "replace").decode()
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def _xlsx() -> bytes:
    """A small workbook: the plan's goals broken down by quarter."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "目标分解"
    sheet.append(["指标", "全年目标", "一季度", "二季度", "三季度", "四季度"])
    for row in (["重点项目投资(亿元)", 12, 2.4, 6, 9, 12],
                ["主要指标增长(%)", 8, 2, 4, 6, 8], ["民生实事(件)", 10, 2, 5, 7, 10]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _attach_pdf(rp: Replay, year: int, key: str, index: int, name: str) -> None:
    attach(rp.db, rp.child(year, key, index), rp.head(index), name, io.BytesIO(_pdf(name)),
           settings=rp.attachments, comment="自评报告正文")


def _attach_xlsx(rp: Replay, year: int, index: int) -> None:
    attach(rp.db, rp.child(year, "performance_plan", index), rp.head(index),
           f"{year}年度绩效目标分解表.xlsx", io.BytesIO(_xlsx()), settings=rp.attachments,
           comment="绩效目标按季度分解")


# --- running the script --------------------------------------------------------------


def script(rp: Replay, year: int) -> list[Step]:
    """Every step of the previous year ``year - 1`` and the current ``year``, in order."""
    d = Dates(calendar_for(rp.db))
    p = profiles(len(rp.units))
    steps = _cycle(rp, d, year - 1, False, p) + _results(rp, d, year - 1, p) \
        + _cycle(rp, d, year, True, p)
    return sorted(steps, key=lambda s: s.at)


def _next_due(db: Database):
    with db.read() as conn:
        return conn.execute(select(func.min(func.coalesce(_t.c.retry_at, _t.c.due_at)))
                            .where(_t.c.status == "pending")).scalar()


def sweep_until(rp: Replay, until: datetime) -> None:
    """Sweep every pending timer due at or before ``until`` (naive UTC) at its own
    moment, as the scheduler would have."""
    previous = None
    while True:
        moment = _next_due(rp.db)
        if moment is None or moment > until:
            return
        with pinned(moment):
            claimed = sweep(rp.db, moment).outcomes
        rp.sweeps += 1
        if not claimed and previous == moment:
            return  # nothing takes effect any more (never spin)
        previous = moment


def _dispatch(db: Database, moment: datetime) -> None:
    from notifications import dispatch

    with pinned(moment):
        dispatch(db, now=moment)


def _actor_of(rp: Replay, move: Move) -> Actor:
    if move.who == "head":
        return rp.head(move.unit)
    if move.who.startswith("head:"):
        return rp.head(int(move.who.split(":", 1)[1]))
    return rp.actor(move.who)


def _run_moves(rp: Replay, steps: list[Step]) -> None:
    """Plain transitions of one day in ONE write transaction, each at its own time."""
    with rp.db.write() as conn:
        for step in steps:
            move = step.action
            iid = rp.resolve(step.year, move)
            with pinned(local_to_utc(step.at.date(), step.at.hour, step.at.minute)):
                try:
                    fire_on(conn, rp.db, iid, move.trigger, _actor_of(rp, move),
                            data=move.data, comment=move.comment)
                except Exception as exc:
                    exc.add_note(f"demo step {step.at} ({step.year}): {move}")
                    raise


def replay_years(db: Database, units: list, year: int, now: datetime | None = None, *,
                 attachments: AttachmentSettings | None = None) -> Replay:
    """Run the script of ``year - 1`` and ``year`` up to ``now`` (naive UTC, default the
    clock), sweeping timers at their moments; return the replay (its counters)."""
    now = now or utcnow()
    rp = Replay(db, units, attachments or AttachmentSettings.from_env())
    steps = [s for s in script(rp, year)
             if local_to_utc(s.at.date(), s.at.hour, s.at.minute) <= now]
    for day, group in groupby(steps, key=lambda s: s.at.date()):
        group = list(group)
        first = local_to_utc(day, group[0].at.hour, group[0].at.minute)
        sweep_until(rp, first - timedelta(seconds=1))
        for is_move, run in groupby(group, key=lambda s: isinstance(s.action, Move)):
            run = list(run)
            if is_move:
                _run_moves(rp, run)
                continue
            for step in run:
                with pinned(local_to_utc(day, step.at.hour, step.at.minute)):
                    try:
                        step.action(rp)
                    except Exception as exc:
                        exc.add_note(f"demo step {step.at} ({step.year}): {step.label}")
                        raise
        last = group[-1].at
        _dispatch(db, local_to_utc(day, last.hour, last.minute) + timedelta(minutes=1))
        rp.days += 1
    sweep_until(rp, now)
    _dispatch(db, now)
    return rp


def local_now() -> datetime:
    """Now as a naive local wall-clock time."""
    return to_local(utcnow()).replace(tzinfo=None)
