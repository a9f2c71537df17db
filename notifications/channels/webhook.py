"""Webhooks: a JSON POST, signed with HMAC-SHA256, in one of three payload styles.

Headers of every request::

    Content-Type: application/json; charset=utf-8
    Idempotency-Key: <32 hex>         the same on every retry of one delivery
    X-Perfeval-Event: <event>         e.g. submitted, reminder, escalation_office
    X-Perfeval-Timestamp: <unix s>
    X-Perfeval-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

(the signature only when the endpoint has a secret). Styles: ``json`` (perfeval's own
body, below), ``dingtalk`` and ``wecom`` (group-chat robot text messages,
``{"msgtype": "text", "text": {"content": …}}``; DingTalk robots with a secret also get
their own ``timestamp``/``sign`` query parameters). 2xx is success — for the robots
only with ``errcode`` 0; 408, 425, 429, 5xx, timeouts and connection errors are
retried; other 4xx are permanent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import timezone
from typing import Any
from urllib.parse import quote_plus

from ..render import render, render_inapp
from . import Channel, DeliveryError, Outgoing

STYLES = ("json", "dingtalk", "wecom")
_RETRY_STATUSES = {408, 425, 429}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``b"<timestamp>." + body`` with ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute :func:`sign` and compare in constant time."""
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def body_for(message: Outgoing, style: str) -> dict[str, Any]:
    """The JSON body of ``message`` in ``style``."""
    if style in ("dingtalk", "wecom"):
        title, text = render_inapp(message.template, message.locale, message.params)
        link = message.params.get("link") or ""
        return {"msgtype": "text", "text": {"content": f"{title}\n{text}\n{link}".strip()}}
    rendered = render(message.template, message.locale, message.params)
    return {"id": message.idempotency_key, "event": message.template,
            "locale": message.locale, "subject": rendered.subject, "text": rendered.text,
            "link": message.params.get("link"), "instance_id": message.params.get("instance_id"),
            "params": dict(message.params)}


def _dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    signature = quote_plus(base64.b64encode(mac.digest()))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={signature}"


class WebhookChannel(Channel):
    """POSTs webhook deliveries; ``message.endpoint`` holds url, secret and style."""

    name = "webhook"

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def request(self, message: Outgoing) -> urllib.request.Request:
        """The signed HTTP request for ``message``."""
        endpoint = message.endpoint
        style, secret = endpoint.get("style") or "json", endpoint.get("secret") or ""
        body = json.dumps(body_for(message, style), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")
        timestamp = int(message.now.replace(tzinfo=timezone.utc).timestamp())
        url = endpoint["url"]
        if style == "dingtalk" and secret:
            url = _dingtalk_url(url, secret, timestamp * 1000)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Idempotency-Key": message.idempotency_key,
                   "X-Perfeval-Event": message.template,
                   "X-Perfeval-Timestamp": str(timestamp), "User-Agent": "perfeval-webhook/1"}
        if secret:
            headers["X-Perfeval-Signature"] = sign(secret, timestamp, body)
        return urllib.request.Request(url, data=body, headers=headers, method="POST")

    def send(self, message: Outgoing) -> None:
        """POST once; see the module docstring for what is retried."""
        request = self.request(message)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(65536)
        except urllib.error.HTTPError as exc:
            exc.close()
            permanent = 400 <= exc.code < 500 and exc.code not in _RETRY_STATUSES
            raise DeliveryError(f"HTTP {exc.code} {exc.reason}", permanent=permanent) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"webhook unreachable: {reason}") from exc
        if (message.endpoint.get("style") or "json") != "json":
            self._check_robot_answer(answer)

    @staticmethod
    def _check_robot_answer(answer: bytes) -> None:
        try:
            result = json.loads(answer or b"{}")
        except ValueError:
            return
        if isinstance(result, dict) and result.get("errcode", 0) != 0:
            raise DeliveryError(f"robot refused: errcode {result.get('errcode')} "
                                f"{result.get('errmsg', '')}")
