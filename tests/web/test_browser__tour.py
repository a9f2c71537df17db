"""Acceptance as a new user: a tour of every page, per role, in real Chromium.

One live server over the demo's data (``tour_support.build_site``). Each role signs in
through the login form and crawls from the header's links, following every same-origin
GET link (exports and downloads are fetched). No page may answer 5xx or show a
traceback; every link the UI shows a role must answer 200 for that role (a link leading
to 403 is a UI bug); no page may log a console error or a CSP violation, show a table of
headers without rows and without a word, or a button labelled with a code name
(``start_review``). Pages a role's nav does not show answer 403/404 when typed in.
Two roles take the tour again in English: the chrome (nav, headings, table headers,
buttons, labels) must be translated; error pages come in the user's language.
Screenshots of every distinct page go to ``tests/artifacts/tour/<role>/``.
"""

from __future__ import annotations

import shutil

import pytest

from browser_support import (ARTIFACTS, browser_type_launch_args,  # noqa: F401
                             needs_chromium, serve, sign_in)
from engine import Database
from tour_support import CJK, Crawler, build_site, cjk_chrome, page_problems
from web.app import create_app

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "tour"
ROLES = {"office": "office", "committee": "committee", "leader": "leader",
         "expert": "expert", "auditor": "auditor", "admin": "admin",
         "unit_staff": "staff_101", "unit_head": "head_101"}
# Each header link and the roles whose nav shows it (base.html); anyone else typing its
# address gets 403 (or 404), never the page.
NAV = {"/office/": {"office", "committee", "leader", "admin"},
       "/cycles/": {"office", "committee", "leader", "auditor", "admin"},
       "/systems/": {"office", "committee", "leader", "auditor", "admin"},
       "/audit/": {"auditor", "office", "admin"},
       "/admin/": {"admin"},
       "/admin/tokens": {"admin"},
       "/admin/definitions": {"admin", "office"}}
# Chinese that the English pages show on purpose: the column names the score importer reads.
INTENDED = ["单位编码, 指标, 得分"]
EVERYONE = ("/", "/instances/", "/results/", "/account/password", "/account/tokens")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo city with every page populated, served on a free port in a thread."""
    folder = tmp_path_factory.mktemp("tour")
    db = Database(f"sqlite:///{folder / 'tour.db'}")
    facts = build_site(db, folder)
    app = create_app({"DB": db, "SECRET_KEY": "tour-test", "SESSION_COOKIE_SECURE": False,
                      "REMEMBER_COOKIE_SECURE": False, "TESTING": True,
                      "ATTACHMENT_DIR": str(folder / "attachments")})
    try:
        with serve(app) as base:
            yield base, facts
    finally:
        db.dispose()


def _sign_in(browser, base: str, username: str, password: str):
    return sign_in(browser, base, username, password, viewport={"width": 1366, "height": 800})


def _language(page, english: bool) -> None:
    """Switch with the header's switch unless the page is already in that language
    (the choice is remembered for the user)."""
    if (page.inner_text("#lang-switch") == "中文") != english:
        page.click("#lang-switch")
        page.wait_for_load_state()
    assert (page.inner_text("#lang-switch") == "中文") == english


def _report(visits) -> list[str]:
    bad = []
    for v in visits:
        if v.status != 200 or v.problems:
            bad.append(f"{v.url} → {v.status} (linked from {v.source}) {'; '.join(v.problems)}")
    return bad


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_a_role_can_reach_works(browser, site, role):
    base, facts = site
    folder = SHOTS / role
    shutil.rmtree(folder, ignore_errors=True)
    context, page = _sign_in(browser, base, ROLES[role], facts["password"])
    try:
        crawler = Crawler(page, base, folder)
        nav = crawler.nav_links()
        visits = crawler.crawl("/", check=page_problems)
        (folder / "visits.txt").write_text("".join(
            f"{v.status} {v.url} ← {v.source}\n" for v in visits), encoding="utf-8")
        reached = {v.url for v in visits}
        assert set(nav) <= reached, f"nav links not crawled: {set(nav) - reached}"
        assert not _report(visits), "\n".join([f"{role}:"] + _report(visits))
        assert any(v.url.startswith("/instances/") and v.url[11:].isdigit() for v in visits)
        for path, roles in NAV.items():
            assert (path in nav) == (role in roles), f"{role}: nav link {path}"
            if role not in roles:
                response = context.request.get(base + path, max_redirects=0)
                assert response.status in (403, 404), f"{role} typed {path}: {response.status}"
        for path in EVERYONE:
            assert any(v.url == path and v.status == 200 for v in visits), f"{role}: {path}"
    finally:
        context.close()
    assert list(folder.glob("*.png"))


@pytest.mark.parametrize("role", ["admin", "unit_head"])
def test_the_tour_in_english_has_no_chinese_chrome(browser, site, role):
    base, facts = site
    context, page = _sign_in(browser, base, ROLES[role], facts["password"])
    try:
        _language(page, english=True)
        names = sorted(facts["unit_names"] + facts["people"] + INTENDED, key=len, reverse=True)
        crawler = Crawler(page, base, SHOTS / f"{role}-en", cap=1)
        visits = crawler.crawl("/", check=lambda p: page_problems(p) + [
            f"untranslated: {t!r}" for t in cjk_chrome(p, names)])
        assert not _report(visits), "\n".join([f"{role} (English):"] + _report(visits))
    finally:
        context.close()


def test_error_pages_speak_the_users_language(browser, site):
    """A unit head typing addresses: another unit's instance and a missing one are 404,
    an office page 403 — each the site's own page in the user's language, no trace."""
    base, facts = site
    context, page = _sign_in(browser, base, ROLES["unit_head"], facts["password"])
    cases = ((f"/instances/{facts['other_unit']}", 404, "页面不存在", "Not found"),
             ("/instances/999999", 404, "页面不存在", "Not found"),
             ("/office/", 403, "无权访问", "Forbidden"),
             ("/no/such/page", 404, "页面不存在", "Not found"))
    try:
        for english in (False, True):
            _language(page, english)
            for path, status, zh, en in cases:
                response = page.goto(base + path)
                assert response.status == status, path
                title = page.inner_text("h1")
                assert (en if english else zh) in title and str(status) in title, (path, title)
                assert page.locator("#logout").count() == 1  # the site's layout, signed in
                body = page.content()
                assert not any(marker in body for marker in ("Traceback", "werkzeug", "jinja2"))
                assert not (english and CJK.search(title)), title
            page.screenshot(path=str(SHOTS / f"error-{'en' if english else 'zh'}.png"))
    finally:
        context.close()
