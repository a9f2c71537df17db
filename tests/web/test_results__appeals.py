"""Appeals through the pages: a unit appeals its published result within the window
(deadline shown in working days), late filings are marked, the office lists the year's
appeals and decides one by an adjustment that recomputes, re-ranks and re-publishes
(old and new composite, grade and rank shown); other roles and units are refused."""

from __future__ import annotations

import re

import pytest
from freezegun import freeze_time

from engine import actor_for, fire, get_instance
from engine.results import read_results
from test_results__compute import YEAR, approved, computed, cycle, scored  # noqa: F401
from web_support import app, client_for, count_queries, web_db  # noqa: F401

PUBLISHED = "2027-03-01T02:00:00"  # Monday 10:00 in Shanghai; window ends Monday 03-08
IN_WINDOW = "2027-03-03T02:00:00"
LATE = "2027-03-10T02:00:00"


@pytest.fixture
def published(scored, client_for, web_db):
    """The 2026 results computed, and approved and published by the committee on
    1 March 2027 through the pages."""
    with freeze_time(PUBLISHED):
        office = client_for("office")
        assert computed(office).status_code == 302
        assert approved(client_for, web_db).status_code == 302
    return YEAR


def file(client, item: str = "K2", grounds: str = "财政资金绩效得分计算有误"):
    return client.post("/results/appeal", {"year": str(YEAR), "item": item, "grounds": grounds})


def appeal_id(response) -> int:
    return int(re.search(r"/instances/(\d+)$", response.headers["Location"]).group(1))


@pytest.fixture
def filed(published, client_for, web_db):
    """Unit 101's appeal against K2, filed in time on 3 March."""
    with freeze_time(IN_WINDOW):
        response = file(client_for("head101"))
    assert response.status_code == 302
    return appeal_id(response)


@pytest.fixture
def under_review(filed, web_db):
    office = actor_for(web_db, "office")
    with freeze_time(IN_WINDOW):
        fire(web_db, filed, "admit", office)
        fire(web_db, filed, "start_review", office)
    return filed


def test_the_unit_sees_the_deadline_and_files_in_time(published, client_for, web_db):
    with freeze_time(IN_WINDOW):
        head = client_for("head101")
        page = head.get(f"/results/?year={YEAR}").get_data(as_text=True)
        assert "申诉截止日期: <strong>2027-03-08</strong>(结果公布后 5 个工作日内)" in page
        form = page[page.index('id="appeal-form"'):]
        assert all(f'<option value="{i}"' in form for i in ("overall", "K1", "K2", "public"))
        assert '<option value="T1"' not in form  # another category's indicator
        k1 = form[form.index('<option value="K1"'):]
        assert k1[k1.index(">") + 1:k1.index("</option>")].startswith("K1 ")  # with its name
        response = file(head)
        assert response.status_code == 302
        view = get_instance(web_db, appeal_id(response))
        assert "申诉已提交。" in head.get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert view.definition_key == "appeal" and view.state == "filed"
    assert view.unit_code == "101" and view.data["filed_in_time"] == "yes"
    assert view.data["item"] == "K2" and view.data["grounds"] == "财政资金绩效得分计算有误"


def test_a_late_filing_is_marked_late(published, client_for, web_db):
    with freeze_time(LATE):
        head = client_for("head102")
        assert "已超过申诉期限。" in head.get(f"/results/?year={YEAR}").get_data(as_text=True)
        response = file(head, "public", "公众评议样本不足")
        assert response.status_code == 302  # the engine records lateness, not refuses
        body = head.get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert get_instance(web_db, appeal_id(response)).data["filed_in_time"] == "no"
    assert "申诉已提交,但已超过申诉期限,绩效办将不予受理。" in body


def test_a_second_appeal_on_the_same_item_gets_the_engines_refusal(filed, client_for, web_db):
    with freeze_time(IN_WINDOW):
        head = client_for("staff101")
        again = file(head, "K2", "再次申诉")
        other = file(head, "overall", "对综合结果有异议")
    # back on the results page with the engine's reason, what was typed kept
    assert again.status_code == 303 and "/results/" in again.headers["Location"]
    with freeze_time(IN_WINDOW):
        page = head.get(again.headers["Location"]).get_data(as_text=True)
    assert "同一指标每个年度只能申诉一次" in page
    assert ">再次申诉</textarea>" in page and '<option value="K2" selected>' in page
    assert other.status_code == 302
    assert get_instance(web_db, appeal_id(other)).data["item"] == "overall"


def test_no_appeal_before_publication(scored, client_for):
    computed(client_for("office"))
    head = client_for("head101")
    assert 'id="appeal-form"' not in head.get(f"/results/?year={YEAR}").get_data(as_text=True)
    response = file(head)  # refused by the stage: back on the results page, with why
    assert response.status_code == 303 and "/results/" in response.headers["Location"]
    page = head.get(response.headers["Location"]).get_data(as_text=True)
    assert "提出申诉只能在「结果公示、申诉复核」阶段进行,当前阶段为「综合计分」" in page
    assert 'id="appeal-form"' not in page


def test_an_appeal_needs_an_item_and_grounds(published, client_for):
    response = file(client_for("head101"), grounds=" ")
    assert response.status_code == 422 and "请选择申诉的指标或项目" in response.get_data(as_text=True)


@pytest.mark.parametrize("user", ["office", "committee", "leader", "expert", "auditor"])
def test_only_unit_users_file_appeals(published, client_for, user):
    assert file(client_for(user)).status_code == 403


