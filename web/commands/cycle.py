"""``perfeval cycle open|status|advance|force`` — the evaluation year as a parent process."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from engine import actor_for
from engine.cycle_config import load_config
from engine.cycles import advance, cycle_for_year, fire_children, force, open_cycle
from engine.models import Instance

from .common import db_options, emit

AS_USER = click.option("--as", "username", required=True, help="Act as this user.")
YEAR = click.option("--year", type=int, required=True, help="The evaluation year, e.g. 2026.")


def register(main: click.Group) -> None:
    """Attach the ``cycle`` group to ``main``."""

    @main.group("cycle")
    def cycle() -> None:
        """The evaluation year (年度绩效评估): open, progress, advance, force."""

    @cycle.command("open")
    @YEAR
    @click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                  default=None, help="Settings (YAML/JSON): weights, grades, quota, scope …")
    @AS_USER
    @db_options
    def open_cmd(db, as_json, year, config_path, username):
        """Open YEAR: the cycle and every unit's instances, in one transaction."""
        opened = open_cycle(db, year, actor_for(db, username), load_config(config_path))
        emit(as_json, opened.__dict__,
             f"已开启 {year} 年度考评 opened cycle {year}: #{opened.instance_id}, "
             f"{opened.units} 个单位 units, {opened.children} 个事项 child instances")

    @cycle.command("status")
    @YEAR
    @db_options
    def status_cmd(db, as_json, year):
        """The cycle's state and its children by definition and state."""
        row = cycle_for_year(db, year)
        i = Instance.__table__
        with db.read() as conn:
            state = conn.execute(select(i.c.state).where(i.c.id == row["instance_id"])).scalar()
            counts = conn.execute(select(i.c.definition_key, i.c.state, func.count()).where(
                i.c.parent_id == row["instance_id"]).group_by(i.c.definition_key, i.c.state)
                .order_by(i.c.definition_key, i.c.state)).all()
        payload = {"year": year, "instance_id": row["instance_id"], "state": state,
                   "children": [{"definition": k, "state": s, "count": n} for k, s, n in counts]}
        emit(as_json, payload, f"{year}: #{row['instance_id']} {state}\n" + "\n".join(
            f"  {k:<28} {s:<16} {n}" for k, s, n in counts))

    @cycle.command("advance")
    @YEAR
    @click.argument("trigger")
    @AS_USER
    @db_options
    def advance_cmd(db, as_json, year, trigger, username):
        """Fire TRIGGER on the cycle; a when_children condition is checked on the children."""
        result = advance(db, cycle_for_year(db, year)["instance_id"], trigger,
                         actor_for(db, username))
        emit(as_json, result.__dict__, f"{result.from_state} → {result.to_state}")

    @cycle.command("force")
    @YEAR
    @click.argument("trigger")
    @click.option("--reason", required=True, help="Why the office moves on (recorded).")
    @AS_USER
    @db_options
    def force_cmd(db, as_json, year, trigger, reason, username):
        """Fire a force TRIGGER with a reason; the units not done are recorded with it."""
        result = force(db, cycle_for_year(db, year)["instance_id"], trigger,
                       actor_for(db, username), reason)
        emit(as_json, result.__dict__, f"{result.from_state} → {result.to_state} (forced)")

    @cycle.command("fire-children")
    @YEAR
    @click.argument("definition")
    @click.argument("trigger")
    @click.option("--state", "states", multiple=True, help="Only children in this state.")
    @click.option("--comment", default=None)
    @AS_USER
    @db_options
    def fire_children_cmd(db, as_json, year, definition, trigger, states, comment, username):
        """Fire TRIGGER on every DEFINITION child of the cycle, in one transaction
        (e.g. half_year_self_assessment open_window)."""
        results = fire_children(db, year, definition, trigger, actor_for(db, username),
                                states=tuple(states) or None, comment=comment)
        emit(as_json, {"fired": len(results)}, f"已执行 fired {trigger} on {len(results)}")
