"""Email over SMTP: plain, STARTTLS or SSL, optional login, one connection per batch.

``PERFEVAL_SMTP_URL`` names the server::

    smtp://host:25                      plain (e.g. a local relay)
    smtp+starttls://user:pass@host:587  STARTTLS, then login
    smtps://user:pass@host:465          SSL from the start
    …?from=绩效办 <jxb@example.gov.cn>&timeout=20&cafile=/etc/ssl/internal-ca.pem

(``from`` defaults to ``PERFEVAL_MAIL_FROM``, else ``perfeval@localhost``; user and
password are URL-decoded). Messages are multipart/alternative (plain text + HTML),
UTF-8 with RFC 2047 encoded headers, and carry a ``Message-ID`` derived from the
delivery's unique key, so every resend of one delivery has the same Message-ID.
"""

from __future__ import annotations

import base64
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from functools import lru_cache
from datetime import timezone
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from ..render import render
from . import Channel, DeliveryError, Outgoing

log = logging.getLogger(__name__)

CRLF = "\r\n"  # smtplib sends bytes as they are, and SMTP wants CRLF line ends
_SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("ssl", 465)}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail."""

    host: str
    port: int
    security: str = "plain"  # plain | starttls | ssl
    username: str | None = None
    password: str | None = None
    sender: str = "perfeval@localhost"
    timeout: float = 30.0
    cafile: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Certificate-verifying TLS (system CAs, or ``cafile`` for an internal CA)."""
        return ssl.create_default_context(cafile=self.cafile)

    @property
    def domain(self) -> str:
        """The right-hand side of our Message-IDs (the sender's domain)."""
        return parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"

    @classmethod
    def from_url(cls, url: str) -> "SmtpSettings":
        """Parse a ``PERFEVAL_SMTP_URL`` (see the module docstring)."""
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES or not parts.hostname:
            raise ValueError(f"PERFEVAL_SMTP_URL must look like smtp://host:25, "
                             f"smtp+starttls://… or smtps://…, not {url!r}")
        security, port = _SCHEMES[parts.scheme]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return cls(host=parts.hostname, port=parts.port or port, security=security,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   sender=query.get("from") or os.environ.get("PERFEVAL_MAIL_FROM")
                   or "perfeval@localhost",
                   timeout=float(query.get("timeout", 30)), cafile=query.get("cafile"))


def encoded_words(text: str, room: int = 39) -> str:
    """``text`` as RFC 2047 ``=?utf-8?b?…?=`` words of at most ``room`` UTF-8 bytes each
    (never splitting a character), joined by folding whitespace; ASCII text as is."""
    if text.isascii():
        return text
    words, chunk = [], b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > room:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return (CRLF + " ").join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?="
                             for w in words)


def address(name: str, addr: str) -> str:
    """A mailbox header value: ``=?utf-8?b?…?= <addr>``, quoted ASCII, or bare."""
    if not name:
        return addr
    return f"{encoded_words(name)} <{addr}>" if not name.isascii() else formataddr((name, addr))


@lru_cache(maxsize=8)
def _from_header(sender: str) -> str:
    return address(*parseaddr(sender))


@lru_cache(maxsize=8)
def envelope_sender(sender: str) -> str:
    """The bare address of ``sender`` (for MAIL FROM)."""
    return parseaddr(sender)[1]


def _part(content_type: str, body: str, boundary: str) -> str:
    encoded = base64.encodebytes(body.encode("utf-8")).decode("ascii").replace("\n", CRLF)
    return (f"--{boundary}{CRLF}Content-Type: {content_type}; charset=\"utf-8\"{CRLF}"
            f"Content-Transfer-Encoding: base64{CRLF}{CRLF}{encoded}")


def build_message(message: Outgoing, sender: str, domain: str) -> bytes:
    """The wire form of one email delivery: multipart/alternative (plain text and
    HTML, UTF-8, base64), RFC 2047 encoded headers, CRLF line ends.

    Written out directly rather than through ``email.message``: the structure is
    fixed, and the standard library's header folding costs several milliseconds per
    Chinese message — more than the SMTP exchange itself.
    """
    rendered = render(message.template, message.locale, message.params)
    key = message.idempotency_key
    boundary = f"=_perfeval_{key}"  # "=_" never occurs in base64 bodies
    headers = [
        f'Content-Type: multipart/alternative;{CRLF} boundary="{boundary}"', "MIME-Version: 1.0",
        f"Subject: {encoded_words(rendered.subject)}",
        f"From: {_from_header(sender)}",
        f"To: {address(message.recipient_name, message.address)}",
        f"Date: {format_datetime(message.now.replace(tzinfo=timezone.utc))}",
        f"Message-ID: <{key}@{domain}>", "Auto-Submitted: auto-generated",
        f"X-Perfeval-Event: {message.template}"]
    return (CRLF.join(headers) + CRLF + CRLF + _part("text/plain", rendered.text, boundary)
            + _part("text/html", rendered.html, boundary) + f"--{boundary}--{CRLF}"
            ).encode("ascii")


def _refused(exc: Exception) -> DeliveryError:
    """Classify an SMTP answer: 5xx refusals of the recipient or the message are
    permanent; everything else (4xx, sender or login trouble) is retried."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return DeliveryError(f"recipient refused: {exc.recipients}", permanent=permanent)
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError)):
        return DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
    code = getattr(exc, "smtp_code", 0)
    return DeliveryError(f"SMTP {code}: {getattr(exc, 'smtp_error', exc)!r}",
                         permanent=500 <= code < 600)


class EmailChannel(Channel):
    """Sends email deliveries over one SMTP connection per batch.

    A connection-level failure (refused, timed out, dropped twice) opens a circuit
    for the rest of the batch: the remaining messages fail fast with the same error
    and are retried later, instead of each waiting for its own timeout.
    """

    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None
        self._down: str | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=s.tls_context())
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if s.security == "starttls":
                conn.starttls(context=s.tls_context())
            conn.ehlo_or_helo_if_needed()
            if s.username:
                conn.login(s.username, s.password or "")
        except BaseException:
            conn.close()
            raise
        return conn

    def open(self) -> None:
        """Start a batch: forget an earlier batch's outage."""
        self._down = None

    def _send_once(self, mail: bytes, to: str) -> None:
        if self._conn is None:
            self._conn = self._connect()
        self._conn.sendmail(envelope_sender(self.settings.sender), [to], mail)

    def send(self, message: Outgoing) -> None:
        """Send one email; see :func:`_refused` for what counts as permanent."""
        if self._down:
            raise DeliveryError(f"SMTP server unavailable, not tried: {self._down}")
        mail = build_message(message, self.settings.sender, self.settings.domain)
        for retry_on_stale_connection in (self._conn is not None, False):
            try:
                self._send_once(mail, message.address)
                return
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                self._reset_quietly()
                raise _refused(exc) from exc
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                if retry_on_stale_connection:
                    continue  # an idle connection the server closed: reconnect once
                self._down = f"{exc.__class__.__name__}: {exc}"
                raise DeliveryError(f"SMTP connection failed: {self._down}") from exc

    def _reset_quietly(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:  # pragma: no cover - closing a broken socket
                pass

    def close(self) -> None:
        """QUIT the connection, if one is open."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()
