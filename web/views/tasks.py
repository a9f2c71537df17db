"""My tasks: what the signed-in user can act on now, and the notification inbox."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.tasks import my_tasks

from .common import actor, get_db

bp = Blueprint("tasks", __name__)


def _inbox(user_id: int):
    try:
        from notifications import list_inbox, unread_count
    except ImportError:  # pragma: no cover - notifications is part of the package
        return [], 0
    db = get_db()
    return list_inbox(db, user_id, limit=20), unread_count(db, user_id)


@bp.route("/")
@login_required
def index():
    """My tasks, soonest due first, with filters by process and state."""
    key, state = request.args.get("key") or None, request.args.get("state") or None
    everything = my_tasks(get_db(), actor())
    tasks = [t for t in everything if (not key or t.definition_key == key)
             and (not state or t.state == state)]
    processes = {t.definition_key: t.title for t in everything}
    states = {t.state: t.state_label for t in everything if not key or t.definition_key == key}
    inbox, unread = _inbox(current_user.id)
    return render_template("tasks/index.html", tasks=tasks, processes=processes, states=states,
                           key=key, state=state, inbox=inbox, unread=unread)


@bp.route("/inbox/read", methods=("POST",))
@login_required
def inbox_read():
    """Mark one notification (``id``) or all of them read."""
    from notifications import mark_all_read, mark_read

    ident = request.form.get("id", "")
    if ident.isdigit():
        mark_read(get_db(), current_user.id, [int(ident)])
    else:
        mark_all_read(get_db(), current_user.id)
    return redirect(url_for("tasks.index"))
