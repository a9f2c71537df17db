"""The cycle pages: the list, opening a year (defaults or an uploaded settings file,
a second opening refused), one year's progress per definition and category, advancing
when the children are done, and forcing with a reason after the units not done are
shown — who may do what is the engine's rule; unit users and experts get 403."""

from __future__ import annotations

import io

import pytest

from engine import actor_for, add_user, get_instance, read_history
from engine.cycles import cycle_for_year, open_cycle
from web_support import PASSWORD, app, client_for, web_db  # noqa: F401

YEAR = 2026


@pytest.fixture
def people(web_db):
    for username, role in (("committee", "committee"), ("leader", "leader"),
                           ("expert", "expert")):
        add_user(web_db, username, PASSWORD, [role])


@pytest.fixture
def opened(web_db, people):
    """The 2026 cycle, opened by the office with the default settings."""
    open_cycle(web_db, YEAR, actor_for(web_db, "office"))
    return cycle_for_year(web_db, YEAR)["instance_id"]


@pytest.fixture
def planning(web_db, opened, client_for):
    """The cycle moved to planning by the committee through the page."""
    response = client_for("committee").post(f"/cycles/{YEAR}/advance",
                                            {"trigger": "issue_work_plan"})
    assert response.status_code == 302
    return opened


def open_form(client, year, config: bytes | None = None):
    data = {"year": str(year)}
    if config is not None:
        data["config"] = (io.BytesIO(config), "settings.yaml")
    return client.post("/cycles/open", data, content_type="multipart/form-data")


def test_the_office_opens_a_year_with_the_default_settings(web_db, people, client_for):
    office = client_for("office")
    page = office.get("/cycles/").get_data(as_text=True)
    assert "尚未开启任何年度考评" in page and 'id="open-cycle"' in page
    assert "指标评估 80 · 公众评议 10 · 领导评价 10" in page  # the defaults shown
    response = open_form(office, YEAR)
    assert response.status_code == 302 and response.headers["Location"].endswith("/cycles/2026")
    body = office.get("/cycles/2026").get_data(as_text=True)
    assert "已开启 2026 年度考评:3 个单位,12 个事项" in body
    assert '<strong id="state" data-state="setup">筹备</strong>' in body
    listing = office.get("/cycles/").get_data(as_text=True)
    assert 'id="cycle-2026"' in listing and "draft=3" in listing


def test_a_second_opening_is_refused_with_the_engines_message(web_db, opened, client_for):
    response = open_form(client_for("office"), YEAR)
    assert response.status_code == 422
    assert "2026 年度考评已开启,不能重复开启" in response.get_data(as_text=True)


def test_an_uploaded_settings_file_is_frozen_with_the_cycle(web_db, people, client_for):
    office = client_for("office")
    response = open_form(office, YEAR, "categories: [县直单位]\nappeal_window_working_days: 7\n"
                         .encode())
    assert response.status_code == 302
    config = cycle_for_year(web_db, YEAR)["config"]
    assert config["categories"] == ["县直单位"] and config["appeal_window_working_days"] == 7
    assert "2 个单位,8 个事项" in office.get("/cycles/2026").get_data(as_text=True)


@pytest.mark.parametrize("content, message", [
    (b"colour: red\n", "未知设置 colour"),
    (b"- a\n- b\n", "设置文件须为键值映射"),
    (b"weights: {indicator: 90, public: 10, leadership: 10}\n", "合计 100"),
    (b"categories: 5\n", "categories: 须为列表"),
    (b"weights: 5\n", "weights: 须为映射"),
])
def test_a_bad_settings_file_opens_nothing(web_db, people, client_for, content, message):
    response = open_form(client_for("office"), YEAR, content)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert "尚未开启任何年度考评" in client_for("office").get("/cycles/").get_data(as_text=True)


@pytest.mark.parametrize("user", ["committee", "leader", "auditor"])
def test_only_the_office_opens_a_year(web_db, people, client_for, user):
    client = client_for(user)
    assert 'id="open-cycle"' not in client.get("/cycles/").get_data(as_text=True)
    assert open_form(client, YEAR).status_code == 403


