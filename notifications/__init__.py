"""perfeval's notifications: the engine's outbox delivered, never lost.

The public API (documented in docs/notifications.md)::

    report = dispatch(db)                        # expand events, fold digests, send
    dispatch(db, now=t, channels={"email": EmailChannel(SmtpSettings.from_url(url))})
    list_inbox(db, user_id); unread_count(db, user_id); mark_read(db, user_id, [id])
    set_preferences(db, user_id, locale="en", digest=True)
    add_webhook(db, "绩效办工作群", url, secret=s, style="dingtalk", roles=["office"])
    list_deliveries(db, dead=True); retry(db, [delivery_id]); retry(db, all_dead=True)
"""

from .channels import Channel, DeliveryError, Outgoing, message_key
from .channels.email import EmailChannel, SmtpSettings
from .channels.webhook import WebhookChannel
from .config import DispatchConfig
from .deadletter import (DeliveryRow, attempts_of, counts, list_dead_events,
                         list_deliveries, retry)
from .dispatcher import DispatchReport, default_channels, dispatch, run_forever
from .events import EVENTS, classify
from .inbox import InboxItem, list_inbox, mark_all_read, mark_read, unread_count
from .preferences import (Preferences, add_webhook, get_preferences, list_webhooks,
                          set_preferences, set_webhook_active)
from .render import Rendered, render

__all__ = [
    "Channel", "DeliveryError", "DeliveryRow", "DispatchConfig", "DispatchReport", "EVENTS",
    "EmailChannel", "InboxItem", "Outgoing", "Preferences", "Rendered", "SmtpSettings",
    "WebhookChannel", "add_webhook", "attempts_of", "classify", "counts", "default_channels",
    "dispatch", "get_preferences", "list_dead_events", "list_deliveries", "list_inbox",
    "list_webhooks", "mark_all_read", "mark_read", "message_key", "render", "retry",
    "run_forever", "set_preferences", "set_webhook_active", "unread_count",
]
