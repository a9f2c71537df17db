"""What the real-browser tests share: Debian's Chromium for pytest-playwright (never a
downloaded browser), the skip marker when it is missing, the screenshot folder, and the
app served by Werkzeug on a free port in a thread."""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from engine import Database, add_user
from web.app import create_app
from web_support import PASSWORD

CHROMIUM = os.environ.get("PERFEVAL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

#: Skip a browser test (or module, as ``pytestmark``) when there is no Chromium.
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium; never a downloaded browser."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}


def sign_in(browser, base: str, username: str, password: str = PASSWORD, **options):
    """A new browser context (Chinese unless ``options`` say otherwise) signed in as
    ``username`` through the login form; returns the context and its page, on My tasks."""
    context = browser.new_context(**{"locale": "zh-CN", **options})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url(f"{base}/")
    return context, page


@contextmanager
def serve(app) -> Iterator[str]:
    """``app`` served on a free port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@contextmanager
def live_app(sqlite_template: Path, folder: Path, **config) -> Iterator[tuple[str, Database]]:
    """The app on its own copy of the SQLite template (plus an ``admin`` user), served
    (:func:`serve`); yields the base URL and the database. ``config`` is added to the
    test configuration."""
    path = folder / "live.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    add_user(db, "admin", PASSWORD, ["admin"])
    app = create_app({"DB": db, "SECRET_KEY": "browser-test", "SESSION_COOKIE_SECURE": False,
                      "TESTING": True, **config})
    try:
        with serve(app) as base:
            yield base, db
    finally:
        db.dispose()
