"""Per-cycle settings: composite weights, grades, 优秀 quota, ties, windows and scope.

Every value marked [inferred] in DOMAIN.md is a setting here with that default; a
county overrides any of them with ``perfeval cycle open --config FILE`` (YAML or JSON).
The settings are stored with the cycle, so its results stay reproducible.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping

import yaml

from .exceptions import InvalidInput

COMPONENTS = ("indicator", "public", "leadership")
MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


@dataclass(frozen=True)
class CycleConfig:
    """The settings of one evaluation cycle (defaults: seed 2011 plan and DOMAIN.md)."""

    # seed: 指标评估 80%, 公众评议 10%, 领导评价 10%
    weights: Mapping[str, Decimal] = field(default_factory=lambda: {
        "indicator": Decimal(80), "public": Decimal(10), "leadership": Decimal(10)})
    # [inferred] 优秀 ≥90, 良好 80–<90, 合格 60–<80, 不合格 <60 (lowest grade last)
    grades: tuple[tuple[str, Decimal], ...] = (
        ("优秀", Decimal(90)), ("良好", Decimal(80)), ("合格", Decimal(60)), ("不合格", Decimal(0)))
    # [inferred] at most 20% 优秀 per category (civil-servant analog); None = no quota
    excellent_quota: Decimal | None = Decimal("0.20")
    # components compared, in order, when composites are equal; still equal = same rank
    tie_break: tuple[str, ...] = ()
    # points lost per place for indicators scored by rank ("按排名赋分") [inferred]
    rank_step: Decimal = Decimal(2)
    # [inferred] appeal window after the result notice, in working days
    appeal_window_working_days: int = 5
    # [inferred] window opening days ("7月中旬" / "12月上旬")
    half_year_window_opens: str = "07-15"
    annual_window_opens: str = "12-01"
    # unit categories in scope (None: every unit)
    categories: tuple[str, ...] | None = None
    # grades whose units get a rectification item after the results
    rectify_grades: tuple[str, ...] = ("不合格",)

    @property
    def lowest_grade(self) -> str:
        """The grade a veto imposes."""
        return self.grades[-1][0]

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (decimals as strings), stored with the cycle."""
        return json.loads(json.dumps(asdict(self), default=str))


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidInput(f"{where}: 须为数字 — expected a number, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{where}: 须为数字 — expected a number, got {value!r}") from None
    if not result.is_finite():
        raise InvalidInput(f"{where}: 须为有限数字 — expected a finite number")
    return result


def _mapping(data: Mapping[str, Any], key: str) -> dict:
    """A mapping setting, or its stored form (a list of [name, value] pairs)."""
    value = data[key]
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (list, tuple)) and all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        return dict(value)
    raise InvalidInput(f"{key}: 须为映射(名称: 数值)— expected a mapping of names to "
                       f"numbers, got {type(value).__name__}")


def _sequence(data: Mapping[str, Any], key: str) -> tuple:
    value = data[key]
    if not isinstance(value, (list, tuple)):
        raise InvalidInput(f"{key}: 须为列表 — expected a list, got {type(value).__name__}")
    return tuple(value)


def config_from_mapping(data: Mapping[str, Any] | None) -> CycleConfig:
    """Validate a settings mapping (unknown keys refused) into a :class:`CycleConfig`."""
    data = dict(data or {})
    known = set(CycleConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInput(f"未知设置 {', '.join(unknown)} — unknown setting(s); known: "
                           f"{', '.join(sorted(known))}")
    kwargs: dict[str, Any] = {}
    if "weights" in data:
        weights = {k: _decimal(v, f"weights.{k}") for k, v in _mapping(data, "weights").items()}
        if set(weights) != set(COMPONENTS) or sum(weights.values()) != 100 \
                or any(w < 0 for w in weights.values()):
            raise InvalidInput("weights: 须含 indicator/public/leadership 且合计 100 — expected "
                               f"non-negative weights for {', '.join(COMPONENTS)} totalling 100")
        kwargs["weights"] = weights
    if "grades" in data:
        grades = tuple((str(name), _decimal(low, f"grades.{name}"))
                       for name, low in _mapping(data, "grades").items())
        lows = [low for _, low in grades]
        if len(grades) < 2 or lows != sorted(lows, reverse=True) or lows[-1] != 0:
            raise InvalidInput("grades: 须按分数线从高到低排列,最低一档为 0 — expected "
                               "descending thresholds ending at 0")
        kwargs["grades"] = grades
    if "excellent_quota" in data:
        quota = data["excellent_quota"]
        kwargs["excellent_quota"] = None if quota is None else _decimal(quota, "excellent_quota")
        if quota is not None and not 0 <= kwargs["excellent_quota"] <= 1:
            raise InvalidInput("excellent_quota: 须在 0 到 1 之间 — expected a share from 0 to 1")
    if "tie_break" in data:
        tie = _sequence(data, "tie_break")
        if any(c not in COMPONENTS for c in tie):
            raise InvalidInput(f"tie_break: expected components from {', '.join(COMPONENTS)}")
        kwargs["tie_break"] = tie
    if "rank_step" in data:
        kwargs["rank_step"] = _decimal(data["rank_step"], "rank_step")
    for key in ("appeal_window_working_days",):
        if key in data:
            if isinstance(data[key], bool) or not isinstance(data[key], int) or data[key] < 1:
                raise InvalidInput(f"{key}: 须为正整数 — expected a positive whole number")
            kwargs[key] = data[key]
    for key in ("half_year_window_opens", "annual_window_opens"):
        if key in data:
            if not isinstance(data[key], str) or not MONTH_DAY.match(data[key]):
                raise InvalidInput(f'{key}: 须为 "MM-DD" — expected a month-day like "07-15"')
            kwargs[key] = data[key]
    if "categories" in data:
        kwargs["categories"] = None if data["categories"] is None else tuple(
            str(c) for c in _sequence(data, "categories"))
    if "rectify_grades" in data:
        kwargs["rectify_grades"] = tuple(str(g) for g in _sequence(data, "rectify_grades"))
    return CycleConfig(**kwargs)


def load_config(path: str | Path | None) -> CycleConfig:
    """Read settings from a YAML or JSON file (None: the defaults)."""
    if path is None:
        return CycleConfig()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"无法读取设置文件 {path}: {exc}") from exc
    if data is not None and not isinstance(data, dict):
        raise InvalidInput(f"{path}: 设置文件须为映射 — expected a mapping of settings")
    return config_from_mapping(data)
