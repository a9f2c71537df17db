"""Scoring rules on hand-computed figures: exact decimals, rounding, veto, grades, quota,
ranking and ties (no database)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.cycle_config import CycleConfig, config_from_mapping
from engine.exceptions import InvalidInput
from engine.scoring import Indicator, UnitScores, compute, indicator_score, points

SYSTEM = (Indicator("A1", D(50)), Indicator("A2", D(30), "attainment", D(60)),
          Indicator("A3", D(20), "rank"))


def unit(code, a1, a2, a3, public, leader, category="县直单位", vetoes=()):
    return UnitScores(int(code), code, f"单位{code}", category,
                      {"A1": D(a1), "A2": D(a2), "A3": D(a3)}, D(public), D(leader), vetoes)


def test_points_by_method():
    assert points(SYSTEM[0], D("88.5"), D(2)) == D("88.5")
    assert points(SYSTEM[1], D(45), D(2)) == D(75)          # 45/60
    assert points(SYSTEM[1], D(120), D(2)) == D(100)        # capped at the target
    assert points(SYSTEM[2], D(3), D(2)) == D(96)           # 100 - 2 × 2
    assert points(SYSTEM[2], D(80), D(2)) == D(0)           # never negative


def test_indicator_score_is_exact_then_rounded_half_up():
    # 50 × 88.885 + 30 × 75 + 20 × 96 = 4444.25 + 2250 + 1920 = 8614.25 → 86.1425 → 86.14
    assert indicator_score(SYSTEM, {"A1": D("88.885"), "A2": D(45), "A3": D(3)}, D(2)) == D("86.14")
    # 50 × 88.89 + 2250 + 1920 = 8614.5 → 86.145 → 86.15 (half up, not banker's)
    assert indicator_score(SYSTEM, {"A1": D("88.89"), "A2": D(45), "A3": D(3)}, D(2)) == D("86.15")


def test_composite_uses_the_80_10_10_weights():
    [r] = compute([unit("1", "88.89", 45, 3, 90, 70)], {"县直单位": SYSTEM}, CycleConfig())
    # 0.8 × 86.15 + 0.1 × 90 + 0.1 × 70 = 68.92 + 9 + 7 = 84.92
    assert (r.indicator, r.composite, r.grade, r.rank) == (D("86.15"), D("84.92"), "良好", 1)


def test_per_cycle_weights_change_the_composite():
    config = config_from_mapping({"weights": {"indicator": 60, "public": 20, "leadership": 20}})
    [r] = compute([unit("1", "88.89", 45, 3, 90, 70)], {"县直单位": SYSTEM}, config)
    assert r.composite == D("83.69")  # 51.69 + 18 + 14


def test_missing_scores_are_refused_by_name():
    with pytest.raises(InvalidInput) as refused:
        indicator_score(SYSTEM, {"A1": D(1)}, D(2), "D001")
    assert refused.value.context["missing"] == ["A2", "A3"]


def test_veto_forces_the_lowest_grade_and_no_rank():
    results = compute([unit("1", 100, 60, 1, 100, 100, vetoes=("安全生产",)),
                       unit("2", 70, 30, 2, 70, 70)], {"县直单位": SYSTEM}, CycleConfig())
    assert [(r.code, r.grade, r.rank, r.vetoed) for r in results] == [
        ("2", "合格", 1, False), ("1", "不合格", None, True)]
    assert results[1].composite == D(100)


def test_ties_share_a_rank_and_the_next_is_skipped():
    units = [unit("1", 90, 60, 1, 80, 80), unit("2", 90, 60, 1, 80, 80),
             unit("3", 90, 60, 1, 70, 70), unit("4", 80, 60, 1, 90, 90)]
    config = CycleConfig(excellent_quota=None)
    results = compute(units, {"县直单位": SYSTEM}, config)
    # 1, 2: indicator 95 → 76 + 8 + 8 = 92; 3: 76 + 14 = 90; 4: indicator 90 → 72 + 18 = 90
    assert [(r.code, str(r.composite), r.rank) for r in results] == [
        ("1", "92.00", 1), ("2", "92.00", 1), ("3", "90.00", 3), ("4", "90.00", 3)]
    broken = compute(units, {"县直单位": SYSTEM}, CycleConfig(excellent_quota=None,
                                                             tie_break=("indicator",)))
    assert [(r.code, r.rank) for r in broken] == [("1", 1), ("2", 1), ("3", 3), ("4", 4)]


def test_excellent_quota_per_category_never_exceeded_even_with_ties():
    units = [unit(str(i), 100, 60, 1, 100 - i, 100 - i) for i in range(1, 11)]
    # composites 99.8, 99.6, ... all ≥ 90 → 优秀 before the quota; 20% of 10 = 2
    results = compute(units, {"县直单位": SYSTEM}, CycleConfig())
    assert [r.grade for r in results][:3] == ["优秀", "优秀", "良好"]
    tied = [unit("1", 100, 60, 1, 100, 100)] + [unit(str(i), 100, 60, 1, 99, 99)
                                                 for i in range(2, 11)]
    grades = [r.grade for r in compute(tied, {"县直单位": SYSTEM}, CycleConfig())]
    assert grades.count("优秀") == 1  # the group tied for 2nd would cross the quota


def test_ranking_is_within_each_category():
    results = compute([unit("1", 90, 60, 1, 80, 80), unit("2", 50, 30, 9, 50, 50, "乡镇场")],
                      {"县直单位": SYSTEM, "乡镇场": SYSTEM}, CycleConfig())
    assert [(r.category, r.rank) for r in results] == [("乡镇场", 1), ("县直单位", 1)]


@pytest.mark.parametrize("settings", [
    {"weights": {"indicator": 80, "public": 10}},
    {"weights": {"indicator": 80, "public": 10, "leadership": 11}},
    {"grades": {"A": 60, "B": 90, "C": 0}},
    {"excellent_quota": 2},
    {"tie_break": ["luck"]},
    {"appeal_window_working_days": 0},
    {"half_year_window_opens": "7-15"},
    {"colour": "red"},
    {"weights": 5}, {"grades": ["A", "B"]}, {"categories": 5}, {"categories": "乡镇场"},
    {"tie_break": "indicator"}, {"rectify_grades": 3},
])
def test_bad_settings_are_refused(settings):
    with pytest.raises(InvalidInput):
        config_from_mapping(settings)


def test_settings_round_trip_through_their_stored_form():
    config = config_from_mapping({"excellent_quota": "0.25", "tie_break": ["indicator"]})
    assert config_from_mapping(config.to_json()) == config
