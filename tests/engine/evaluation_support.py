"""Helpers for evaluation tests: a cycle walked to a given stage, indicator systems bound
to its year, and a published year.

:func:`walk_to` fires the cycle's transitions (forcing those that wait for children)
from its current stage along the main path; the results must be computed before it
passes 结果审定 (``approve_results`` publishes them). :func:`committee` adds a committee
user (the test organisation has none).
"""

from __future__ import annotations

from sqlalchemy import select

from engine import Actor, actor_for, add_user, fire, get_instance
from engine.cycles import cycle_for_year, force, open_cycle
from engine.facts import SYSTEMS_BIND
from engine.models import User
from engine.results import compute_results, enter_scores

OFFICE = Actor(None, "office", None, frozenset({"office"}))
K_ROWS = [{"code": "K1", "name": "重点工作", "weight": 100, "method": "direct",
           "verifier": "督查室"}]

#: (state, trigger, who, forced) along the cycle's main path
PATH = (("setup", "issue_work_plan", "committee", False),
        ("planning", "force_start_monitoring", "office", True),
        ("monitoring", "open_midyear", "office", False),
        ("midyear_review", "force_close_midyear", "office", True),
        ("monitoring_h2", "prepare_year_end", "office", False),
        ("year_end_prep", "open_self_assessment", "office", False),
        ("self_assessment", "force_close_self_assessment", "office", True),
        ("verification", "force_start_scoring", "office", True),
        ("scoring", "submit_results", "office", False),
        ("review_approval", "approve_results", "committee", False),
        ("publicity", "open_appeals", "office", False),
        ("appeals", "finalise", "office", False),
        ("finalised", "apply_results", "committee", False),
        ("results_applied", "force_close", "office", True))
STAGES = tuple(state for state, *_ in PATH) + ("closed",)


def committee(db) -> Actor:
    """The committee user ``committee`` (added on first use)."""
    with db.read() as conn:
        known = conn.execute(select(User.id).where(User.username == "committee")).first()
    if known is None:
        add_user(db, "committee", "correct-horse-1", ("committee",))
    return actor_for(db, "committee")


def walk_to(db, year: int, stage: str) -> str:
    """Fire the ``year`` cycle along :data:`PATH` until it is in ``stage``."""
    iid = cycle_for_year(db, year)["instance_id"]
    members = committee(db)
    while (state := get_instance(db, iid).state) != stage:
        step = next((s for s in PATH if s[0] == state), None)
        assert step is not None and STAGES.index(stage) > STAGES.index(state), (state, stage)
        _, trigger, who, forced = step
        actor = members if who == "committee" else OFFICE
        if forced:
            force(db, iid, trigger, actor, "测试推进 test")
        else:
            fire(db, iid, trigger, actor)
    return state


def bind_system(db, year: int, category: str, rows=None) -> None:
    """Bind an indicator system (``rows``, default one indicator K1) to ``year``'s cycle."""
    from engine.instances import record_fact

    iid = cycle_for_year(db, year)["instance_id"]
    with db.write() as conn:
        record_fact(conn, db, iid, SYSTEMS_BIND, OFFICE, "office", {
            "category": category, "year": year, "system_id": None, "system_hash": "test",
            "indicators": list(rows or K_ROWS)})


def scoring_year(db, year: int = 2026, categories=("县直单位", "乡镇场")) -> int:
    """Open ``year`` with systems bound and walk it to 综合计分; the cycle instance."""
    open_cycle(db, year, OFFICE)
    for category in categories:
        bind_system(db, year, category)
    walk_to(db, year, "scoring")
    return cycle_for_year(db, year)["instance_id"]


SCORES = {"101": 80, "102": 85, "201": 70}


def published_year(db, year: int = 2026, scores=None) -> int:
    """:func:`scoring_year`, scores entered (K1, public, leadership), computed and
    published (approved by the committee); the cycle instance, in 公示."""
    iid = scoring_year(db, year)
    rows = [(code, item, value) for code, value in (scores or SCORES).items()
            for item in ("K1", "public", "leadership")]
    assert enter_scores(db, year, OFFICE, rows) == []
    compute_results(db, year, OFFICE)
    walk_to(db, year, "publicity")
    return iid
