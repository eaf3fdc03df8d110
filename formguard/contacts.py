"""Alternative contacts: how visitors who get no form can reach the business.

Rows are edited in the admin (per country, with a default row of no country)
and read from the shared cache, which a save or delete clears.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation.trans_real import parse_accept_lang_header

from . import cache
from .models import AlternativeContact

CACHE_TIMEOUT = 3600


def _key() -> str:
    return cache.make_key("contacts")


def invalidate() -> None:
    with contextlib.suppress(cache.CacheUnavailable):
        cache.call("delete", _key())


def _all_rows() -> list[dict[str, Any]]:
    try:
        rows = cache.call("get", _key())
    except cache.CacheUnavailable:
        rows = None
    if rows is None:
        rows = list(AlternativeContact.objects.values("country", "text_ja", "text_en", "text_zh", "image_url"))
        with contextlib.suppress(cache.CacheUnavailable):
            cache.call("set", _key(), rows, CACHE_TIMEOUT)
    return rows


def prefers_chinese(request: HttpRequest) -> bool:
    accepted = parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")[:500])
    return bool(accepted) and accepted[0][0].lower().startswith("zh")


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
    return [{"text": _text(r, chinese), "image_url": r["image_url"]} for r in chosen]
