"""``perfeval tokens create USER | revoke ID | list`` — personal API tokens."""

from __future__ import annotations

import click

from web.api import serialize, tokens

from .common import db_options, emit


def register(main: click.Group) -> None:
    """Attach the ``tokens`` group."""

    @main.group("tokens")
    def group() -> None:
        """Personal API tokens (Authorization: Bearer …), stored hashed."""

    @group.command("create")
    @click.argument("username")
    @click.option("--name", default="cli", show_default=True, help="What the token is for.")
    @click.option("--expires-days", "days", type=int, default=tokens.DEFAULT_DAYS,
                  show_default=True,
                  help=f"Days the token stays valid (1–{tokens.MAX_DAYS}).")
    @db_options
    def create_cmd(db, as_json, username, name, days):
        """A new token for USERNAME, acting with that user's roles; shown only once."""
        info, secret = tokens.create_token(db, username, name, created_by="cli", days=days)
        row = serialize.token(info, secret)
        emit(as_json, row, f"令牌 token #{info.id} for {username}, 有效至 expires "
                           f"{row['expires_at']} (仅显示一次 shown once):\n{secret}")

    @group.command("revoke")
    @click.argument("token_id", type=int)
    @db_options
    def revoke_cmd(db, as_json, token_id):
        """Revoke token TOKEN_ID; it stops working at once."""
        info = tokens.revoke_token(db, token_id)
        emit(as_json, serialize.token(info), f"已撤销 revoked token #{info.id} ({info.username})")

    @group.command("list")
    @click.option("--user", "username", default=None, help="Only this user's tokens.")
    @db_options
    def list_cmd(db, as_json, username):
        """Every token: id, user, name, prefix, created, last used, expiry, status."""
        rows = [serialize.token(t) for t in tokens.list_tokens(db)
                if username is None or t.username == username]
        emit(as_json, rows, "\n".join(
            f"#{r['id']:<4} {r['username']:<16} {r['name']:<20} {r['prefix']}…  "
            f"last used {r['last_used_at'] or '-'}  expires {r['expires_at'] or '-'}  "
            f"{r['status']}"
            for r in rows) or "没有令牌 no tokens")
