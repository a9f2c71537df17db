"""``/api/v1/me``, ``/tasks``, ``/notifications`` and ``/tokens``: the caller's own things."""

from __future__ import annotations

from engine.tasks import my_tasks
from notifications.inbox import list_inbox, mark_all_read, mark_read

from . import bp, schemas, serialize, tokens
from .auth import api_user
from .errors import ApiError
from .instances import _db, decode_cursor, encode_cursor
from .spec import operation
from ..views.common import ADMIN_ROLES


@operation(bp, "GET", "/me", summary="The caller", tag="me", response="Me")
def me():
    """The calling user, their roles and how they authenticated."""
    from flask import g

    user = api_user()
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "unit_id": user.unit_id, "roles": list(user.roles), "auth": g.api_auth}


@operation(bp, "GET", "/tasks", summary="My tasks", tag="me", query=schemas.TASK_QUERY,
           response="TaskList")
def tasks(query: dict):
    """Instances the caller can act on now, soonest due first."""
    items = my_tasks(_db(), api_user().actor, key=query["process"], state=query["state"])
    return {"items": [{"instance_id": t.instance_id, "process": t.definition_key,
                       "title": serialize.label(t.title), "unit_code": t.unit_code,
                       "unit_name": t.unit_name, "state": t.state,
                       "state_label": serialize.label(t.state_label), "version": t.version,
                       "due_date": serialize.day(t.due_date),
                       "working_days_left": t.working_days_left, "urgency": t.urgency}
                      for t in items]}


@operation(bp, "GET", "/notifications", summary="My notifications", tag="me",
           query=schemas.INBOX_QUERY, response="NotificationPage")
def notifications(query: dict):
    """The caller's in-app notifications, newest first; paginate with ``next_cursor``."""
    rows = list_inbox(_db(), api_user().id, unread_only=bool(query["unread"]),
                      limit=query["limit"] + 1, before_id=decode_cursor(query["cursor"]))
    more = len(rows) > query["limit"]
    rows = rows[:query["limit"]]
    return {"items": [{"id": n.id, "event": n.event, "title": n.title, "body": n.body,
                       "link": n.link, "instance_id": n.instance_id,
                       "created_at": serialize.iso(n.created_at),
                       "read_at": serialize.iso(n.read_at), "unread": n.unread} for n in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more and rows else None}


@operation(bp, "POST", "/notifications/read", summary="Mark notifications read", tag="me",
           body=schemas.MARK_READ, response="Marked")
def notifications_read(body: dict):
    """Mark the given ids (the caller's own; others' are ignored) or ``all`` read."""
    db, user_id = _db(), api_user().id
    if body.get("all"):
        return {"marked": mark_all_read(db, user_id)}
    return {"marked": mark_read(db, user_id, body.get("ids") or [])}


@operation(bp, "GET", "/tokens", summary="My API tokens", tag="tokens", response="TokenList")
def list_tokens():
    """The caller's tokens (revoked ones included); never the secrets."""
    return {"items": [serialize.token(t) for t in tokens.list_tokens(_db(), api_user().id)]}


def token_days() -> dict:
    """The application's token validity settings, as :func:`tokens.create_token` takes them."""
    from flask import current_app

    return tokens.settings(current_app.config)


@operation(bp, "POST", "/tokens", summary="Create an API token", tag="tokens",
           body=schemas.NEW_TOKEN, status=201, response="NewToken", session_only=True)
def create_token(body: dict):
    """A new personal token acting with the caller's roles, valid ``expires_days`` days
    (default 90); ``token`` is shown only here. Only from a signed-in browser session
    (with ``X-CSRFToken``): a bearer token cannot mint tokens (403 ``session_required``)."""
    user = api_user()
    info, secret = tokens.create_token(_db(), user.username, body["name"],
                                       created_by=user.username,
                                       days=body.get("expires_days"), **token_days())
    return serialize.token(info, secret)


@operation(bp, "DELETE", "/tokens/<int:token_id>", summary="Revoke an API token",
           tag="tokens", response="Token")
def revoke_token(token_id: int):
    """Revoke one of the caller's tokens (admins: anyone's); it stops working at once.
    A bearer token may revoke its own user's tokens, itself included (so a leaked token
    can be killed with itself), but never another user's."""
    db, user = _db(), api_user()
    info = tokens.get_token(db, token_id)
    if info.user_id != user.id and not user.has_any(*ADMIN_ROLES):
        raise ApiError(404, "not_found", f"没有编号为 {token_id} 的令牌 — no token {token_id}")
    return serialize.token(tokens.revoke_token(db, token_id))
