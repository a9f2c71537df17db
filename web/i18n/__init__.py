"""Languages: Chinese (zh_CN) by default, English per user or per session.

Message ids in the templates and views are the Chinese text itself, so a missing
English translation falls back to Chinese, the default. The English catalog lives in
``translations/en/LC_MESSAGES/messages.po``; its compiled ``messages.mo`` is committed
next to it (``python -m web.i18n`` recompiles it; a test checks it is current).
Process labels come from the definitions' own ``zh``/``en`` labels, not the catalog.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, session
from flask_babel import get_locale
from flask_login import current_user

from ..extensions import babel

LOCALES = ("zh_CN", "en")
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    """The session's choice (set at login from the user's preference or by the
    language switch), else the configured default."""
    chosen = session.get("lang")
    if chosen in LOCALES:
        return chosen
    from flask import current_app

    return current_app.config["BABEL_DEFAULT_LOCALE"]


def lang() -> str:
    """``zh`` or ``en``: which side of a definition label to show."""
    return "en" if str(get_locale()).startswith("en") else "zh"


def label(value) -> str:
    """A :class:`workflow.spec.Label` (or plain text) in the current language."""
    if value is None:
        return ""
    getter = getattr(value, "get", None)
    return getter(lang()) if callable(getter) and hasattr(value, "zh") else str(value)


#: how the bundled definitions' choice values read on a page
CHOICE_LABELS = {"yes": ("是", "Yes"), "no": ("否", "No"),
                 "direct": ("直接计分", "Direct score"),
                 "attainment": ("目标完成率", "Target attainment"),
                 "rank": ("名次计分", "Points by rank")}


def choice(value) -> str:
    """A choice field's stored value as people read it (是/否 …); others unchanged."""
    known = CHOICE_LABELS.get(value) if isinstance(value, str) else None
    if known is None:
        return "" if value is None else str(value)
    return known[1] if lang() == "en" else known[0]


def localtime(moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time as local wall-clock text."""
    if moment is None:
        return ""
    from engine.clock import to_local

    return to_local(moment).strftime(fmt)


def init_app(app: Flask) -> None:
    """Bind Flask-Babel and the template helpers."""
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["choice"] = choice
    app.jinja_env.globals.update(lang=lang, LOCALES=LOCALES,
                                 is_authenticated=lambda: current_user.is_authenticated)


def compile_catalog() -> Path:
    """Compile ``messages.po`` into ``messages.mo``; returns the .mo path."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    with po.open("rb") as source:
        catalog = read_po(source, locale="en")
    with mo.open("wb") as target:
        write_mo(target, catalog)
    return mo
