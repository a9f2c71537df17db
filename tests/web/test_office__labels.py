"""The office dashboard and the admin home speak the page's language: state counts by
their definition labels (coloured like the matrix), the calendar warning in one
language, role labels; and the progress chart is full width with lines that stay
distinguishable when they coincide."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from freezegun import freeze_time

from engine import actor_for
from engine.cycles import open_cycle
from web_support import app, client_for, plan, plan_102, web_db  # noqa: F401

SVG = "{http://www.w3.org/2000/svg}"


def _page(client, path: str, lang: str) -> str:
    client.post("/lang", {"lang": lang})
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _counts(body: str) -> dict[str, tuple[str, str]]:
    """state → (class attribute, text) of the performance plan's state counts."""
    found = re.findall(r'<span class="(state-count[^"]*)" data-key="performance_plan" '
                       r'data-state="([a-z_]+)"[^>]*>([^<]*)</span>', body)
    return {state: (cls, text) for cls, state, text in found}


@pytest.mark.parametrize(("lang", "draft"), [("zh_CN", "草拟 2"), ("en", "Draft 2")])
def test_state_counts_show_labels_in_the_page_language(client_for, plan, plan_102, lang,
                                                       draft):
    counts = _counts(_page(client_for("office"), "/office/", lang))
    assert counts == {"draft": ("state-count state state-draft", draft)}
    assert "draft=2" not in _page(client_for("office"), "/office/", lang)


def test_final_states_are_coloured_as_final(client_for, web_db, plan, plan_102):
    from engine import fire

    fire(web_db, plan, "submit", actor_for(web_db, "head101"))
    for trigger in ("start_review", "approve", "publish"):
        fire(web_db, plan, trigger, actor_for(web_db, "office"))
    counts = _counts(_page(client_for("office"), "/office/", "en"))
    assert counts == {"draft": ("state-count state state-draft", "Draft 1"),
                      "published": ("state-count state state-published final",
                                    "Published 1")}
    assert list(counts) == ["draft", "published"]  # in the definition's state order


@pytest.mark.parametrize(("lang", "shown", "hidden"), [
    ("zh_CN", "2027 年节假日安排尚未导入", "holiday calendar"),
    ("en", "The 2027 holiday calendar has not been imported", "节假日安排")])
def test_the_calendar_warning_is_in_one_language(client_for, lang, shown, hidden):
    with freeze_time("2026-11-10 02:00:00"):
        body = _page(client_for("office"), "/office/", lang)
    warnings = re.findall(r'<p class="flash warning calendar-warning">([^<]*)</p>', body)
    assert warnings == [shown]
    assert hidden not in body


def test_no_calendar_warning_while_next_year_is_not_due(client_for):
    with freeze_time("2026-06-10 02:00:00"):
        body = _page(client_for("office"), "/office/", "zh_CN")
    assert "calendar-warning" not in body


def test_the_progress_chart_is_full_width_and_its_lines_stay_apart(client_for, web_db):
    with freeze_time("2026-01-05 02:00:00"):
        open_cycle(web_db, 2026, actor_for(web_db, "office"))
    with freeze_time("2026-03-10 02:00:00"):
        body = _page(client_for("office"), "/office/", "zh_CN")
    svg = re.search(r'<svg id="progress-chart".*?</svg>', body, re.S).group(0)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("width") == "100%" and root.get("height") is None
    x, y, width, height = (float(v) for v in root.get("viewBox").split())
    assert (x, y) == (0, 0) and width > height > 0
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 4
    # every line still sits at 0 % (nothing done yet), yet each is drawn differently
    styles = {(line.get("stroke-dasharray"), line.get("stroke-width")) for line in lines}
    assert len(styles) == 4
    assert [float(line.get("stroke-width")) for line in lines] == sorted(
        (float(line.get("stroke-width")) for line in lines), reverse=True)
    dots = root.findall(f"{SVG}circle")
    assert [d.get("data-key") for d in dots] == [line.get("data-key") for line in lines]
    assert len({d.get("cy") for d in dots}) == 4  # markers offset so none hides another
    assert all(0 <= float(d.get("cy")) <= height for d in dots)
    legend = re.search(r'<ul class="legend" id="progress-legend">.*?</ul>', body, re.S).group(0)
    assert legend.count("<svg") == 4 and "style=" not in svg + legend


@pytest.mark.parametrize(("lang", "office", "staff"), [
    ("zh_CN", "绩效办", "单位经办人"), ("en", "Performance office", "Unit staff")])
def test_admin_home_shows_role_labels(client_for, lang, office, staff):
    body = _page(client_for("admin"), "/admin/", lang)
    table = re.search(r'<table class="grid" id="users">.*?</table>', body, re.S).group(0)
    cells = dict(re.findall(r'>(\w+)</a></td><td>[^<]*</td><td class="roles">([^<]*)</td>',
                            table))
    assert cells["office"] == office and cells["staff101"] == staff
    assert "unit_head" not in cells["head101"]
