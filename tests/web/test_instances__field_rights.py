"""The instance form under field rights (issue 11): only the fields the signed-in user
may set are inputs, every other field is text; a choice offers a real empty choice (the
逾期 select used to offer only "yes", so clicking 保存 marked the unit late); emptying a
field clears it and ``requires`` then blocks the submit; a refused save shows the
engine's message on the page with what the user typed kept."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from engine import actor_for, fire, get_instance, read_history, start, update_data
from engine.setup import load_definitions
from web_support import app, client_for, plan, web_db  # noqa: F401
import cycle_support  # noqa: F401,E402 — puts tests/engine (appeal_support) on the path
from appeal_support import seed_appeal  # noqa: E402

CHOICE_FORM = """\
schema_version: 1
key: choice_form
title: {zh: 选择表单, en: Choice form}
subject: unit
roles: [unit_staff, unit_head, office]
fields:
  level: {type: choice, label: {zh: 等级, en: Level}, choices: [优秀, 良好]}
  notes: {type: text, label: {zh: 说明, en: Notes}}
initial: draft
states:
  draft: {label: {zh: 草拟, en: Draft}, editable_by: [unit_staff, unit_head]}
  done: {label: {zh: 完成, en: Done}, final: true}
transitions:
  - {trigger: submit, from: draft, to: done, roles: [unit_head], requires: [level, notes],
     label: {zh: 报送, en: Submit}}
"""


class FormReader(HTMLParser):
    """What a browser posts for ``#action-form``'s ``field_*`` controls: a textarea's
    text, an input's value, a select's selected option (else its first)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._textarea = self._select = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name") or ""
        if tag == "input" and name.startswith("field_"):
            self.values[name] = a.get("value") or ""
        elif tag == "textarea" and name.startswith("field_"):
            self._textarea, self.values[name] = name, ""
        elif tag == "select" and name.startswith("field_"):
            self._select, self._options = name, []
        elif tag == "option" and self._select:
            self._options.append((a.get("value"), "selected" in a))

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data
        elif self._select and self._options and self._options[-1][0] is None:
            self._options[-1] = (data, self._options[-1][1])

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            chosen = [v for v, on in self._options if on] or [v for v, _ in self._options[:1]]
            self.values[self._select] = chosen[0] if chosen else ""
            self._select = None


def browser_form(html: str) -> dict[str, str]:
    reader = FormReader()
    reader.feed(html)
    return reader.values


@pytest.fixture
def report(web_db):
    """Unit 101's half-year report for 2026, open."""
    office = actor_for(web_db, "office")
    iid = start(web_db, "half_year_self_assessment", office, unit_code="101",
                data={"year": 2026}).instance_id
    fire(web_db, iid, "open_window", office)
    return iid


@pytest.fixture
def choice_form(web_db, tmp_path):
    """An instance of a definition with a choice field the unit may set."""
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "choice_form.yaml").write_text(CHOICE_FORM, encoding="utf-8")
    load_definitions(web_db, tmp_path / "defs")
    return start(web_db, "choice_form", actor_for(web_db, "head101"),
                 unit_code="101").instance_id


def test_protected_fields_are_text_not_inputs(client_for, report):
    page = client_for("head101").get(f"/instances/{report}").get_data(as_text=True)
    assert set(browser_form(page)) == {"field_report", "field_evidence"}
    assert 'id="field_late"' not in page and 'id="field_year"' not in page
    assert '<dd id="data-year">2026</dd>' in page and '<dd id="data-late">—</dd>' in page


def test_clicking_save_on_the_report_does_not_mark_the_unit_late(client_for, web_db, report):
    client = client_for("head101")
    form = browser_form(client.get(f"/instances/{report}").get_data(as_text=True))
    form["field_report"] = "半年自评报告"
    response = client.post(f"/instances/{report}/save", {**form, "version": 2})
    assert response.status_code == 302
    assert get_instance(web_db, report).data == {"year": 2026, "report": "半年自评报告"}


def test_the_office_sees_no_inputs_on_a_units_report(client_for, report):
    page = client_for("office").get(f"/instances/{report}").get_data(as_text=True)
    assert browser_form(page) == {} and 'id="save"' not in page


def test_a_choice_offers_a_real_empty_choice(client_for, web_db, choice_form):
    client = client_for("head101")
    page = client.get(f"/instances/{choice_form}").get_data(as_text=True)
    assert '<option value="" selected>请选择</option>' in page
    assert '<option value="优秀" >优秀</option>' in page
    form = browser_form(page)
    assert form == {"field_level": "", "field_notes": ""}
    saved = client.post(f"/instances/{choice_form}/save", {**form, "field_notes": "说明",
                                                           "version": 1})
    assert saved.status_code == 302
    assert get_instance(web_db, choice_form).data == {"notes": "说明"}  # no level chosen


