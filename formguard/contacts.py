"""Alternative contacts: how visitors who get no form can reach the business.

Rows are edited in the admin (per country, with a default row of no country)
and kept in each process like policies (``generations.cached_rows``). Each row
is a channel (WeChat official account, QQ, web chat, LINE, telephone, email)
or free text; ``for_visitor`` turns the rows for a country into plain dicts
with a label in the visitor's language and the link or QR code to show, and
the one template ``formguard/includes/contacts.html`` renders them wherever
contacts appear (the hidden form's page, refusal pages, the China reply hint).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

from django.http import HttpRequest
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy, override
from django.utils.translation import gettext as _

from . import generations
from .models import AlternativeContact, phone_digits

Kind = AlternativeContact.Kind


def invalidate() -> None:
    generations.changed("contacts")


def _load_rows() -> list[dict[str, Any]]:
    rows = []
    for row in AlternativeContact.objects.all():
        rows.append(
            {
                "pk": row.pk,
                "country": row.country,
                "kind": row.kind,
                "value": row.value,
                "hours": row.hours,
                "order": row.order,
                "text_ja": row.text_ja,
                "text_en": row.text_en,
                "text_zh": row.text_zh,
                # Kept as a URL: reading it per request must not touch the storage.
                "qr_url": row.qr_image.url if row.qr_image else row.image_url,
            }
        )
    return rows


def refusals_without_contacts() -> bool:
    """True when a refused visitor (banned, too many messages, the form closed) may see no contact.

    A country's own rows replace the default rows (``for_visitor``): with no
    row of no country, every country without rows of its own meets a dead end.
    Reads the rows only (not the store): the system check calls it too.
    """
    return not AlternativeContact.objects.filter(country="").exists()


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


@lru_cache(maxsize=256)
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


def chinese_variant(request: HttpRequest) -> str:
    """ "zh-hant" or "zh-hans" when the visitor ranks Chinese first, else "".

    A site's LANGUAGES rarely include Chinese, so Django's LocaleMiddleware
    never activates it; formguard's own texts for contacts and reply hints
    are still shown in Chinese to a visitor who asks for it.
    """
    preferred = preferred_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    if not preferred.startswith("zh"):
        return ""
    if preferred.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh-hant"
    return "zh-hans"


def _text(row: dict[str, Any], chinese: bool) -> str:
    if chinese and row["text_zh"]:
        return row["text_zh"]
    if (get_language() or "").startswith("ja"):
        return row["text_ja"] or row["text_en"] or row["text_zh"]
    return row["text_en"] or row["text_ja"] or row["text_zh"]


LABELS = {
    Kind.WECHAT: gettext_lazy("WeChat official account"),
    Kind.QQ: gettext_lazy("QQ"),
    Kind.WEB_CHAT: gettext_lazy("Web chat"),
    Kind.LINE: gettext_lazy("LINE official account"),
    Kind.PHONE: gettext_lazy("Telephone"),
    Kind.EMAIL: gettext_lazy("Email"),
}

# Visitors from mainland China, Taiwan and Hong Kong see Tencent's channels
# first; everyone else LINE and the telephone. The admin's order comes first.
CHINESE_ORDER = [Kind.WECHAT, Kind.QQ, Kind.WEB_CHAT, Kind.PHONE, Kind.EMAIL, Kind.LINE, Kind.TEXT]
OTHER_ORDER = [Kind.LINE, Kind.PHONE, Kind.EMAIL, Kind.WEB_CHAT, Kind.WECHAT, Kind.QQ, Kind.TEXT]
CHINESE_COUNTRIES = ("CN", "TW", "HK", "MO")


def qq_chat_url(number: str) -> str:
    """Tencent's link that opens a chat with a QQ number (QQ's "WPA" link, as Qidian sets up too)."""
    return "https://wpa.qq.com/msgrd?" + urlencode({"v": 3, "uin": number, "site": "qq", "menu": "yes"})


def line_add_friend_url(line_id: str) -> str:
    """LINE's URL scheme that opens the official account (to add it as a friend)."""
    return "https://line.me/R/ti/p/" + quote("@" + line_id.lstrip("@"), safe="@")


def _href(row: dict[str, Any]) -> str:
    value = row["value"]
    if not value:
        return ""
    return {
        Kind.QQ: lambda: qq_chat_url(value),
        Kind.WEB_CHAT: lambda: value,
        Kind.LINE: lambda: line_add_friend_url(value),
        Kind.PHONE: lambda: "tel:" + phone_digits(value),
        Kind.EMAIL: lambda: "mailto:" + value,
    }.get(row["kind"], lambda: "")()


def _channel(row: dict[str, Any], chinese: bool) -> dict[str, str]:
    kind = row["kind"] if row["kind"] in Kind.values else Kind.TEXT
    note = _text(row, chinese)
    return {
        "kind": kind,
        "label": str(LABELS.get(kind, "")),
        "value": row["value"] if kind != Kind.TEXT else "",
        "href": _href(row),
        "hours": _("Hours: %(hours)s") % {"hours": row["hours"]} if kind == Kind.PHONE and row["hours"] else "",
        "note_html": render_text(note) if note else "",
        "qr_url": row["qr_url"],
        "qr_alt": str(gettext_lazy("QR code of our WeChat official account"))
        if kind == Kind.WECHAT
        else str(gettext_lazy("Image")),
    }


def for_visitor(request: HttpRequest, country: str) -> list[dict[str, str]]:
    """The contacts for ``country`` (its own rows, else the default rows), in the visitor's language.

    Plain dicts of strings (a refusal page keys its cached rendering by them),
    for ``formguard/includes/contacts.html``.
    """
    variant = chinese_variant(request)
    # Per country, variant and language, until the contacts change: a flood's
    # refusals ask the same few thousands of times.
    return generations.cached_rows(
        f"contacts:{country}:{variant}:{get_language()}", lambda: _for(country, variant), generation="contacts"
    )


def _for(country: str, variant: str) -> list[dict[str, str]]:
    rows = _all_rows()
    chosen = [r for r in rows if r["country"] == country] or [r for r in rows if not r["country"]]
    order = CHINESE_ORDER if country in CHINESE_COUNTRIES else OTHER_ORDER
    chosen = sorted(chosen, key=lambda r: (r["order"], order.index(r["kind"]) if r["kind"] in order else 99, r["pk"]))
    if variant:
        with override(variant):
            return [_channel(r, True) for r in chosen]
    return [_channel(r, False) for r in chosen]
