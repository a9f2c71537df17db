"""The kinds of evaluation facts recorded in the hash chain, with their labels.

A fact is a same-state history entry written by :func:`engine.instances.record_fact`
(its ``data_patch`` is the fact, see :func:`engine.instances.is_fact`). Evaluation
facts live in the chain of the year's ``evaluation_cycle`` instance; the tables the
pages read (``score_entries``, ``vetoes``, ``results``, ``result_changes``) are
projections written in the same transaction, and ``audit verify`` replays the facts
and compares them with those tables.
"""

from __future__ import annotations

from workflow.spec import Label

SCORE_ENTER = "score.enter"          # scores typed in (UI, API, CLI)
SCORE_IMPORT = "score.import"        # scores imported from a file
VETO_RECORD = "veto.record"          # a one-vote veto recorded
VETO_REMOVE = "veto.remove"          # a veto withdrawn (before publication)
RESULTS_COMPUTE = "results.compute"  # composite/grade/rank computed
RESULTS_PUBLISH = "results.publish"  # results published (公示) with the cycle's transition
RESULTS_CORRECT = "results.correct"  # an explicit correction after publication
RESULTS_ADJUST = "results.adjust"    # an appeal decision changed a score and results
SYSTEMS_BIND = "systems.bind"        # the indicator system in force for a category
MIGRATION = "migration.backfill"     # data that existed before it was chained

FACT_LABELS: dict[str, Label] = {
    SCORE_ENTER: Label("录入得分", "Scores entered"),
    SCORE_IMPORT: Label("导入得分", "Scores imported"),
    VETO_RECORD: Label("记录一票否决", "Veto recorded"),
    VETO_REMOVE: Label("撤销一票否决", "Veto withdrawn"),
    RESULTS_COMPUTE: Label("计算结果", "Results computed"),
    RESULTS_PUBLISH: Label("公布结果", "Results published"),
    RESULTS_CORRECT: Label("更正结果", "Result corrected"),
    RESULTS_ADJUST: Label("申诉调整结果", "Result adjusted on appeal"),
    SYSTEMS_BIND: Label("确定年度指标体系", "Indicator system bound to the year"),
    MIGRATION: Label("升级时补记数据", "Data recorded at upgrade"),
}


def fact_label(kind: str) -> Label:
    """The label of fact ``kind`` (its name in both languages when unknown)."""
    return FACT_LABELS.get(kind, Label(kind, kind))
