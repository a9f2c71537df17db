"""``perfeval start|fire|save|show|list|history`` — the same engine calls the UI makes."""

from __future__ import annotations

import click

from engine import (actor_for, available_triggers, fire, get_instance, list_instances,
                    read_history, start, update_data)
from engine.clock import to_local

from .common import db_options, emit, parse_json_option

AS_USER = click.option("--as", "username", required=True, help="Act as this user.")
ROLE = click.option("--role", default=None, help="Use this role (default: the first that fits).")


def _when(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def _result(as_json: bool, result, verb: str) -> None:
    emit(as_json, result.__dict__,
         f"{verb}: #{result.instance_id} {result.from_state or '—'} → {result.to_state} "
         f"(version {result.version})")


def register(main: click.Group) -> None:
    """Attach the instance commands to ``main``."""

    @main.command("start")
    @click.argument("definition")
    @click.option("--unit", "unit_code", default=None, help="Subject unit code.")
    @AS_USER
    @ROLE
    @click.option("--data", default=None, help="Initial field data as a JSON object.")
    @db_options
    def start_cmd(db, as_json, definition, unit_code, username, role, data):
        """Start an instance of DEFINITION."""
        result = start(db, definition, actor_for(db, username), unit_code=unit_code,
                       data=parse_json_option(data, "--data"), role=role)
        _result(as_json, result, "已创建 started")

    @main.command("fire")
    @click.argument("instance_id", type=int)
    @click.argument("trigger")
    @AS_USER
    @ROLE
    @click.option("--comment", default=None)
    @click.option("--data", default=None, help="Field data as a JSON object.")
    @click.option("--expected-version", type=int, default=None,
                  help="Refuse (exit 6) unless the instance is still at this version.")
    @db_options
    def fire_cmd(db, as_json, instance_id, trigger, username, role, comment, data,
                 expected_version):
        """Fire TRIGGER on instance INSTANCE_ID."""
        result = fire(db, instance_id, trigger, actor_for(db, username), comment=comment,
                      data=parse_json_option(data, "--data"),
                      expected_version=expected_version, role=role)
        _result(as_json, result, "已执行 fired")

    @main.command("save")
    @click.argument("instance_id", type=int)
    @AS_USER
    @ROLE
    @click.option("--data", required=True, help="Field data as a JSON object.")
    @click.option("--expected-version", type=int, default=None)
    @db_options
    def save_cmd(db, as_json, instance_id, username, role, data, expected_version):
        """Save field data of INSTANCE_ID without changing its state."""
        result = update_data(db, instance_id, actor_for(db, username),
                             parse_json_option(data, "--data"),
                             expected_version=expected_version, role=role)
        _result(as_json, result, "已保存 saved")

    @main.command("show")
    @click.argument("instance_id", type=int)
    @click.option("--as", "username", default=None, help="Also list what this user may do.")
    @db_options
    def show_cmd(db, as_json, instance_id, username):
        """Show an instance: state, data and (with --as) the available actions."""
        actor = actor_for(db, username) if username else None
        view = get_instance(db, instance_id, actor)
        actions = available_triggers(db, instance_id, actor) if actor else []
        payload = {**view.to_dict(), "actions": [a.__dict__ for a in actions]}
        lines = [f"#{view.id} {view.title} ({view.definition_key} v{view.definition_version})",
                 f"单位 unit: {view.unit_code or '—'} {view.unit_name or ''}",
                 f"状态 state: {view.state_label} ({view.state})  version {view.version}",
                 f"更新 updated: {_when(view.updated_at)}"]
        lines += [f"  {k}: {v}" for k, v in view.data.items()]
        for a in actions:
            mark = "✓" if a.allowed else "✗"
            why = "" if a.allowed else "  — " + "; ".join(a.reasons)
            lines.append(f"  {mark} {a.trigger} → {a.to_state}{why}")
        emit(as_json, payload, "\n".join(lines))

    @main.command("list")
    @click.option("--definition", "key", default=None)
    @click.option("--state", default=None)
    @click.option("--as", "username", default=None, help="Only what this user may see.")
    @db_options
    def list_cmd(db, as_json, key, state, username):
        """List instances (newest first)."""
        actor = actor_for(db, username) if username else None
        views = list_instances(db, actor, key=key, state=state)
        emit(as_json, [v.to_dict() for v in views], "\n".join(
            f"#{v.id:<6} {v.definition_key:<20} {v.unit_code or '—':<10} "
            f"{v.state_label} ({v.state}) v{v.version}" for v in views) or "(none)")

    @main.command("history")
    @click.argument("instance_id", type=int)
    @db_options
    def history_cmd(db, as_json, instance_id):
        """The hash-chained history of INSTANCE_ID."""
        entries = read_history(db, instance_id)
        emit(as_json, entries, "\n".join(
            f"{e['seq']:>3} {_when(e['at'])} {e['from_state'] or '—'} → {e['to_state']} "
            f"[{e['trigger']}] {e['actor']} ({e['role']})"
            + (f" “{e['comment']}”" if e["comment"] else "") + f"  {e['hash'][:12]}"
            for e in entries))
