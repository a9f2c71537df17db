"""One instance: data, the form the next action needs, actions, attachments, history,
diagram."""

from __future__ import annotations

from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup

from engine import (InvalidInput, NotFound, NotPermitted, WorkflowError, available_triggers,
                    fire, read_history, start, update_data)
from engine.attachments import (ALLOWED_TYPES, DEFAULT_MAX_BYTES, AttachmentSettings,
                                attach, can_attach, human_size, list_attachments,
                                open_attachment)
from engine.exceptions import Conflict
from engine.queries import editable_fields
from engine.registry import compiled
from workflow import mermaid
from workflow.diagram import node_id
from workflow.diagram_svg import svg

from .common import actor, get_db, load_instance

bp = Blueprint("instances", __name__, url_prefix="/instances")


def _definition(view):
    return compiled(get_db(), view.definition_version_id).definition


def diagram_source(definition, state: str, locale: str) -> str:
    """The Mermaid source with the current state highlighted."""
    return (mermaid(definition, locale) + "    classDef current fill:#fde68a,stroke:#b45309\n"
            f"    class {node_id(state)} current\n")


@bp.app_template_filter("definition_svg")
def definition_svg(version_id: int, current: str | None = None) -> Markup:
    """Template filter: the SVG diagram of a stored definition version (admin page)."""
    from .. import i18n

    definition = compiled(get_db(), version_id).definition
    return Markup(svg(definition, current, i18n.lang(), id_prefix=f"def-{version_id}"))


def _editable(definition, view) -> tuple[str, ...]:
    """The fields the signed-in user may set in the instance's state (as the engine
    checks them: the field's setters, the user's roles, the unit rule)."""
    return editable_fields(definition, view.state, actor(), view.subject_unit_id)


def _form_fields(definition, view) -> list:
    """The form's inputs: only the fields the user may set here, in declaration order;
    every other field is shown as text in the data list, never as an input."""
    names = set(_editable(definition, view))
    return [f for n, f in definition.fields.items() if n in names and f.type != "table"]


def _posted_data(definition, view) -> dict:
    """The declared fields posted in the form. A field the user emptied is cleared
    (sent as None) when the instance has a value for it, so that ``requires`` then
    sees it as missing; an empty field without a value is left out. Fields the user may
    not set are passed on too, for the engine to refuse by name."""
    data = {}
    for name, spec in definition.fields.items():
        key = f"field_{name}"
        if key not in request.form:
            continue
        raw = request.form.get(key, "").strip()
        if not raw:
            if view.data.get(name) not in (None, ""):
                data[name] = None
        elif spec.type == "number":
            try:
                data[name] = float(raw) if "." in raw else int(raw)
            except ValueError as exc:
                raise InvalidInput(_("%(field)s 须为数字", field=spec.label.zh),
                                   field=name) from exc
        else:
            data[name] = raw
    return data


@bp.route("/")
@login_required
def index():
    """Instances the user may see (unit users: their own unit's), newest first, 50 a
    page, filtered by process, state, unit (organisation-wide users) and overdue."""
    from engine.listing import list_page

    args = request.args
    filters = {"key": args.get("key", "").strip(), "state": args.get("state", "").strip(),
               "unit": args.get("unit", "").strip() if actor().is_org_wide else "",
               "overdue": "1" if args.get("overdue") else ""}
    listing = list_page(get_db(), actor(), key=filters["key"] or None,
                        state=filters["state"] or None, unit_code=filters["unit"] or None,
                        overdue_only=bool(filters["overdue"]),
                        page=args.get("page", 1, type=int) or 1)
    return render_template("instances/index.html", listing=listing, filters=filters,
                           args={k: v for k, v in filters.items() if v})


@bp.route("/<int:instance_id>")
@login_required
def show(instance_id: int):
    """The instance page."""
    return _page(load_instance(instance_id))


def _page(view, error: WorkflowError | None = None):
    """The instance page; after a refused save or action, with the engine's message
    above the form and the values the user typed kept in its inputs."""
    from .. import i18n

    db = get_db()
    definition = _definition(view)
    fields = _form_fields(definition, view)
    values = dict(view.data)
    if error is not None and not isinstance(error, Conflict):  # stale: show the new data
        values.update({f.name: request.form[f"field_{f.name}"] for f in fields
                       if f"field_{f.name}" in request.form})
    files = list_attachments(db, view.id, actor())
    settings = attachment_settings()
    body = render_template(
        "instances/show.html", view=view, definition=definition,
        actions=available_triggers(db, view.id, actor()), fields=fields,
        editable=bool(fields), values=values, error=error,
        comment=request.form.get("comment", "") if error is not None else "",
        history=read_history(db, view.id, actor()),
        diagram=diagram_source(definition, view.state, i18n.lang()),
        diagram_svg=Markup(svg(definition, view.state, i18n.lang())),  # escapes its text
        attachments=files, attachments_by_seq={a.history_seq: a for a in files},
        can_attach=can_attach(db, view.id, actor()), human_size=human_size,
        accept=",".join(ALLOWED_TYPES), allowed_types="、".join(
            dict.fromkeys(e.lstrip(".") for e in ALLOWED_TYPES)),
        max_size=human_size(settings.max_bytes))
    return body, (error.http_status if error is not None else 200)


