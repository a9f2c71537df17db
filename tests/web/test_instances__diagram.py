"""The instance page's state diagram: an inline SVG that a real browser draws under the
strict CSP, with the current state highlighted; and attaching a file from the browser."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from browser_support import (ARTIFACTS, browser_type_launch_args,  # noqa: F401
                             live_app, needs_chromium)
from engine import actor_for, start
from web_support import PASSWORD, app, client_for, plan, web_db  # noqa: F401

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


@pytest.fixture
def live(sqlite_template, tmp_path):
    """The app on its own SQLite file and attachment folder, served in a thread."""
    with live_app(sqlite_template, tmp_path, ATTACHMENT_DIR=str(tmp_path / "files")) as served:
        yield served


@needs_chromium
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