@pytest.mark.parametrize("user", ["head101", "staff101", "expert"])
def test_unit_users_and_experts_get_403(web_db, opened, client_for, user):
    client = client_for(user)
    assert client.get("/cycles/").status_code == 403
    assert client.get(f"/cycles/{YEAR}").status_code == 403
    assert open_form(client, 2027).status_code == 403
    assert client.post(f"/cycles/{YEAR}/advance", {"trigger": "issue_work_plan"}).status_code \
        == 403
    assert 'href="/cycles/"' not in client.get("/").get_data(as_text=True)


def test_a_year_never_opened_is_404(web_db, people, client_for):
    assert client_for("office").get("/cycles/1999").status_code == 404


def test_a_year_too_large_for_the_database_is_a_clear_refusal(web_db, people, client_for):
    office, huge = client_for("office"), "9" * 20
    assert office.get(f"/cycles/{huge}").status_code == 404
    assert office.post(f"/cycles/{huge}/advance", {"trigger": "issue_work_plan"}).status_code \
        == 404
    response = office.post("/cycles/open", {"year": huge})
    assert response.status_code == 422 and "请填写年度" in response.get_data(as_text=True)


def test_progress_per_definition_and_per_category(web_db, opened, client_for):
    body = client_for("leader").get(f"/cycles/{YEAR}").get_data(as_text=True)
    assert 'data-key="performance_plan" data-state="draft">草拟 3<' in body
    assert ('data-category="县直单位" data-key="performance_plan" data-state="draft">草拟 2<'
            in body)
    processes = body[body.index('id="by-definition"'):body.index('id="by-category"')]
    assert processes.index("年度绩效计划") < processes.index("半年自评报告") \
        < processes.index("年度自评报告") < processes.index("单位年度绩效考评")
    assert ('data-category="乡镇场" data-key="unit_evaluation"' in body)
    assert 'id="results-link"' in body and 'id="dashboard-link"' in body


def test_the_committee_issues_the_work_plan_and_the_office_may_not(web_db, opened, client_for):
    office = client_for("office").get(f"/cycles/{YEAR}").get_data(as_text=True)
    assert 'id="advance-issue_work_plan"' not in office and "需要角色" in office
    committee = client_for("committee")
    assert 'id="advance-issue_work_plan"' in committee.get(f"/cycles/{YEAR}").get_data(
        as_text=True)
    assert committee.post(f"/cycles/{YEAR}/advance", {"trigger": "issue_work_plan"}) \
        .status_code == 302
    assert get_instance(web_db, opened).state == "planning"
    assert "已推进:筹备 → 制定绩效计划" in committee.get(f"/cycles/{YEAR}").get_data(as_text=True)


def test_pending_units_are_shown_and_advancing_waits_for_them(web_db, planning, client_for):
    office = client_for("office")
    body = office.get(f"/cycles/{YEAR}").get_data(as_text=True)
    step = body[body.index('id="step-start_monitoring"'):body.index('id="step-force_start')]
    assert "未完成单位 (3)" in step
    assert "101 县发展和改革局、102 县财政局、201 城关镇" in step
    response = office.post(f"/cycles/{YEAR}/advance", {"trigger": "start_monitoring"})
    assert response.status_code in (409, 422)
    assert get_instance(web_db, planning).state == "planning"


def test_forcing_lists_the_units_not_done_then_records_them(web_db, planning, client_for):
    office = client_for("office")
    confirm = office.post(f"/cycles/{YEAR}/force", {"trigger": "force_start_monitoring",
                                                    "reason": "县委要求按期启动监测"})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "以下 3 个单位尚未完成" in page
    assert "<li>102 县财政局</li>" in page and 'name="confirm" value="yes"' in page
    assert get_instance(web_db, planning).state == "planning"  # nothing yet
    done = office.post(f"/cycles/{YEAR}/force", {"trigger": "force_start_monitoring",
                                                 "reason": "县委要求按期启动监测",
                                                 "confirm": "yes"})
    assert done.status_code == 302
    assert get_instance(web_db, planning).state == "monitoring"
    comment = read_history(web_db, planning)[-1]["comment"]
    assert comment.startswith("县委要求按期启动监测")
    assert "101 县发展和改革局、102 县财政局、201 城关镇" in comment