def _refused(view, exc: WorkflowError):
    """A save or action the engine refused: the page again, status and message kept."""
    if isinstance(exc, NotFound):
        raise exc
    return _page(view, exc)


@bp.route("/<int:instance_id>/save", methods=("POST",))
@login_required
def save(instance_id: int):
    """Save field data (the engine checks that the user may set every field sent)."""
    view = load_instance(instance_id)
    try:
        update_data(get_db(), instance_id, actor(), _posted_data(_definition(view), view),
                    comment=request.form.get("comment") or None,
                    expected_version=request.form.get("version", type=int))
    except WorkflowError as exc:
        return _refused(view, exc)
    flash(_("已保存。"), "ok")
    return redirect(url_for("instances.show", instance_id=instance_id))


@bp.route("/<int:instance_id>/fire", methods=("POST",))
@login_required
def fire_trigger(instance_id: int):
    """Fire the chosen trigger (whitelisted against the definition), with the form's
    changed fields and comment."""
    view = load_instance(instance_id)
    definition = _definition(view)
    trigger = request.form.get("trigger", "")
    if trigger not in definition.triggers():
        abort(400)
    from ..auth import fresh_auth_redirect  # approvals need a recent password

    if (stale := fresh_auth_redirect(trigger, url_for("instances.show", instance_id=instance_id))):
        return stale
    try:
        posted = _posted_data(definition, view)
        data = {k: v for k, v in posted.items() if view.data.get(k) != v}
        result = fire(get_db(), instance_id, trigger, actor(),
                      comment=request.form.get("comment") or None, data=data or None,
                      expected_version=request.form.get("version", type=int))
    except WorkflowError as exc:
        return _refused(view, exc)
    from .. import i18n

    flash(_("操作成功:%(state)s", state=i18n.label(definition.states[result.to_state].label)),
          "ok")
    return redirect(url_for("instances.show", instance_id=instance_id))


@bp.route("/new", methods=("POST",))
@login_required
def new():
    """Start a new instance of a process (for the user's unit, or a chosen unit)."""
    key = request.form.get("key", "")
    unit_code = request.form.get("unit_code") or None
    if unit_code is None and actor().unit_id is not None:
        result = start(get_db(), key, actor(), unit_id=actor().unit_id)
    else:
        result = start(get_db(), key, actor(), unit_code=unit_code)
    return redirect(url_for("instances.show", instance_id=result.instance_id))


def attachment_settings() -> AttachmentSettings:
    """Storage folder and size limit from the app config (``ATTACHMENT_DIR``, default
    ``<instance folder>/attachments``; ``ATTACHMENT_MAX_BYTES``)."""
    config = current_app.config
    folder = config.get("ATTACHMENT_DIR") or Path(current_app.instance_path) / "attachments"
    return AttachmentSettings(Path(folder), config.get("ATTACHMENT_MAX_BYTES")
                              or DEFAULT_MAX_BYTES)


@bp.route("/<int:instance_id>/attachments", methods=("POST",))
@login_required
def upload(instance_id: int):
    """Attach the uploaded file (permission, size and type are checked by the engine)."""
    load_instance(instance_id)
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        raise InvalidInput(_("请选择要上传的文件。"))
    result = attach(get_db(), instance_id, actor(), upload_file.filename, upload_file.stream,
                    upload_file.mimetype, comment=request.form.get("comment") or None,
                    expected_version=request.form.get("version", type=int),
                    settings=attachment_settings())
    flash(_("已上传附件:%(name)s", name=result.filename), "ok")
    return redirect(url_for("instances.show", instance_id=instance_id) + "#attachments")


@bp.route("/<int:instance_id>/attachments/<int:attachment_id>")
@login_required
def download(instance_id: int, attachment_id: int):
    """The stored file, re-hashed first, always as a download (never rendered inline)."""
    load_instance(instance_id)
    try:
        found, path = open_attachment(get_db(), instance_id, attachment_id, actor(),
                                      attachment_settings())
    except (NotFound, NotPermitted):
        abort(404)
    response = send_file(path, mimetype=found.content_type, as_attachment=True,
                         download_name=found.filename, max_age=0, etag=found.sha256)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
