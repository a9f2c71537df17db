"""``perfeval scores …`` and ``perfeval results …`` — entering scores and the results.

Every step is gated by the cycle's stage (a refused one exits 5 naming the stages it
needs) and recorded in the cycle's hash chain; ``results history`` lists the records.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from engine import actor_for
from engine.clock import to_local
from engine.exceptions import InvalidInput
from engine.models import Unit
from engine.evaluation_steps import allowed_steps, fact_history
from engine.results import (adjust_for_appeal, compute_results, correct_result, enter_scores,
                            export_results, import_scores, publish_results, read_results,
                            record_veto, remove_veto)

from .common import db_options, emit

AS_USER = click.option("--as", "username", required=True, help="Act as this user.")
YEAR = click.option("--year", type=int, required=True, help="The evaluation year.")


def _errors(errors) -> None:
    if errors:
        raise InvalidInput("; ".join(str(e) for e in errors) + " — nothing recorded",
                           errors=[e.__dict__ for e in errors])


def register(main: click.Group) -> None:
    """Attach the ``scores`` and ``results`` groups and ``appeal-adjust`` to ``main``."""
    _register_scores(main)
    _register_results(main)
    _register_changes(main)
    _register_appeal(main)


def _register_scores(main: click.Group) -> None:
    @main.group("scores")
    def scores() -> None:
        """Indicator, public-appraisal and leadership scores; vetoes."""

    @scores.command("enter")
    @YEAR
    @click.option("--unit", "unit_code", required=True)
    @click.option("--item", required=True, help="Indicator code, 'public' or 'leadership'.")
    @click.option("--value", required=True)
    @AS_USER
    @db_options
    def enter_cmd(db, as_json, year, unit_code, item, value, username):
        """Record one value."""
        _errors(enter_scores(db, year, actor_for(db, username), [(unit_code, item, value)]))
        emit(as_json, {"recorded": 1}, "已录入 recorded")

    @scores.command("import")
    @YEAR
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @AS_USER
    @db_options
    def import_cmd(db, as_json, year, path, username):
        """Import 单位编码/指标/得分 rows from CSV or XLSX; all or nothing."""
        _errors(import_scores(db, year, actor_for(db, username), path))
        emit(as_json, {"imported": True}, "已导入 imported")

    @scores.command("veto")
    @YEAR
    @click.option("--unit", "unit_code", required=True)
    @click.option("--item", required=True, help="The veto item (一票否决事项).")
    @click.option("--reason", required=True)
    @AS_USER
    @db_options
    def veto_cmd(db, as_json, year, unit_code, item, reason, username):
        """Record a one-vote veto against a unit."""
        veto = record_veto(db, year, actor_for(db, username), unit_code, item, reason)
        emit(as_json, {"vetoed": unit_code, "veto_id": veto},
             f"已记录一票否决 veto recorded: {unit_code} (#{veto})")

    @scores.command("veto-remove")
    @YEAR
    @click.option("--veto", "veto_id", type=int, required=True, help="The veto's number.")
    @click.option("--reason", required=True)
    @AS_USER
    @db_options
    def veto_remove_cmd(db, as_json, year, veto_id, reason, username):
        """Withdraw a veto recorded in error (before publication)."""
        remove_veto(db, year, actor_for(db, username), veto_id, reason)
        emit(as_json, {"withdrawn": veto_id}, f"已撤销一票否决 veto withdrawn: #{veto_id}")



def _register_results(main: click.Group) -> None:
    @main.group("results")
    def results() -> None:
        """Composite scores, grades and rankings."""

    @results.command("compute")
    @YEAR
    @AS_USER
    @db_options
    @click.option("--reason", default="计算结果 computed", show_default=True)
    def compute_cmd(db, as_json, year, username, reason):
        """Compute every unit's composite, grade and rank within its category."""
        computed = compute_results(db, year, actor_for(db, username), reason)
        emit(as_json, {"units": len(computed)}, f"已计算 computed {len(computed)} units")

    @results.command("publish")
    @YEAR
    @click.option("--comment", default=None, help="The approval's comment.")
    @AS_USER
    @db_options
    def publish_cmd(db, as_json, year, comment, username):
        """Approve and publish the results (committee; the cycle's approve_results)."""
        count = publish_results(db, year, actor_for(db, username), comment=comment)
        emit(as_json, {"published": count}, f"已审定并公布 approved and published {count}")

    _register_reads(results)