def test_forcing_needs_a_reason(web_db, planning, client_for):
    response = client_for("office").post(f"/cycles/{YEAR}/force",
                                         {"trigger": "force_start_monitoring", "reason": " "})
    assert response.status_code == 422 and "强制推进须填写理由" in response.get_data(as_text=True)


def test_a_force_that_is_not_a_step_here_is_refused(web_db, opened, client_for):
    response = client_for("office").post(f"/cycles/{YEAR}/force",
                                         {"trigger": "force_close", "reason": "x"})
    assert response.status_code == 422
    assert "当前阶段不能执行该强制推进" in response.get_data(as_text=True)


@pytest.mark.parametrize("user", ["leader", "auditor"])
def test_leaders_and_auditors_read_but_do_not_act(web_db, planning, client_for, user):
    client = client_for(user)
    body = client.get(f"/cycles/{YEAR}").get_data(as_text=True)
    assert "未完成单位 (3)" in body and 'name="trigger"' not in body
    response = client.post(f"/cycles/{YEAR}/force", {"trigger": "force_start_monitoring",
                                                     "reason": "x", "confirm": "yes"})
    assert response.status_code == 403
    assert get_instance(web_db, planning).state == "planning"


def test_a_stale_version_is_a_conflict(web_db, planning, client_for):
    response = client_for("office").post(f"/cycles/{YEAR}/force", {
        "trigger": "force_start_monitoring", "reason": "x", "confirm": "yes", "version": "1"})
    assert response.status_code == 409
    assert get_instance(web_db, planning).state == "planning"


def test_cycle_forms_need_the_csrf_token(web_db, opened, client_for):
    committee = client_for("committee")
    body = committee.get(f"/cycles/{YEAR}").get_data(as_text=True)
    assert 'name="csrf_token"' in body[body.index('id="steps"'):]
    response = committee.http.post(f"/cycles/{YEAR}/advance", data={"trigger": "issue_work_plan"})
    assert response.status_code == 400
    assert get_instance(web_db, opened).state == "setup"


def test_the_pages_speak_english_on_request(web_db, planning, client_for):
    office = client_for("office")
    office.post("/lang", {"lang": "en"})
    body = office.get(f"/cycles/{YEAR}").get_data(as_text=True)
    assert 'href="/cycles/">Evaluation cycles</a>' in body
    assert "Units not done (3)" in body and "Progress per process" in body
    results = office.get(f"/results/?year={YEAR}").get_data(as_text=True)
    assert "Scores and vetoes are entered only in the stages" in results  # not in planning
    assert "Verification and appraisal, Scoring" in results


def test_a_stale_session_confirms_the_password_before_forcing(web_db, planning, client_for):
    from datetime import timedelta

    from freezegun import freeze_time

    with freeze_time("2026-11-27 02:00:00") as frozen:
        office = client_for("office")
        frozen.tick(timedelta(hours=1))
        body = {"trigger": "force_start_monitoring", "reason": "县委要求按期启动监测",
                "confirm": "yes"}
        held = office.post(f"/cycles/{YEAR}/force", body)
        assert held.status_code == 200 and "确认身份" in held.get_data(as_text=True)
        assert get_instance(web_db, planning).state == "planning"
        back = office.post("/auth/confirm", {**body, "password": PASSWORD,
                                             "next": f"/cycles/{YEAR}",
                                             "resume": f"/cycles/{YEAR}/force"})
        assert back.status_code == 307
        assert office.post(back.headers["Location"], body).status_code == 302
    assert get_instance(web_db, planning).state == "monitoring"
