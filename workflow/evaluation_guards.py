"""Guards of the evaluation-year definitions (registered on import by ``workflow.guards``).

Each is pure: it looks only at the instance data the engine passes in.
"""

from __future__ import annotations

from .guards import GuardContext, guard


@guard("plan_period_3_to_5_years")
def plan_period_3_to_5_years(ctx: GuardContext) -> str | None:
    """A medium-term plan covers three to five years ("一般为三至五年", Harbin art. 7)."""
    start, end = ctx.data.get("period_start"), ctx.data.get("period_end")
    try:
        years = int(end) - int(start) + 1
    except (TypeError, ValueError):
        return "须填写规划起止年份 (period_start and period_end are required)"
    if not 3 <= years <= 5:
        return f"中长期计划期限应为三至五年,现为 {years} 年 (the period must be 3-5 years, got {years})"
    return None


@guard("appeal_in_time")
def appeal_in_time(ctx: GuardContext) -> str | None:
    """The appeal was filed within the appeal window (the engine sets ``filed_in_time``)."""
    if ctx.data.get("filed_in_time") != "yes":
        return "申诉已超过申诉期限,只能不予受理 (filed after the appeal window: reject as late)"
    return None


@guard("indicators_complete")
def indicators_complete(ctx: GuardContext) -> str | None:
    """Every indicator names its scoring method and verifying unit (考核责任单位)."""
    rows = ctx.data.get("indicators") or []
    incomplete = [str(r.get("name") or i + 1) for i, r in enumerate(rows)
                  if not isinstance(r, dict) or not r.get("method") or not r.get("verifier")]
    if incomplete:
        return ("指标缺少计分方法或考核责任单位:" + "、".join(incomplete)
                + " (every indicator needs a method and a verifying unit)")
    return None
