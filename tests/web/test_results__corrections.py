"""The results page after publication: entry is gone and refused with the reason, the
office corrects a value (reason, fresh password) and the unit is told, vetoes are
withdrawn before publication, and the history of the year's score and result facts is
shown to the office, the committee and auditors (read-only), not to units."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from engine.results import read_results
from test_results__compute import YEAR, approved, computed, cycle, enter, scored  # noqa: F401
from web_support import PASSWORD, app, client_for, web_db  # noqa: F401


@pytest.fixture
def published(scored, client_for, web_db):
    assert computed(client_for("office")).status_code == 302
    assert approved(client_for, web_db).status_code == 302
    return YEAR


def page(client) -> str:
    return client.get(f"/results/?year={YEAR}").get_data(as_text=True)


def correct(client, **form):
    return client.post("/results/correct", {"year": str(YEAR), "unit": "201", "item": "T1",
                                            "value": "95", "reason": "督查室复核", **form})


def test_after_publication_entry_is_gone_and_refused_with_the_reason(published, client_for,
                                                                     web_db):
    office = client_for("office")
    body = page(office)
    assert 'id="enter-scores"' not in body and 'id="compute"' not in body
    assert 'id="correct-form"' in body and "结果已公布,只能通过申诉复核或更正修改" in body
    response = enter(office, "K1", v101="10")
    assert response.status_code == 303
    assert "已公布,只能通过申诉复核或更正" in office.get(response.headers["Location"]) \
        .get_data(as_text=True)
    assert {r["code"]: r["revision"] for r in read_results(web_db, YEAR)} == {
        "101": 1, "102": 1, "201": 1}


def test_a_correction_is_recorded_republished_and_told_to_the_unit(published, client_for,
                                                                   web_db):
    office = client_for("office")
    assert correct(office, reason=" ").status_code == 422
    response = correct(office)
    assert response.status_code == 302
    assert {r["code"]: (r["composite"], r["revision"]) for r in read_results(web_db, YEAR)}[
        "201"] == ("87.00", 2)  # 0.8 × 95 + 6 + 5
    history = page(office)[page(office).index('id="fact-history"'):]
    assert "更正结果" in history and "201 T1: 55 → 95" in history and "督查室复核" in history
    assert "201 综合得分 55.00 → 87.00" in history
    from sqlalchemy import select

    from engine.models import OutboxMessage, Unit
    o, u = OutboxMessage.__table__, Unit.__table__
    with web_db.read() as conn:
        told = conn.execute(select(u.c.code).join(o, o.c.recipients["unit_id"].as_integer()
                                                   == u.c.id)
                            .where(o.c.kind == "result_corrected")).scalars().all()
    assert told == ["201"]  # 201 moved alone in its category


@pytest.mark.parametrize("user", ["committee", "auditor"])
def test_the_history_is_shown_read_only_to_the_committee_and_auditors(published, client_for,
                                                                      user):
    body = page(client_for(user))
    title = body[body.index("<title>"):body.index("</title>")]
    assert "<section" not in title and body.count('id="fact-history"') == 1
    history = body[body.index('id="fact-history"'):]
    history = history[:history.index("</section>")]
    assert "公布结果" in history and "计算结果" in history and "导入得分" in history
    assert "public.xlsx" in history  # an import names its file
    assert "<form" not in history


@pytest.mark.parametrize("user", ["head101", "expert"])
def test_units_and_experts_see_no_history_and_no_correction(published, client_for, user):
    body = page(client_for(user))
    assert 'id="fact-history"' not in body and 'id="correct-form"' not in body
    assert correct(client_for(user)).status_code == 403


def test_a_stale_session_confirms_the_password_before_correcting(published, client_for,
                                                                 web_db):
    with freeze_time("2027-05-01 02:00:00") as frozen:
        office = client_for("office")
        frozen.tick(timedelta(hours=1))
        held = correct(office)
        assert held.status_code == 200 and "确认身份" in held.get_data(as_text=True)
        assert {r["code"]: r["revision"] for r in read_results(web_db, YEAR)}["201"] == 1
        back = office.post("/auth/confirm", {"year": str(YEAR), "password": PASSWORD,
                                             "next": "/results/", "resume": "/results/correct"})
        assert back.status_code == 307
        again = office.post(back.headers["Location"], {
            "year": str(YEAR), "unit": "201", "item": "T1", "value": "95",
            "reason": "督查室复核"})
        assert again.status_code == 302
    assert {r["code"]: r["revision"] for r in read_results(web_db, YEAR)}["201"] == 2


def test_a_veto_is_withdrawn_before_publication_with_a_reason(scored, client_for, web_db):
    office = client_for("office")
    assert office.post("/results/veto", {"year": str(YEAR), "unit": "101", "item": "安全生产",
                                         "reason": "事故"}).status_code == 302
    body = page(office)
    assert 'id="veto-list"' in body and "安全生产" in body
    veto = int(body.split('id="remove-veto-', 1)[1].split('"', 1)[0].split("-")[-1])
    assert office.post(f"/results/veto/{veto}/remove", {"year": str(YEAR),
                                                        "reason": ""}).status_code == 422
    assert office.post(f"/results/veto/{veto}/remove",
                       {"year": str(YEAR), "reason": "误记"}).status_code == 302
    body = page(office)
    assert 'id="veto-list"' not in body
    assert "撤销一票否决" in body[body.index('id="fact-history"'):]
