"""The instance page's state diagram: an inline SVG that a real browser draws under the
strict CSP, with the current state highlighted; and attaching a file from the browser."""

from __future__ import annotations

import os
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine import Database, actor_for, add_user, start
from web.app import create_app
from web_support import PASSWORD, app, client_for, plan, web_db  # noqa: F401

CHROMIUM = os.environ.get("PERFEVAL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
NS = {"s": "http://www.w3.org/2000/svg"}


def _svg(body: str) -> ET.Element:
    return ET.fromstring(re.search(r"<svg .*?</svg>", body, re.S).group(0))


def test_instance_page_draws_the_diagram_with_the_current_state(client_for, plan):
    response = client_for("head101").get(f"/instances/{plan}")
    body = response.get_data(as_text=True)
    root = _svg(body)
    current = root.findall(".//s:g[@class='wf-state current']", NS)
    assert [g.get("data-state") for g in current] == ["draft"]
    assert {g.get("data-state") for g in root.iterfind(".//s:g[@data-state]", NS)} == {
        "draft", "submitted", "under_review", "revise", "approved", "published"}
    assert "stateDiagram-v2" in body and "<details>" in body  # Mermaid source to copy
    assert "style=" not in body[body.index("<svg"):body.index("</svg>")]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def test_english_page_labels_the_diagram_in_english(client_for, plan):
    client = client_for("head101")
    client.post("/lang", {"lang": "en"})
    root = _svg(client.get(f"/instances/{plan}").get_data(as_text=True))
    labels = {g.get("data-state"): g.find("s:text", NS).text
              for g in root.iterfind(".//s:g[@data-state]", NS)}
    assert labels["draft"] == "Draft"


browser_only = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                  reason=f"no Chromium at {CHROMIUM}")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium; never a downloaded browser."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}


@pytest.fixture
def live(sqlite_template, tmp_path):
    """The app on its own SQLite file and attachment folder, served in a thread."""
    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    add_user(db, "admin", PASSWORD, ["admin"])
    application = create_app({"DB": db, "SECRET_KEY": "browser-test", "TESTING": True,
                              "SESSION_COOKIE_SECURE": False,
                              "ATTACHMENT_DIR": str(tmp_path / "files")})
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", db
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        db.dispose()


@browser_only
def test_browser_draws_the_svg_and_uploads_a_file(browser, live, tmp_path):
    base, db = live
    instance_id = start(db, "evaluation_cycle", actor_for(db, "office")).instance_id
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text
            else None)
    page.goto(f"{base}/login")
    page.fill("#username", "office")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/instances/{instance_id}")
    diagram = page.locator("#diagram-svg svg")
    box = diagram.bounding_box()
    assert box["width"] > 100 and box["height"] > 500
    current = page.locator("#diagram-svg g.current")
    assert current.count() == 1 and current.get_attribute("data-state") == "setup"
    assert current.locator("rect").first.evaluate("r => getComputedStyle(r).fill") == \
        "rgb(253, 230, 138)"
    report = tmp_path / "实施方案.pdf"
    report.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.set_input_files("#file", str(report))
    page.click("#upload")
    page.wait_for_selector("#attachment-list")
    assert "实施方案.pdf" in page.inner_text("#attachment-list")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "instance_diagram_and_attachments.png"),
                    full_page=True)
    with page.expect_download() as download:
        page.click("#attachment-list a")
    assert Path(download.value.path()).read_bytes() == report.read_bytes()
    assert download.value.suggested_filename == "实施方案.pdf"
    assert refused == []
    context.close()


def test_admin_definitions_page_draws_every_version(client_for):
    body = client_for("admin").get("/admin/definitions").get_data(as_text=True)
    drawn = re.findall(r"<svg .*?</svg>", body, re.S)
    assert len(drawn) == body.count('<section class="card" id="def-') >= 10
    ids = [e.get("id") for d in drawn for e in ET.fromstring(d).iter() if e.get("id")]
    assert len(ids) == len(set(ids))