def test_the_office_lists_the_years_appeals(filed, client_for):
    with freeze_time(IN_WINDOW):
        body = client_for("office").get(f"/results/appeals?year={YEAR}").get_data(as_text=True)
    line = body[body.index(f'id="appeal-{filed}"'):]
    line = line[:line.index("</tr>")]
    assert f'href="/instances/{filed}"' in line and "已提出" in line
    assert "101 县发展和改革局" in line and "K2" in line and "2027-03-03" in line
    assert "<td>是</td>" in line and "<td>2027-03-08</td>" in line  # 3 working days to admit


@pytest.mark.parametrize("user", ["committee", "auditor", "admin"])
def test_the_committee_and_auditors_read_the_appeals(filed, client_for, user):
    body = client_for(user).get(f"/results/appeals?year={YEAR}").get_data(as_text=True)
    assert f'id="appeal-{filed}"' in body and 'id="adjust-' not in body


@pytest.mark.parametrize("user", ["head101", "staff101", "leader", "expert"])
def test_units_leaders_and_experts_get_no_appeal_list(filed, client_for, user):
    assert client_for(user).get(f"/results/appeals?year={YEAR}").status_code == 403


def test_another_units_appeal_is_404_and_its_own_is_listed(filed, client_for):
    assert client_for("head102").get(f"/instances/{filed}").status_code == 404
    body = client_for("staff101").get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert f'href="/instances/{filed}"' in body[body.index('id="my-appeals"'):]
    other = client_for("head102").get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert f'href="/instances/{filed}"' not in other


def test_an_adjustment_re_ranks_re_publishes_and_shows_old_and_new(under_review, client_for,
                                                                    web_db):
    office = client_for("office")
    page = office.get(f"/results/appeals?year={YEAR}").get_data(as_text=True)
    assert f'id="adjust-{under_review}"' in page and '<option value="K2" selected>' in page
    response = office.post(f"/results/appeals/{under_review}/adjust", {
        "year": str(YEAR), "item": "K2", "value": "100", "decision": "K2 复核后应为 100 分"})
    assert response.status_code == 302
    body = office.get(f"/results/appeals?year={YEAR}").get_data(as_text=True)
    assert "已调整并重新公布,2 个单位的结果发生变化" in body
    changes = body[body.index(f'id="changes-{under_review}"'):]
    # 101: K2 100 → indicator (60 × 90 + 40 × 100) / 100 = 94.00,
    #      composite 0.8 × 94 + 9 + 8 = 92.20; 优秀 by score, but the quota of two
    #      县直单位 is floor(2 × 20%) = 0, so 良好; alone at rank 1, 102 drops to 2
    for code, old, new in (("101", ("85.80", "良好", "1"), ("92.20", "良好", "1")),
                           ("102", ("85.80", "良好", "1"), ("85.80", "良好", "2"))):
        line = changes[changes.index(f'data-code="{code}"'):]
        line = line[:line.index("</tr>")]
        cells = re.findall(r'class="(?:old|new)-\w+">([^<]*)<', line)
        assert cells == list(old + new), (code, cells)
    assert get_instance(web_db, under_review).state == "adjusted"
    results = {r["code"]: r for r in read_results(web_db, YEAR)}
    assert results["101"]["composite"] == "92.20" and results["101"]["published_at"]
    own = client_for("head101").get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert "<strong>92.20</strong>" in own


def test_an_adjustment_in_the_wrong_state_changes_nothing(filed, client_for, web_db):
    response = client_for("office").post(f"/results/appeals/{filed}/adjust", {
        "year": str(YEAR), "item": "K2", "value": "100", "decision": "更正"})
    assert response.status_code in (409, 422)
    assert get_instance(web_db, filed).state == "filed"
    assert {r["code"]: r["composite"] for r in read_results(web_db, YEAR)}["101"] == "85.80"


def test_an_adjustment_needs_a_number_and_a_decision(under_review, client_for):
    office = client_for("office")
    bad = office.post(f"/results/appeals/{under_review}/adjust",
                      {"year": str(YEAR), "item": "K2", "value": "很多", "decision": "更正"})
    assert bad.status_code == 422 and "须为数字" in bad.get_data(as_text=True)
    missing = office.post(f"/results/appeals/{under_review}/adjust",
                          {"year": str(YEAR), "item": "K2", "value": "100"})
    assert missing.status_code == 422 and "复核结论" in missing.get_data(as_text=True)


@pytest.mark.parametrize("user", ["committee", "auditor", "head101"])
def test_only_the_office_adjusts(under_review, client_for, web_db, user):
    response = client_for(user).post(f"/results/appeals/{under_review}/adjust", {
        "year": str(YEAR), "item": "K2", "value": "100", "decision": "更正"})
    assert response.status_code == 403
    assert get_instance(web_db, under_review).state == "under_review"


def test_the_appeals_page_reads_items_once_for_every_appeal_under_review(under_review,
                                                                          client_for, web_db):
    office, path = client_for("office"), f"/results/appeals?year={YEAR}"
    office.get(path)  # warm the per-process caches
    one = count_queries(web_db, office, path, warm=False)
    admin = actor_for(web_db, "office")
    with freeze_time(IN_WINDOW):
        more = [appeal_id(file(client_for(head), item="public")) for head in ("head102",
                                                                               "head101")]
        for appeal in more:
            fire(web_db, appeal, "admit", admin)
            fire(web_db, appeal, "start_review", admin)
    three = count_queries(web_db, office, path, warm=False)
    page = office.get(path).get_data(as_text=True)
    assert all(f'id="adjust-{a}"' in page for a in [under_review, *more])
    assert three == one
