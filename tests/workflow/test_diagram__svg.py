"""The server-side SVG state diagram: well-formed, complete, highlighted and escaped."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest
import yaml

from workflow import bundled_definitions_dir, load_bundled, load_definition_text
from workflow.diagram_svg import svg
from workflow.source import parse_source

NS = {"s": "http://www.w3.org/2000/svg"}
BUNDLED = load_bundled()


def _boxes(root):
    """state name → (class, x, y, width, height, label text) of each state group."""
    found = {}
    for g in root.iterfind(".//s:g[@data-state]", NS):
        rect = g.find("s:rect", NS)
        text = g.find("s:text", NS)
        found[g.get("data-state")] = (g.get("class"), float(rect.get("x")),
                                      float(rect.get("y")), float(rect.get("width")),
                                      float(rect.get("height")), text.text)
    return found


@pytest.mark.parametrize("key", sorted(BUNDLED))
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_bundled_diagrams_are_well_formed_and_complete(key, locale):
    definition = BUNDLED[key]
    current = list(definition.states)[-1]
    text = svg(definition, current, locale)
    root = ET.fromstring(text)
    boxes = _boxes(root)
    assert set(boxes) == set(definition.states)
    for name, state in definition.states.items():
        css, *_, label = boxes[name]
        assert label == state.label.get(locale)
        assert ("final" in css.split()) == state.final
        assert ("current" in css.split()) == (name == current)
    ends = [_end(p.get("d")) for p in root.iterfind(".//s:path[@marker-end]", NS)]
    targets = {t.dest for t in definition.transitions} | {definition.initial}
    for name in targets:
        assert any(_touches(boxes[name], x, y) for x, y in ends), name
    assert all(any(_touches(b, x, y) for b in boxes.values()) for x, y in ends)
    labels = " ".join("".join(t.itertext()) for t in root.iterfind(".//s:text", NS))
    for t in definition.transitions:
        assert (t.label.get(locale) if t.label else t.trigger) in labels
    assert "style=" not in text and "<script" not in text


def _end(d: str) -> tuple[float, float]:
    x, y = d.split()[-1].lstrip("ML").split(",")
    return float(x), float(y)


def _touches(box, x: float, y: float) -> bool:
    """The point lies on (within 3 px of) the box's border."""
    _, bx, by, w, h, _ = box
    inside = bx - 3 <= x <= bx + w + 3 and by - 3 <= y <= by + h + 3
    deep = bx + 3 < x < bx + w - 3 and by + 3 < y < by + h - 3
    return inside and not deep


def test_boxes_do_not_overlap_and_layers_run_from_initial_to_final():
    definition = BUNDLED["rectification"]
    boxes = _boxes(ET.fromstring(svg(definition, "issued")))
    rects = list(boxes.values())
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            apart = (a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1] or
                     a[2] + a[4] <= b[2] or b[2] + b[4] <= a[2])
            assert apart, (a, b)
    top = min(r[2] for r in rects)
    bottom = max(r[2] for r in rects)
    assert boxes["issued"][2] == top
    assert all(boxes[n][2] == bottom for n, s in definition.states.items() if s.final)


def test_current_state_is_filled_and_bold_and_finals_double_bordered():
    root = ET.fromstring(svg(BUNDLED["performance_plan"], "under_review", "zh"))
    current = root.find(".//s:g[@data-state='under_review']", NS)
    assert current.get("class") == "wf-state current"
    assert current.find("s:rect", NS).get("fill") == "#fde68a"
    assert current.find("s:text", NS).get("font-weight") == "bold"
    published = root.find(".//s:g[@data-state='published']", NS)
    assert len(published.findall("s:rect", NS)) == 2
    draft = root.find(".//s:g[@data-state='draft']", NS)
    assert draft.get("class") == "wf-state" and len(draft.findall("s:rect", NS)) == 1


def _variant():
    doc = copy.deepcopy(dict(parse_source((bundled_definitions_dir() / "performance_plan.yaml")
                                          .read_text(encoding="utf-8"))[0].data))
    doc["title"]["zh"] = "计划 <script>alert(1)</script>"
    doc["states"]["draft"]["label"]["zh"] = '草拟 <b>&"初稿"</b>'
    doc["transitions"][0]["label"] = {"zh": "报送 <&>", "en": "Submit"}
    return load_definition_text(yaml.safe_dump(doc, allow_unicode=True))


def test_text_from_yaml_is_escaped():
    text = svg(_variant(), "draft", "zh")
    root = ET.fromstring(text)
    assert root.find(".//s:g[@data-state='draft']/s:text", NS).text == '草拟 <b>&"初稿"</b>'
    assert root.find("s:title", NS).text == "计划 <script>alert(1)</script>"
    labels = ["".join(t.itertext()) for t in root.iterfind(".//s:text[@class='wf-label']", NS)]
    assert "报送 <&>" in labels
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text and "&amp;&quot;初稿&quot;" in text


def test_several_diagrams_on_one_page_get_distinct_ids():
    a = ET.fromstring(svg(BUNDLED["appeal"], None, id_prefix="d1"))
    b = ET.fromstring(svg(BUNDLED["appeal"], None, id_prefix="d2"))
    ids = {e.get("id") for e in a.iter() if e.get("id")}
    assert ids and not ids & {e.get("id") for e in b.iter() if e.get("id")}


@pytest.mark.parametrize("locale, submit, revise", [("zh", "报送", "退回修改"),
                                                    ("en", "Submit", "Return for revision")])
def test_edges_read_the_transition_labels_with_the_trigger_as_tooltip(locale, submit, revise):
    plan = BUNDLED["performance_plan"]
    root = ET.fromstring(svg(plan, "draft", locale))
    groups = {g.find("s:title", NS).text: "".join(g.find("s:text", NS).itertext())
              for g in root.iterfind(".//s:g[@class='wf-edge-label']", NS)}

    assert groups["submit"] == submit
    assert groups["request_revision"] == revise
    assert set(groups) == {t.trigger for t in plan.transitions}
    assert not any(t.trigger in text for t in plan.transitions for text in groups.values())
