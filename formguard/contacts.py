"""Alternative contacts: how visitors who get no form can reach the business.

Rows are edited in the admin (per country, with a default row of no country)
and kept in each process like policies (``generations.cached_rows``).
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from . import generations
from .models import AlternativeContact


def invalidate() -> None:
    generations.changed("contacts")


def _load_rows() -> list[dict[str, Any]]:
    return list(AlternativeContact.objects.values("country", "text_ja", "text_en", "text_zh", "image_url"))


def _all_rows() -> list[dict[str, Any]]:
    return generations.cached_rows("contacts", _load_rows)


# Links in plain text as owners type it: a URL may follow a full-width colon
# ("QQ：https://…") with no space, which Django's urlize does not link.
URL_RE = re.compile(r"(?:https?|weixin)://[^\s<>\"'（）「」、。，]+")


def render_text(text: str) -> SafeString:
    """Plain text to safe HTML: everything escaped, URLs linked, lines kept."""
    parts = []
    last = 0
    for match in URL_RE.finditer(text):
        parts.append(escape(text[last : match.start()]))
        url = match.group(0)
        parts.append(format_html('<a href="{}" rel="noopener nofollow">{}</a>', url, url))
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts).replace("\n", "<br>"))  # noqa: S308 (every part escaped above)


# One entry of Accept-Language: a language range and an optional q-value.
ACCEPT_LANGUAGE_ENTRY_RE = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([01](?:\.\d{0,3})?))?\s*$"
)


def preferred_language(header: str) -> str:
    """The language range a visitor ranks first in ``Accept-Language`` (RFC 9110), or "".

    Written here because Django's parser is private (``trans_real``) and its
    public ``get_language_from_request`` only answers among the site's own
    LANGUAGES, which need not include Chinese. Malformed entries are skipped.
    """
    best, best_q = "", 0.0
    for entry in header[:500].split(","):
        match = ACCEPT_LANGUAGE_ENTRY_RE.match(entry)
        if not match:
            continue
        q = float(match.group(2)) if match.group(2) else 1.0
        if q > best_q:  # the first of equal weights wins
            best, best_q = match.group(1).lower(), q
    return best


def prefers_chinese(request: HttpRequest) -> bool:
    return preferred_language(request.META.get("HTTP_ACCEPT_LANGUAGE", "")).startswith("zh")


def _text(row: dict[str, Any], chinese: bool) -> str:
    if chinese and row["text_zh"]:
        return row["text_zh"]
    if (get_language() or "").startswith("ja"):
        return row["text_ja"] or row["text_en"] or row["text_zh"]
    return row["text_en"] or row["text_ja"] or row["text_zh"]


def for_visitor(request: HttpRequest, country: str) -> list[dict[str, str]]:
    """The contacts for ``country`` (its own rows, else the default rows), in the visitor's language."""
    rows = _all_rows()
    chosen = [r for r in rows if r["country"] == country] or [r for r in rows if not r["country"]]
    chinese = prefers_chinese(request)
    return [{"html": render_text(_text(r, chinese)), "image_url": r["image_url"]} for r in chosen]
