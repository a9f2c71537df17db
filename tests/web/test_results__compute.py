"""The results page end to end through the test client: scores entered by the office,
an expert (only the indicators their unit verifies) and a leader (leadership), public
appraisal imported from XLSX (all or nothing, every bad row reported), compute with a
reason, the table with hand-computed composites, grades, ranks (ties) and vetoes,
publish, export, and who sees what."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import Workbook, load_workbook

from engine import actor_for, add_user, fire, start
from engine.cycles import open_cycle
from engine.results import read_results
from cycle_support import walk_to
from web_support import PASSWORD, app, client_for, web_db  # noqa: F401

YEAR = 2026
COUNTY = [{"code": "K1", "name": "重点工作", "weight": 60, "method": "direct", "verifier": "督查室"},
          {"code": "K2", "name": "财政资金绩效", "weight": 40, "method": "direct",
           "verifier": "县财政局"}]
TOWN = [{"code": "T1", "name": "乡镇重点工作", "weight": 100, "method": "direct",
         "verifier": "督查室"}]


def _in_force(db, category: str, rows: list[dict]) -> None:
    office, committee = actor_for(db, "office"), actor_for(db, "committee")
    iid = start(db, "indicator_system", office,
                data={"year": 2026, "category": category, "indicators": rows}).instance_id
    for trigger, who in (("submit", office), ("start_review", committee),
                         ("approve", committee), ("put_in_force", office)):
        fire(db, iid, trigger, who)


@pytest.fixture
def cycle(web_db):
    """The 2026 cycle with both categories' indicator systems in force, in 综合计分
    (where scores are entered), and the committee, a leader and an expert of 县财政局
    (which verifies K2)."""
    add_user(web_db, "committee", PASSWORD, ["committee"])
    add_user(web_db, "leader", PASSWORD, ["leader"])
    add_user(web_db, "expert", PASSWORD, ["expert"], unit_code="102")
    open_cycle(web_db, YEAR, actor_for(web_db, "office"))
    _in_force(web_db, "县直单位", COUNTY)
    _in_force(web_db, "乡镇场", TOWN)
    walk_to(web_db, YEAR, "scoring")
    return YEAR


def enter(client, item: str, **values) -> object:
    """Post the score-entry form for ``item`` (``value_101="90"`` …)."""
    return client.post("/results/scores", {"year": str(YEAR), "item": item,
                                           **{f"value_{k[1:]}": v for k, v in values.items()}})


def xlsx(rows: list[tuple]) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def upload(client, rows: list[tuple], name: str = "public.xlsx"):
    return client.post("/results/import", {"year": str(YEAR), "file": (xlsx(rows), name)},
                       content_type="multipart/form-data")


@pytest.fixture
def scored(cycle, client_for):
    """Every score entered through the pages, each by the role that owns it.

    101: K1 90, K2 80 → indicator 86.00; public 90, leadership 80
         → composite 0.8 × 86 + 9 + 8 = 85.80 (良好)
    102: K1 80, K2 95 → indicator 86.00; public 80, leadership 90
         → composite 68.80 + 8 + 9 = 85.80 (良好), tied with 101 at rank 1
    201: T1 55 → 55.00; public 60, leadership 50 → 44 + 6 + 5 = 55.00 (不合格)
    """
    office, expert, leader = client_for("office"), client_for("expert"), client_for("leader")
    assert enter(office, "K1", v101="90", v102="80").status_code == 302
    assert enter(office, "T1", v201="55").status_code == 302
    assert enter(expert, "K2", v101="80", v102="95").status_code == 302
    assert enter(leader, "leadership", v101="80", v102="90", v201="50").status_code == 302
    response = upload(office, [("单位编码", "指标", "得分"), ("101", "public", 90),
                               ("102", "public", 80), ("201", "public", 60)])
    assert response.status_code == 302
    return cycle


def computed(office, reason: str = "首次计算"):
    return office.post("/results/compute", {"year": str(YEAR), "reason": reason})


def approved(client_for, db):
    """The office submits the computed results; the committee approves and publishes."""
    walk_to(db, YEAR, "review_approval")
    return client_for("committee").post("/results/publish", {"year": str(YEAR)})


def row(body: str, code: str) -> str:
    start_ = body.index(f'id="result-{code}"')
    return body[start_:body.index("</tr>", start_)]


def test_entered_scores_compute_to_the_hand_computed_table(scored, client_for, web_db):
    office = client_for("office")
    response = computed(office)
    assert response.status_code == 302
    body = office.get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert "已计算 3 个单位的结果" in body
    for code, parts in (("101", ("86.00", "90.00", "80.00", "85.80", "良好")),
                        ("102", ("86.00", "80.00", "90.00", "85.80", "良好")),
                        ("201", ("55.00", "60.00", "50.00", "55.00", "不合格"))):
        line = row(body, code)
        assert all(p in line for p in parts), (code, line)
    assert '<td class="rank">1 <span class="tie">(并列)</span>' in row(body, "101")
    assert '<td class="rank">1 <span class="tie">(并列)</span>' in row(body, "102")
    assert '<td class="rank">1</td>' in row(body, "201")
    assert "未公布" in body
    assert {r["code"]: r["composite"] for r in read_results(web_db, YEAR)} == {
        "101": "85.80", "102": "85.80", "201": "55.00"}


def test_a_veto_is_marked_and_caps_the_grade(scored, client_for, web_db):
    office = client_for("office")
    response = office.post("/results/veto", {"year": str(YEAR), "unit": "101",
                                             "item": "安全生产", "reason": "发生重大事故"})
    assert response.status_code == 302
    computed(office)
    line = row(office.get(f"/results/?year={YEAR}").get_data(as_text=True), "101")
    assert "是:安全生产" in line and "不合格" in line and '<td class="rank">—' in line


def test_computing_needs_a_reason(scored, client_for):
    response = client_for("office").post("/results/compute", {"year": str(YEAR)})
    assert response.status_code == 422
    assert "计算结果须填写理由" in response.get_data(as_text=True)


def test_computing_with_a_score_missing_names_the_unit(cycle, client_for):
    office = client_for("office")
    enter(office, "K1", v101="90")
    response = computed(office)
    assert response.status_code == 422
    assert "缺少指标得分" in response.get_data(as_text=True)


def test_an_expert_enters_only_the_indicators_their_unit_verifies(cycle, client_for, web_db):
    expert = client_for("expert")
    page = expert.get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert '<option value="K2">' in page and '<option value="K1">' not in page
    response = enter(expert, "K1", v101="90")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "不能录入 K1" in body and "有 1 处错误,未录入任何数据" in body


def test_a_leader_enters_the_leadership_score_only(cycle, client_for):
    leader = client_for("leader")
    page = leader.get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert '<option value="leadership">' in page and '<option value="public">' not in page
    assert enter(leader, "public", v101="90").status_code == 422


def test_every_bad_row_is_reported_and_nothing_imported(cycle, client_for, web_db):
    office = client_for("office")
    response = upload(office, [("单位编码", "指标", "得分"), ("101", "public", 90),
                               ("999", "public", 80), ("102", "public", "很好"),
                               ("201", "", 70)])
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "有 3 处错误,未录入任何数据" in body
    errors = body[body.index('id="row-errors"'):]
    reported = re.findall(r"<tr><td>(\d+)</td><td></td><td>(\w+)</td><td>([^<]*)</td></tr>",
                          errors)
    assert [(int(n), c) for n, c, _ in reported] == [(3, "unit"), (4, "value"), (5, "item")]
    assert "单位 999 不存在" in reported[0][2] and "须为非负数" in reported[1][2]
    assert "不能为空" in reported[2][2]
    # nothing recorded: computing still misses every score
    assert "缺少" in computed(office).get_data(as_text=True)


def test_an_upload_must_be_xlsx_or_csv(cycle, client_for):
    response = upload(client_for("office"), [("a",)], name="scores.txt")
    assert response.status_code == 422
    assert "请上传 .xlsx 或 .csv 文件" in response.get_data(as_text=True)


def test_export_xlsx_one_sheet_per_category_and_csv(scored, client_for):
    office = client_for("office")
    computed(office)
    response = office.get(f"/results/export.xlsx?year={YEAR}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["乡镇场", "县直单位"]
    assert [c.value for c in book["乡镇场"][2]][1:3] == ["201", "城关镇"]
    text = client_for("auditor").get(f"/results/export.csv?year={YEAR}").data.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][0] == "类别 category" and len(lines) == 4
    assert client_for("head101").get(f"/results/export.csv?year={YEAR}").status_code == 403
    assert office.get(f"/results/export.pdf?year={YEAR}").status_code == 404


@pytest.mark.parametrize("user", ["committee", "leader", "auditor", "admin"])
def test_organisation_readers_see_every_result_before_publication(scored, client_for, user):
    computed(client_for("office"))
    body = client_for(user).get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert all(f'id="result-{c}"' in body for c in ("101", "102", "201"))
    assert 'id="compute"' not in body and 'id="publish"' not in body


@pytest.mark.parametrize("user", ["head101", "staff101", "expert"])
def test_nobody_else_sees_results_before_publication(scored, client_for, user):
    computed(client_for("office"))
    body = client_for(user).get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert 'id="result-' not in body and "该年度尚无结果" in body


def test_after_publication_a_unit_sees_its_own_result_only(scored, client_for, web_db):
    office = client_for("office")
    computed(office)
    assert approved(client_for, web_db).status_code == 302
    own = client_for("head101").get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert 'id="result-101"' in own and 'id="result-102"' not in own
    assert 'id="result-201"' not in own and "已公布" in own
    other = client_for("head102").get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert 'id="result-102"' in other and 'id="result-101"' not in other
    expert = client_for("expert").get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert all(f'id="result-{c}"' in expert for c in ("101", "102", "201"))


@pytest.mark.parametrize("user", ["committee", "leader", "expert", "auditor", "head101"])
def test_only_the_office_computes(scored, client_for, user):
    assert computed(client_for(user)).status_code == 403


@pytest.mark.parametrize("user", ["office", "leader", "expert", "auditor", "head101"])
def test_only_the_committee_publishes(scored, client_for, web_db, user):
    computed(client_for("office"))
    walk_to(web_db, YEAR, "review_approval")
    assert client_for(user).post("/results/publish", {"year": str(YEAR)}).status_code == 403
    assert all(r["published_at"] is None for r in read_results(web_db, YEAR))


@pytest.mark.parametrize("user", ["committee", "auditor", "head101"])
def test_only_score_entering_roles_import(cycle, client_for, user):
    assert upload(client_for(user), [("单位编码", "指标", "得分")]).status_code == 403


@pytest.mark.parametrize("user", ["leader", "expert"])
def test_an_import_is_checked_row_by_row_against_the_importer(cycle, client_for, user):
    response = upload(client_for(user), [("单位编码", "指标", "得分"), ("101", "public", 90)])
    assert response.status_code == 422
    assert "不能录入 public" in response.get_data(as_text=True)


@pytest.mark.parametrize("user", ["head101", "staff101", "auditor", "committee"])
def test_units_auditors_and_the_committee_enter_no_scores(cycle, client_for, user):
    client = client_for(user)
    assert 'id="enter-scores"' not in client.get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert enter(client, "K1", v101="90").status_code == 403


def test_forms_carry_a_csrf_token_and_refuse_without_it(scored, client_for):
    office = client_for("office")
    body = office.get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert body.count('name="csrf_token"') >= 6  # language, logout, compute, veto, enter, import
    response = office.http.post("/results/compute", data={"year": str(YEAR), "reason": "x"})
    assert response.status_code == 400


def test_a_veto_needs_an_item_and_a_reason_and_the_office(cycle, client_for):
    response = client_for("office").post("/results/veto", {"year": str(YEAR), "unit": "101",
                                                           "item": "安全生产", "reason": ""})
    assert response.status_code == 422 and "须写明否决事项和理由" in response.get_data(as_text=True)
    for user in ("committee", "leader", "head101"):
        assert client_for(user).post("/results/veto", {
            "year": str(YEAR), "unit": "101", "item": "安全生产", "reason": "x"}).status_code == 403


def test_a_stale_session_confirms_the_password_before_publishing(scored, client_for, web_db):
    from datetime import timedelta

    from freezegun import freeze_time

    with freeze_time("2026-11-27 02:00:00") as frozen:
        office, committee = client_for("office"), client_for("committee")
        assert computed(office).status_code == 302
        walk_to(web_db, YEAR, "review_approval")
        frozen.tick(timedelta(hours=1))
        held = committee.post("/results/publish", {"year": str(YEAR)})
        assert held.status_code == 200 and "确认身份" in held.get_data(as_text=True)
        assert all(r["published_at"] is None for r in read_results(web_db, YEAR))
        back = committee.post("/auth/confirm", {"year": str(YEAR), "password": PASSWORD,
                                                "next": "/results/",
                                                "resume": "/results/publish"})
        assert back.status_code == 307
        assert committee.post(back.headers["Location"], {"year": str(YEAR)}).status_code == 302
    assert all(r["published_at"] is not None for r in read_results(web_db, YEAR))


def test_without_a_year_the_page_opens_on_the_year_that_has_results(scored, client_for, web_db):
    """A later cycle that has not reached scoring does not hide this year's results."""
    from engine import actor_for
    from engine.cycles import open_cycle

    office = client_for("office")
    assert computed(office).status_code == 302
    open_cycle(web_db, YEAR + 1, actor_for(web_db, "office"))
    page = office.get("/results/").get_data(as_text=True)
    assert f"考评结果 {YEAR}</h1>" in page and 'id="result-years"' in page
    assert f'href="/results/?year={YEAR + 1}"' in page
    # a unit user sees no year with published results yet: the newest cycle
    staff = client_for("staff101").get("/results/").get_data(as_text=True)
    assert f"考评结果 {YEAR + 1}</h1>" in staff


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_exporting_a_year_without_results_is_a_clear_404_page(scored, client_for, fmt):
    response = client_for("office").get(f"/results/export.{fmt}?year={YEAR}")
    body = response.get_data(as_text=True)
    assert response.status_code == 404 and "尚未计算考评结果" in body
    assert "Traceback" not in body