def test_clearing_a_choice_clears_it_and_requires_blocks_the_submit(client_for, web_db,
                                                                   choice_form):
    head = actor_for(web_db, "head101")
    update_data(web_db, choice_form, head, {"level": "良好", "notes": "说明"})
    client = client_for("head101")
    page = client.get(f"/instances/{choice_form}").get_data(as_text=True)
    assert browser_form(page)["field_level"] == "良好"
    cleared = client.post(f"/instances/{choice_form}/save",
                          {"field_level": "", "field_notes": "说明", "version": 2})
    assert cleared.status_code == 302
    assert get_instance(web_db, choice_form).data.get("level") is None
    assert read_history(web_db, choice_form)[-1]["data_patch"]["level"] is None
    blocked = client.post(f"/instances/{choice_form}/fire",
                          {"trigger": "submit", "field_level": "", "field_notes": "说明",
                           "version": 3})
    assert blocked.status_code == 422
    assert "等级" in blocked.get_data(as_text=True)
    assert get_instance(web_db, choice_form).state == "draft"


def test_clearing_a_text_clears_it_and_the_plan_cannot_be_submitted(client_for, web_db, plan):
    client = client_for("head101")
    response = client.post(f"/instances/{plan}/save",
                           {"field_goals": "", "field_measures": "项目清单化", "version": 2})
    assert response.status_code == 302
    assert get_instance(web_db, plan).data.get("goals") is None
    blocked = client.post(f"/instances/{plan}/fire",
                          {"trigger": "submit", "field_goals": "  ",
                           "field_measures": "项目清单化", "version": 3})
    body = blocked.get_data(as_text=True)
    assert blocked.status_code == 422 and 'id="form-error"' in body and "年度绩效目标" in body
    view = get_instance(web_db, plan)
    assert (view.state, view.version) == ("draft", 3)


def test_clearing_in_the_submit_itself_is_refused_by_requires(client_for, web_db, plan):
    response = client_for("head101").post(
        f"/instances/{plan}/fire", {"trigger": "submit", "field_goals": "",
                                    "field_measures": "项目清单化", "version": 2})
    assert response.status_code == 422
    view = get_instance(web_db, plan)
    assert (view.state, view.version, view.data["goals"]) == ("draft", 2, "投资增长8%")


def test_a_refused_save_shows_the_message_and_keeps_the_input(client_for, web_db, report):
    client = client_for("head101")
    response = client.post(f"/instances/{report}/save",
                           {"field_report": "我的草稿", "field_late": "", "field_year": "2025",
                            "version": 2})
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert 'id="form-error"' in body and "评估年度" in body and "绩效办" in body
    assert '<textarea name="field_report" id="field_report" rows="3">我的草稿</textarea>' in body
    view = get_instance(web_db, report)
    assert (view.version, view.data) == (2, {"year": 2026})


def test_a_refused_action_keeps_the_comment(client_for, web_db, report):
    response = client_for("head101").post(
        f"/instances/{report}/fire", {"trigger": "submit", "field_report": "",
                                      "comment": "请审核", "version": 2})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="form-error"' in body
    assert ">请审核</textarea>" in body
    assert get_instance(web_db, report).state == "open"


def test_a_stale_save_is_a_409_on_the_page_with_the_current_data(client_for, web_db, report):
    update_data(web_db, report, actor_for(web_db, "staff101"), {"report": "同事的稿子"})
    response = client_for("head101").post(f"/instances/{report}/save",
                                          {"field_report": "我的旧稿", "version": 2})
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and 'id="form-error"' in body
    assert ">同事的稿子</textarea>" in body and "我的旧稿" not in body
    assert '<input type="hidden" name="version" value="3">' in body
    assert get_instance(web_db, report).data["report"] == "同事的稿子"


def test_an_appeal_shows_its_item_and_filing_time_as_text(client_for, web_db):
    appeal = seed_appeal(web_db, "101", "K1 有误", item="K1", filed_in_time="no")
    unit_page = client_for("head101").get(f"/instances/{appeal}").get_data(as_text=True)
    assert set(browser_form(unit_page)) == {"field_grounds", "field_evidence"}
    assert '<dd id="data-filed_in_time">否</dd>' in unit_page  # the value as people read it
    assert '<dd id="data-item">K1</dd>' in unit_page
    forged = client_for("head101").post(f"/instances/{appeal}/save",
                                        {"field_grounds": "K1 有误", "field_filed_in_time": "yes",
                                         "version": 1})
    assert forged.status_code == 403 and "是否在申诉期内" in forged.get_data(as_text=True)
    assert get_instance(web_db, appeal).data["filed_in_time"] == "no"
    assert browser_form(client_for("office").get(f"/instances/{appeal}")
                        .get_data(as_text=True)) == {}
