"""Render an event's subject, plain text and HTML from Jinja2 templates, per locale.

``templates/<locale>/<event>.j2`` extends ``_base.j2`` and defines the blocks
``subject`` and ``text`` (and may override ``html``, which by default lays the text out
with a link to the instance). The same file is rendered by two environments: one
without autoescaping for subject and text, one with autoescaping for HTML, so values
from users (comments, unit names) can never inject markup into the HTML part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Mapping

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from .config import normalize_locale
from .events import EVENTS

_SEP = "\x1e"  # ASCII record separator: between title and body of a one-pass render
_WEEKDAYS = {"zh_CN": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


@dataclass(frozen=True)
class Rendered:
    """One message in one locale."""

    subject: str
    text: str
    html: str


def format_date(value: Any, locale: str) -> str:
    """``2026年12月10日(星期四)`` or ``Thu 10 Dec 2026``; ``—`` for nothing."""
    if not value:
        return "—"
    day = date.fromisoformat(str(value)[:10])
    weekday = _WEEKDAYS[locale][day.weekday()]
    if locale == "en":
        return f"{weekday} {day.day} {day:%b %Y}"
    return f"{day.year}年{day.month}月{day.day}日(星期{weekday})"


def format_time(value: Any, locale: str) -> str:
    """A local ISO date-time as ``2026年12月10日 09:00`` or ``10 Dec 2026 09:00``."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(str(value))
    if locale == "en":
        return f"{moment.day} {moment:%b %Y %H:%M}"
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _paragraphs(value: Any) -> Markup:
    """Plain text as HTML paragraphs (blank line) and line breaks, escaped unless safe."""
    safe = str(value if isinstance(value, Markup) else escape(value))
    parts = [p.strip() for p in re.split(r"\n\s*\n", safe) if p.strip()]
    return Markup("\n".join("<p>" + "<br>\n".join(p.splitlines()) + "</p>" for p in parts))


@lru_cache(maxsize=2)
def _environment(html: bool) -> Environment:
    env = Environment(loader=PackageLoader("notifications", "templates"), autoescape=html,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      auto_reload=False)
    env.filters["paragraphs"] = _paragraphs
    return env


def template_context(event: str, locale: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The variables every template sees (labels already in ``locale``)."""
    lang = "en" if locale == "en" else "zh"
    unit = params.get("unit") or {}
    label = params.get("state_label") or {}
    source = params.get("from_label") or {}
    process = params.get("process") or {}
    return {
        "event": event, "event_name": EVENTS.get(event, (event, event))[lang == "en"],
        "process": process.get(lang, params.get("definition", "")),
        "unit": unit.get("name") or ("全县" if lang == "zh" else "all units"),
        "unit_code": unit.get("code") or "",
        "state": label.get(lang, params.get("state", "")),
        "from_state": source.get(lang, params.get("from_state") or ""),
        "instance_id": params.get("instance_id"), "actor": params.get("actor") or "",
        "comment": params.get("comment") or "", "link": params.get("link", ""),
        "at": format_time(params.get("at"), locale),
        "deadline": format_date(params.get("deadline"), locale),
        "days_left": params.get("days_left"), "days_overdue": params.get("days_overdue") or 0,
        "items": [{"title": render_inapp(i["template"], locale, i["params"])[0],
                   "link": i["params"].get("link", "")} for i in params.get("items") or ()],
        "day": format_date(params.get("day"), locale),
        "anchor": params.get("anchor") or {},
    }


def render(event: str, locale: str, params: Mapping[str, Any]) -> Rendered:
    """Render ``event`` in ``locale`` (``zh_CN`` or ``en``) with ``params``."""
    locale = normalize_locale(locale)
    context = template_context(event, locale, params)
    name = f"{locale}/{event}.j2"
    text_template = _environment(False).get_template(name)
    subject = " ".join(text_template.render(context, part="subject", mail=True).split())
    text = text_template.render(context, part="text", mail=True).strip() + "\n"
    html = _environment(True).get_template(name).render(context, part="html", mail=True,
                                                        subject=subject)
    return Rendered(subject, text, html)


def render_inapp(event: str, locale: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """Title and plain-text body of an in-app notification (no HTML needed), rendered
    in one pass."""
    locale = normalize_locale(locale)
    template = _environment(False).get_template(f"{locale}/{event}.j2")
    context = template_context(event, locale, params)
    title, _, body = template.render(context, part="inapp", mail=False, sep=_SEP).partition(_SEP)
    return " ".join(title.split()), body.strip()
