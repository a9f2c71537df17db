"""Per-user preferences: locale, email and webhook on or off; webhook endpoints."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import InvalidInput, NotFound
from notifications import (Preferences, add_webhook, dispatch, get_preferences, list_webhooks,
                           set_preferences, set_webhook_active)
from notifications.models import Delivery
from notify_support import people, plan, staff  # noqa: F401 - fixtures


def _deliveries(db):
    with db.read() as conn:
        return conn.execute(select(Delivery.channel, Delivery.address, Delivery.locale)
                            .order_by(Delivery.id)).all()


def test_defaults_then_partial_updates(db, people):
    chen = people["chen"]
    assert get_preferences(db, chen) == Preferences("zh_CN", True, True, False)
    set_preferences(db, chen, locale="en")
    assert set_preferences(db, chen, digest=True) == Preferences("en", True, True, True)
    assert get_preferences(db, chen) == Preferences("en", True, True, True)


def test_the_organisation_locale_is_the_default(db, people, monkeypatch):
    monkeypatch.setenv("PERFEVAL_LOCALE", "en_US")
    assert get_preferences(db, people["chen"]).locale == "en"


def test_bad_preferences_are_refused(db, people):
    with pytest.raises(InvalidInput):
        set_preferences(db, people["chen"], locale="fr")
    with pytest.raises(NotFound):
        set_preferences(db, 99999, email=False)


def test_email_off_means_in_app_only(db, people, plan):
    set_preferences(db, people["chen"], email=False)
    report = dispatch(db, channels={})
    assert report.inbox == 3 and _deliveries(db) == []


def test_personal_and_group_webhooks_get_their_deliveries(db, people, plan):
    mine = add_webhook(db, "陈刚的机器人", "https://hooks.example/chen", user_id=people["chen"])
    group = add_webhook(db, "发改局群", "https://hooks.example/101", roles=["unit_head"],
                        unit_code="101", style="wecom", locale="en")
    add_webhook(db, "财政局群", "https://hooks.example/102", roles=["unit_head"],
                unit_code="102")
    add_webhook(db, "绩效办群", "https://hooks.example/office", roles=["office"])
    dispatch(db, channels={})
    assert _deliveries(db) == [("email", "chen@perfeval.test", "zh_CN"),
                               ("webhook", "https://hooks.example/chen", "zh_CN"),
                               ("webhook", "https://hooks.example/101", "en")]
    assert [w["id"] for w in list_webhooks(db)][:2] == [mine, group]


def test_webhook_off_and_inactive_endpoints_get_nothing(db, people, plan):
    add_webhook(db, "陈刚的机器人", "https://hooks.example/chen", user_id=people["chen"])
    group = add_webhook(db, "发改局群", "https://hooks.example/101", roles=["unit_head"])
    set_preferences(db, people["chen"], webhook=False)
    set_webhook_active(db, group, False)
    dispatch(db, channels={})
    assert [d.channel for d in _deliveries(db)] == ["email"]


@pytest.mark.parametrize("kwargs", [{"url": "ftp://x"}, {"style": "slack"},
                                    {"roles": ["nobody"]}, {"roles": []}])
def test_bad_endpoints_are_refused(db, kwargs):
    args = {"url": "https://hooks.example/x", "roles": ["office"], **kwargs}
    with pytest.raises(InvalidInput):
        add_webhook(db, "x", args.pop("url"), **args)
