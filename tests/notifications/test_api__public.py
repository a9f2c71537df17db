"""The public names of ``notifications`` are pinned (the web layer imports them)."""

from __future__ import annotations

import ast
from pathlib import Path

import notifications

PUBLIC = {
    "Channel", "DeliveryError", "DeliveryRow", "DispatchConfig", "DispatchReport", "EVENTS",
    "EmailChannel", "InboxItem", "Outgoing", "Preferences", "Rendered", "SmtpSettings",
    "WebhookChannel", "add_webhook", "attempts_of", "classify", "counts", "default_channels",
    "dispatch", "get_preferences", "list_dead_events", "list_deliveries", "list_inbox",
    "list_webhooks", "mark_all_read", "mark_read", "message_key", "render", "retry",
    "run_forever", "set_preferences", "set_webhook_active", "unread_count",
}


def test_public_names_are_exactly_these():
    assert set(notifications.__all__) == PUBLIC
    assert all(getattr(notifications, name) for name in PUBLIC)


def test_public_functions_have_a_docstring():
    missing = [n for n in PUBLIC if callable(getattr(notifications, n))
               and not (getattr(notifications, n).__doc__ or "").strip()]
    assert missing == []


def test_notifications_imports_engine_and_workflow_but_never_web():
    root = Path(notifications.__file__).parent
    imported = set()
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
    assert "web" not in imported and {"engine", "workflow"} <= imported
