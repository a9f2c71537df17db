"""``PERFEVAL_SMTP_URL``: plain, STARTTLS (with login) and SSL, against real servers."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from datetime import datetime
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from sqlalchemy import select

from notifications import DispatchConfig, EmailChannel, SmtpSettings, dispatch
from notifications.models import Delivery
from notify_support import MAIL_FROM, Mailbox, free_port
from notify_support import people, plan, staff  # noqa: F401 - fixtures

T0 = datetime(2026, 12, 1, 1, 0)


def test_urls_name_security_port_login_and_sender():
    plain = SmtpSettings.from_url("smtp://mail.example.gov.cn")
    tls = SmtpSettings.from_url("smtp+starttls://jxb%40x.cn:p%40ss@mail.x.cn?from="
                                + quote("绩效办 <jxb@x.cn>") + "&timeout=7")
    ssl_ = SmtpSettings.from_url("smtps://mail.x.cn:2465")
    assert (plain.security, plain.port, plain.username) == ("plain", 25, None)
    assert (tls.security, tls.port, tls.username, tls.password) == (
        "starttls", 587, "jxb@x.cn", "p@ss")
    assert (tls.sender, tls.domain, tls.timeout) == ("绩效办 <jxb@x.cn>", "x.cn", 7.0)
    assert (ssl_.security, ssl_.port) == ("ssl", 2465)


@pytest.mark.parametrize("url", ["http://mail.x.cn", "smtp://", "mail.x.cn:25"])
def test_a_malformed_url_is_refused_with_an_example(url):
    with pytest.raises(ValueError) as refused:
        SmtpSettings.from_url(url)
    assert "smtp://host:25" in str(refused.value)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (the test's own CA)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def _login(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login, auth_data.password) == (b"jxb", b"s3cret")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


def _serve(**options):
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return box, port, controller


def _send_one(db, url: str) -> None:
    report = dispatch(db, now=T0, config=DispatchConfig(worker="test"),
                      channels={"email": EmailChannel(SmtpSettings.from_url(url))})
    assert (report.sent, report.failed, report.dead) == (1, 0, 0)


def test_starttls_with_login(db, plan, certificate):
    cert, context = certificate
    box, port, controller = _serve(tls_context=context, require_starttls=True,
                                   authenticator=_login, auth_required=True)
    try:
        _send_one(db, f"smtp+starttls://jxb:s3cret@127.0.0.1:{port}?cafile={cert}"
                      f"&from={quote(MAIL_FROM)}")
    finally:
        controller.stop()
    assert box.messages[0][1]["To"].addresses[0].display_name == "陈刚"


def test_ssl_from_the_start(db, plan, certificate):
    cert, context = certificate
    box, port, controller = _serve(ssl_context=context)
    try:
        _send_one(db, f"smtps://127.0.0.1:{port}?cafile={cert}&from={quote(MAIL_FROM)}")
    finally:
        controller.stop()
    assert len(box.messages) == 1


def test_a_wrong_password_is_retried_not_dead(db, plan, certificate):
    cert, context = certificate
    box, port, controller = _serve(tls_context=context, require_starttls=True,
                                   authenticator=_login, auth_required=True)
    url = f"smtp+starttls://jxb:wrong@127.0.0.1:{port}?cafile={cert}"
    try:
        report = dispatch(db, now=T0, config=DispatchConfig(worker="test"),
                          channels={"email": EmailChannel(SmtpSettings.from_url(url))})
    finally:
        controller.stop()
    assert (report.sent, report.failed, report.dead, box.messages) == (0, 1, 0, [])
    with db.read() as conn:
        assert "535" in conn.execute(select(Delivery.last_error)).scalar_one()
