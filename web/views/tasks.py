"""My tasks: what the signed-in user can act on now, and the notification inbox."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.paging import clamp_page
from engine.tasks import actionable, my_tasks, task_facets

from .common import actor, get_db

bp = Blueprint("tasks", __name__)
PAGE_SIZE = 50


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
    """My tasks, soonest due first then by id, 50 a page, with filters by process and
    state (a fixed number of queries, whatever the number of tasks)."""
    db, who = get_db(), actor()
    key, state = request.args.get("key") or None, request.args.get("state") or None
    conds = actionable(db, who)
    facets = task_facets(db, who, conds=conds)
    processes = {f.definition_key: f.title for f in facets}
    states = {f.state: f.state_label for f in facets if not key or f.definition_key == key}
    total = sum(f.count for f in facets if (not key or f.definition_key == key)
                and (not state or f.state == state))
    page, pages = clamp_page(request.args.get("page", 1, type=int) or 1, total, PAGE_SIZE)
    tasks = my_tasks(db, who, key=key, state=state, limit=PAGE_SIZE,
                     offset=(page - 1) * PAGE_SIZE, conds=conds)
    inbox, unread = _inbox(current_user.id)
    return render_template("tasks/index.html", tasks=tasks, processes=processes, states=states,
                           key=key, state=state, inbox=inbox, unread=unread, total=total,
                           page=page, pages=pages)


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
