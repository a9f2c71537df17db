"""Scoring: indicator points, composite, veto, grade, 优秀 quota and ranking — exact.

All arithmetic is :class:`decimal.Decimal` on the values as entered (never floats).
Rounding (documented in docs/process.md):

1. an indicator's points are exact (direct score; ``min(actual/target, 1) × 100`` for
   attainment; ``max(0, 100 − (place − 1) × rank_step)`` for points by rank);
2. each component (indicator assessment = Σ weight × points / 100; public appraisal;
   leadership evaluation) is rounded to 0.01, half up;
3. composite = Σ component weight × component / 100, rounded to 0.01, half up.

Grades come from the thresholds of the cycle's settings. A veto (一票否决) sets the
lowest grade, so the unit is never 优秀, and leaves it unranked (rank None, listed
last). Ranking is within a category (or series): by composite, then by the
``tie_break`` components in order; units still equal share a rank and the next rank is
skipped (1, 2, 2, 4). The 优秀 quota is ``floor(units in category × quota)``; 优秀 units
beyond it, in rank order, drop to the next grade — a tied group that would cross the
quota drops as a whole, so the quota is never exceeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping, Sequence

from .cycle_config import COMPONENTS, CycleConfig
from .exceptions import InvalidInput

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Indicator:
    """One scored indicator of a category's system (weights of a system total 100)."""

    code: str
    weight: Decimal
    method: str = "direct"  # direct | attainment | rank
    target: Decimal | None = None


@dataclass(frozen=True)
class UnitScores:
    """Everything entered for one unit: raw indicator values, components, vetoes."""

    unit_id: int
    code: str
    name: str
    category: str
    raw: Mapping[str, Decimal] = field(default_factory=dict)  # indicator code -> value
    public: Decimal | None = None
    leadership: Decimal | None = None
    vetoes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    """A unit's computed result."""

    unit_id: int
    code: str
    name: str
    category: str
    indicator: Decimal
    public: Decimal
    leadership: Decimal
    composite: Decimal
    grade: str
    rank: int | None
    vetoed: bool

    def values(self) -> dict[str, str | int | bool | None]:
        """The comparable, JSON-safe values (for history and change records)."""
        return {"indicator": str(self.indicator), "public": str(self.public),
                "leadership": str(self.leadership), "composite": str(self.composite),
                "grade": self.grade, "rank": self.rank, "vetoed": self.vetoed}


def cents(value: Decimal) -> Decimal:
    """Round to 0.01, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def points(indicator: Indicator, value: Decimal, rank_step: Decimal) -> Decimal:
    """The 0–100 points of one indicator for the entered ``value``."""
    if indicator.method == "direct":
        if not 0 <= value <= HUNDRED:
            raise InvalidInput(f"指标 {indicator.code} 得分须在 0-100 之间 — score {value} "
                               f"out of 0..100")
        return value
    if indicator.method == "attainment":
        if not indicator.target or indicator.target <= 0:
            raise InvalidInput(f"指标 {indicator.code} 缺少目标值 — attainment needs a target > 0")
        return min(value / indicator.target, Decimal(1)) * HUNDRED if value > 0 else Decimal(0)
    if indicator.method == "rank":
        if value < 1 or value != value.to_integral_value():
            raise InvalidInput(f"指标 {indicator.code} 名次须为正整数 — place must be 1, 2, …")
        return max(Decimal(0), HUNDRED - (value - 1) * rank_step)
    raise InvalidInput(f"未知计分方法 {indicator.method} — unknown method")


def indicator_score(system: Sequence[Indicator], raw: Mapping[str, Decimal],
                    rank_step: Decimal, unit: str = "") -> Decimal:
    """Σ weight × points / 100 over the system, rounded to 0.01 (missing values refused)."""
    missing = [i.code for i in system if i.code not in raw]
    if missing:
        raise InvalidInput(f"单位 {unit} 缺少指标得分 {', '.join(missing)} — missing scores",
                           unit=unit, missing=missing)
    return cents(sum((i.weight * points(i, raw[i.code], rank_step) for i in system),
                     Decimal(0)) / HUNDRED)


def grade_of(composite: Decimal, config: CycleConfig) -> str:
    """The grade whose threshold ``composite`` reaches."""
    return next(name for name, low in config.grades if composite >= low)


def _component(value: Decimal | None, name: str, unit: str) -> Decimal:
    if value is None:
        raise InvalidInput(f"单位 {unit} 缺少 {name} 得分 — missing {name} score", unit=unit)
    if not 0 <= value <= HUNDRED:
        raise InvalidInput(f"单位 {unit} 的 {name} 得分 {value} 须在 0-100 之间", unit=unit)
    return cents(value)


def score_unit(unit: UnitScores, system: Sequence[Indicator], config: CycleConfig) -> Result:
    """Components, composite and (pre-quota) grade of one unit; rank is set later."""
    parts = {"indicator": indicator_score(system, unit.raw, config.rank_step, unit.code),
             "public": _component(unit.public, "public", unit.code),
             "leadership": _component(unit.leadership, "leadership", unit.code)}
    composite = cents(sum((config.weights[c] * parts[c] for c in COMPONENTS), Decimal(0))
                      / HUNDRED)
    vetoed = bool(unit.vetoes)
    grade = config.lowest_grade if vetoed else grade_of(composite, config)
    return Result(unit.unit_id, unit.code, unit.name, unit.category, parts["indicator"],
                  parts["public"], parts["leadership"], composite, grade, None, vetoed)


def _key(result: Result, config: CycleConfig) -> tuple:
    return (result.composite,) + tuple(getattr(result, c) for c in config.tie_break)


def rank_category(results: Iterable[Result], config: CycleConfig) -> list[Result]:
    """Rank one category's results and apply its 优秀 quota; sorted by rank."""
    results = list(results)
    ranked = sorted((r for r in results if not r.vetoed),
                    key=lambda r: tuple(-v for v in _key(r, config)) + (r.code,))
    out: list[Result] = []
    for position, r in enumerate(ranked, start=1):
        same = out and _key(out[-1], config) == _key(r, config)
        out.append(replace(r, rank=out[-1].rank if same else position))
    out = _apply_quota(out, len(results), config)
    return out + sorted((r for r in results if r.vetoed), key=lambda r: (-r.composite, r.code))


def _apply_quota(ranked: list[Result], size: int, config: CycleConfig) -> list[Result]:
    top = config.grades[0][0]
    if config.excellent_quota is None:
        return ranked
    allowed = int((size * config.excellent_quota).to_integral_value(rounding=ROUND_DOWN))
    demote_to = config.grades[1][0]
    excellent = [r for r in ranked if r.grade == top]
    kept = {r.code for r in excellent if sum(1 for o in excellent if o.rank <= r.rank) <= allowed}
    return [replace(r, grade=demote_to) if r.grade == top and r.code not in kept else r
            for r in ranked]


def compute(units: Iterable[UnitScores], systems: Mapping[str, Sequence[Indicator]],
            config: CycleConfig) -> list[Result]:
    """Results of every unit, ranked within its category; categories in name order."""
    by_category: dict[str, list[Result]] = {}
    for unit in units:
        system = systems.get(unit.category)
        if system is None:
            raise InvalidInput(f"类别 {unit.category} 没有生效的指标体系 — no indicator system "
                               f"in force for category {unit.category!r}")
        by_category.setdefault(unit.category, []).append(score_unit(unit, system, config))
    return [r for category in sorted(by_category)
            for r in rank_category(by_category[category], config)]
