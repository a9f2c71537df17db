"""The sign-in records page: newest first, filtered by user name and outcome, paged."""

from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time

from web_support import Client, app, client_for, web_db  # noqa: F401


def test_newest_first_with_filters(app, client_for):
    with freeze_time("2026-11-27 02:00:00") as frozen:
        Client(app).login("office", "wrong-password")
        frozen.tick(timedelta(minutes=1))
        Client(app).login("auditor")
        frozen.tick(timedelta(minutes=1))
        admin = Client(app, "admin")
        body = admin.get("/admin/signins").get_data(as_text=True)
        failed = admin.get("/admin/signins?outcome=bad_password").get_data(as_text=True)
        by_name = admin.get("/admin/signins?username=auditor").get_data(as_text=True)
    rows = body.split('id="signins"')[1]
    assert rows.index("<td>admin") < rows.index("<td>auditor") < rows.index("<td>office")
    assert "2026-11-27 10:00:00" in rows  # shown in Beijing time
    assert "<td>office" in failed.split('id="signins"')[1] and \
        "<td>auditor" not in failed.split('id="signins"')[1]
    assert "共 1 条" in by_name


def test_paged(app, client_for):
    for _ in range(3):
        Client(app).login("nobody", "x")
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 1000
    for _ in range(52):
        Client(app).login(f"n{_}", "x")
    admin = client_for("admin")
    first = admin.get("/admin/signins").get_data(as_text=True)
    second = admin.get("/admin/signins?page=2").get_data(as_text=True)
    assert "第 1 / 2 页" in first and "第 2 / 2 页" in second
    assert second.split('id="signins"')[1].count("<tr class=") == 56 - 50
