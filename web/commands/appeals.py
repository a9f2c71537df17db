"""``perfeval appeals …`` — filing an appeal against a published result, and the list.

``appeals file`` is the command line's one way to file an appeal (a plain ``perfeval
start appeal`` is refused): it checks the cycle's stage (公示, 申诉复核; exit 5
otherwise), that the unit's result is published, one appeal per indicator (exit 6 for
a second one) and records whether it was filed within the window.
"""

from __future__ import annotations

import click

from engine import actor_for, get_instance
from engine.appeals import OVERALL, file_appeal
from engine.cycle_views import appeals_of

from .common import db_options, emit

AS_USER = click.option("--as", "username", required=True, help="Act as this user.")
YEAR = click.option("--year", type=int, required=True, help="The evaluation year.")


def register(main: click.Group) -> None:
    """Attach the ``appeals`` group to ``main``."""

    @main.group("appeals")
    def appeals() -> None:
        """Appeals against published results (申诉)."""

    @appeals.command("file")
    @YEAR
    @click.option("--item", default=OVERALL, show_default=True,
                  help="Indicator code, 'public', 'leadership' or 'overall'.")
    @click.option("--grounds", required=True, help="The grounds of the appeal (申诉理由).")
    @click.option("--unit", "unit_code", default=None,
                  help="The appealing unit's code (the office; default: your own unit).")
    @AS_USER
    @db_options
    def file_cmd(db, as_json, year, item, grounds, unit_code, username):
        """File an appeal against the unit's published YEAR result on ITEM."""
        result = file_appeal(db, year, actor_for(db, username), grounds, item=item,
                             unit_code=unit_code)
        data = get_instance(db, result.instance_id).data
        late = data.get("filed_in_time") == "no"
        emit(as_json, {"instance_id": result.instance_id, "state": result.to_state,
                       "version": result.version, "hash": result.hash, "data": data},
             f"已提出申诉 appeal filed: #{result.instance_id} ({data.get('item')})"
             + ("\n已超过申诉期限,绩效办将不予受理 — filed after the appeal window" if late
                else ""))

    @appeals.command("list")
    @YEAR
    @db_options
    def list_cmd(db, as_json, year):
        """The year's appeals, newest first."""
        rows = appeals_of(db, year)
        emit(as_json, [_row(r) for r in rows], "\n".join(
            f"#{r['id']:<5} {r['code'] or '—':<6} {r['item'] or OVERALL:<10} "
            f"{r['state_label'].zh}({r['state']}) "
            f"{'逾期 late' if r['filed_in_time'] == 'no' else ''}".rstrip()
            for r in rows) or "—")


def _row(r: dict) -> dict:
    return {"id": r["id"], "unit": r["code"], "item": r["item"], "state": r["state"],
            "state_label": r["state_label"], "grounds": r["grounds"],
            "filed_in_time": r["filed_in_time"], "decision": r["decision"],
            "filed_at": r["filed_at"].isoformat() if r["filed_at"] else None,
            "due": r["due"].isoformat() if r["due"] else None}
