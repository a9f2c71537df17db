"""``perfeval start|fire|save|show|list|history`` and ``perfeval instances attach|attachments``
— the same engine calls the UI and the API make."""

from __future__ import annotations

from pathlib import Path

import click

from engine import (actor_for, available_triggers, fire, get_instance, list_instances,
                    read_history, start, update_data)
from engine.attachments import AttachmentSettings, attach, human_size, list_attachments
from engine.clock import to_local
from engine.queries import editable_fields
from engine.registry import compiled
from web.api import serialize

from .common import db_options, emit, parse_json_option

AS_USER = click.option("--as", "username", required=True, help="Act as this user.")
ROLE = click.option("--role", default=None, help="Use this role (default: the first that fits).")


def _when(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def _result(as_json: bool, result, verb: str) -> None:
    emit(as_json, result.__dict__,
         f"{verb}: #{result.instance_id} {result.from_state or '—'} → {result.to_state} "
         f"(version {result.version})")


def _attachment(att) -> dict:
    """An attachment as ``--json`` prints it (the API's listing without the URL)."""
    return {k: v for k, v in serialize.attachment(att, "").items() if k != "download_url"}


def register(main: click.Group) -> None:
    """Attach the instance commands to ``main``."""
    _register_instances_group(main)

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
        editable = (editable_fields(compiled(db, view.definition_version_id).definition,
                                    view.state, actor, view.subject_unit_id) if actor else ())
        payload = {**view.to_dict(), "actions": [a.__dict__ for a in actions],
                   **({"editable_fields": list(editable)} if actor else {})}
        lines = [f"#{view.id} {view.title} ({view.definition_key} v{view.definition_version})",
                 f"单位 unit: {view.unit_code or '—'} {view.unit_name or ''}",
                 f"状态 state: {view.state_label} ({view.state})  version {view.version}",
                 f"更新 updated: {_when(view.updated_at)}"]
        lines += [f"  {k}: {v}" for k, v in view.data.items()]
        if actor:
            lines.append(f"可填写 editable: {', '.join(editable) or '—'}")
        for a in actions:
            mark = "✓" if a.allowed else "✗"
            why = "" if a.allowed else "  — " + "; ".join(a.reasons)
            lines.append(f"  {mark} {a.trigger} {a.label} → {a.to_state}{why}")
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


def _register_instances_group(main: click.Group) -> None:
    """The ``instances`` group: files attached to an instance."""

    @main.group("instances")
    def group() -> None:
        """Files attached to instances (stored under PERFEVAL_ATTACHMENT_DIR)."""

    @group.command("attach")
    @click.argument("instance_id", type=int)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True,
                                            path_type=Path))
    @click.option("--comment", default=None, help="Recorded with the upload in the history.")
    @AS_USER
    @click.option("--expected-version", type=int, default=None,
                  help="Refuse (exit 6) unless the instance is still at this version.")
    @db_options
    def attach_cmd(db, as_json, instance_id, file, comment, username, expected_version):
        """Attach FILE to INSTANCE_ID; its SHA-256 goes into the history (trigger attach).

        The file name's extension decides the type (pdf, docx, xlsx, pptx, doc, xls,
        jpg, jpeg, png, txt, csv) and the content must match it; at most
        PERFEVAL_ATTACHMENT_MAX_BYTES (default 20 MB). Refused: exit 8 (type, size,
        content), 3 (role), 6 (stale --expected-version), 7 (no such instance)."""
        with file.open("rb") as stream:
            att = attach(db, instance_id, actor_for(db, username), file.name, stream,
                         expected_version=expected_version, comment=comment,
                         settings=AttachmentSettings.from_env())
        emit(as_json, {**_attachment(att), "version": att.history_seq},
             f"已上传 attached: #{att.id} {att.filename} ({human_size(att.size)}, "
             f"{att.content_type}) → #{instance_id} version {att.history_seq}\n"
             f"SHA-256 {att.sha256}")

    @group.command("attachments")
    @click.argument("instance_id", type=int)
    @click.option("--as", "username", default=None, help="Only if this user may see it.")
    @db_options
    def attachments_cmd(db, as_json, instance_id, username):
        """The files attached to INSTANCE_ID, oldest first."""
        actor = actor_for(db, username) if username else None
        found = list_attachments(db, instance_id, actor)
        emit(as_json, [_attachment(a) for a in found], "\n".join(
            f"#{a.id:<5} {_when(a.at)} {a.filename}  {human_size(a.size)}  {a.uploaded_by}  "
            f"(history {a.history_seq})  {a.sha256}" for a in found) or "(none)")