def _register_changes(main: click.Group) -> None:
    results = main.commands["results"]

    @results.command("correct")
    @YEAR
    @click.option("--unit", "unit_code", required=True)
    @click.option("--item", required=True, help="Indicator code, 'public' or 'leadership'.")
    @click.option("--value", required=True)
    @click.option("--reason", required=True)
    @AS_USER
    @db_options
    def correct_cmd(db, as_json, year, unit_code, item, value, reason, username):
        """Correct one value of a published year; recompute, re-publish, notify."""
        changes = correct_result(db, year, actor_for(db, username), unit_code, item, value,
                                 reason)
        emit(as_json, changes, _changes_text(db, changes))


def _register_reads(results: click.Group) -> None:
    @results.command("steps")
    @YEAR
    @db_options
    def steps_cmd(db, as_json, year):
        """The cycle's stage and the evaluation steps it allows now."""
        steps = allowed_steps(db, year)
        emit(as_json, {"stage": steps.stage, "published": steps.published,
                       "allowed": sorted(steps.allowed),
                       "needs": {k: list(v) for k, v in steps.needs.items()}},
             f"{steps.stage_label.zh} {steps.stage}: " + (", ".join(sorted(steps.allowed))
                                                          or "—"))

    @results.command("history")
    @YEAR
    @db_options
    def history_cmd(db, as_json, year):
        """The year's score and result facts (who, when, before → after, reason)."""
        facts = fact_history(db, year)
        emit(as_json, [{**f, "label": f["label"].zh} for f in facts], "\n".join(
            f"#{f['seq']} {to_local(f['at']):%Y-%m-%d %H:%M} {f['actor']} {f['label'].zh}"
            f"{' — ' + f['reason'] if f['reason'] else ''}"
            + "".join(f"\n    {line}" for line in f["lines"]) for f in facts) or "—")

    @results.command("show")
    @YEAR
    @db_options
    def show_cmd(db, as_json, year):
        """The results by category and rank."""
        rows = read_results(db, year)
        emit(as_json, rows, "\n".join(
            f"{r['category']:<8} {r['rank'] if r['rank'] is not None else '—':>4} {r['code']:<6} "
            f"{r['name']:<16} {r['composite']:>7} {r['grade']}" for r in rows))

    @results.command("export")
    @YEAR
    @click.option("-o", "--output", required=True, help="results.xlsx or results.csv")
    @db_options
    def export_cmd(db, as_json, year, output):
        """Export to XLSX (one sheet per category) or CSV."""
        path = export_results(db, year, output)
        emit(as_json, {"path": str(path)}, f"已导出 exported {path}")



def _register_appeal(main: click.Group) -> None:
    @main.command("appeal-adjust")
    @click.argument("appeal_id", type=int)
    @click.option("--item", required=True, help="The corrected item (indicator code, public, "
                                                "leadership).")
    @click.option("--value", required=True)
    @click.option("--decision", required=True, help="The re-review's conclusion.")
    @AS_USER
    @db_options
    def adjust_cmd(db, as_json, appeal_id, item, value, decision, username):
        """Decide APPEAL_ID by correcting one value; recompute, re-rank, re-publish."""
        changes = adjust_for_appeal(db, appeal_id, actor_for(db, username), item, value, decision)
        emit(as_json, changes, _changes_text(db, changes))


def _changes_text(db, changes) -> str:
    with db.read() as conn:
        names = {r.id: f"{r.code} {r.name}" for r in conn.execute(
            select(Unit.id, Unit.code, Unit.name))}
    return "\n".join(
        f"{names.get(c['unit_id'], c['unit_id'])}: {c['old']['composite']}/{c['old']['grade']}"
        f"/第{c['old']['rank'] or '—'}名"
        f" → {c['new']['composite']}/{c['new']['grade']}/第{c['new']['rank'] or '—'}名"
        for c in changes) or "无变化 no change"
