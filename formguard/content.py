"""Content rules: what a submission says, per form, as the owner set them in the admin.

The rules read the fields the policy names (``message_field``, ``email_field``)
and never fail on a form without them. Text is compared after NFKC (full-width
and half-width alike: ＳＥＯ is SEO, ｶﾀｶﾅ is カタカナ) and casefolding.
Everything a rule needs (the NG-word pattern) is compiled once per policy,
which is rebuilt only when a policy row changes (``Policy.content_rules``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from .models import Reason, TrapAction
from .traps import OWN_FIELDS, Finding

if TYPE_CHECKING:
    from .policies import Policy

# Shorter messages pass without kana: Japanese business requests written in
# kanji alone are short (資料請求 4, 見積依頼 4, 至急見積希望 6,
# 御社製品資料送付希望 10, 株式会社山田商事営業部御中資料請求 17 characters),
# while the shortest English or Chinese SEO pitches seen run past 20
# ("We can boost your SEO ranking." 25, "网站优化排名提升到百度首页价格优惠欢迎咨询" 21).
# tests/test_traps.py holds these examples, both kinds.
JAPANESE_MIN_CHARS = 20
# Hiragana and katakana (after NFKC, half-width katakana are full-width),
# without の: Chinese spam inserts の for 的 to pass "any hiragana" filters.
KANA = re.compile(r"[\u3041-\u306d\u306f-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe]")
URL = re.compile(r"(?:https?://|www\.)\S+")
# Forum and HTML link markup: no inquiry typed by a person contains these.
LINK_MARKUP = re.compile(r"\[url[=\]]|<a\s+href", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Addresses that are never disposable, whatever a future data package says:
# Chinese mainstream providers (many genuine customers write from qq.com),
# Gmail, and Japanese mobile carriers.
NEVER_DISPOSABLE = frozenset(
    {
        "qq.com",
        "163.com",
        "126.com",
        "gmail.com",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "softbank.ne.jp",
        "i.softbank.jp",
        "ymobile.ne.jp",
        "icloud.com",
        "yahoo.co.jp",
    }
)


# Fields no person types in.
SKIPPED_FIELDS = OWN_FIELDS | {"csrfmiddlewaretoken"}


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def recipient_key(address: str) -> str | None:
    """An email address as the per-recipient counter knows it: a keyed hash, never the address.

    Case, width and a ``+tag`` do not make another mailbox; the hash is keyed
    with SECRET_KEY, so a dump of the store does not reveal who was counted.
    """
    if len(address) > 320:
        return None
    return _recipient_key(address, settings.SECRET_KEY)


@lru_cache(maxsize=1024)
def _recipient_key(address: str, secret: str) -> str | None:
    # Kept in this process's memory only (a customer sends a form again, a
    # bot repeats itself): the store sees the hash alone.
    address = normalize(address).strip()
    if not EMAIL.match(address):
        return None
    local, domain = address.rsplit("@", 1)
    local = local.split("+", 1)[0]
    return salted_hmac("formguard.recipient", f"{local}@{domain}", secret=secret, algorithm="sha256").hexdigest()[:32]


def is_disposable(domain: str) -> bool:
    from disposable_email_domains import blocklist

    domain = domain.strip(".")
    if domain in NEVER_DISPOSABLE:
        return False
    parts = domain.split(".")
    # mail.mailinator.com is mailinator.com's.
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))


@dataclass(frozen=True)
class ContentRules:
    """One policy's content rules, ready to run."""

    message_field: str
    email_field: str
    japanese_action: str
    links_action: str
    max_links: int
    ng_words_action: str
    ng_words: re.Pattern[str] | None
    sender_action: str

    @classmethod
    def of(cls, policy: Policy) -> ContentRules:
        words = sorted({normalize(w).strip() for w in policy.ng_words.splitlines()} - {""})
        return cls(
            message_field=policy.message_field,
            email_field=policy.email_field,
            japanese_action=policy.japanese_action,
            links_action=policy.links_action,
            max_links=policy.max_links,
            ng_words_action=policy.ng_words_action,
            ng_words=re.compile("|".join(map(re.escape, words))) if words else None,
            sender_action=policy.sender_action,
        )

    def check(self, post: Mapping[str, str]) -> list[Finding]:
        message = normalize(post.get(self.message_field, "") or "")
        found = [
            self.check_japanese(message),
            self.check_links(message),
            self.check_ng_words(post),
            self.check_sender(message, post.get(self.email_field, "") or ""),
        ]
        return [f for f in found if f is not None]

    def check_japanese(self, message: str) -> Finding | None:
        if self.japanese_action == TrapAction.OFF:
            return None
        length = len("".join(message.split()))
        if length < JAPANESE_MIN_CHARS or KANA.search(message):
            return None
        return Finding(
            Reason.NOT_JAPANESE,
            self.japanese_action,
            _("Please write your message in Japanese."),
            {"chars": length, "field": self.message_field},
        )

    def check_links(self, message: str) -> Finding | None:
        if self.links_action == TrapAction.OFF or not message:
            return None
        markup = LINK_MARKUP.search(message)
        links = len(URL.findall(message))
        if markup is None and links <= self.max_links:
            return None
        return Finding(
            Reason.LINKS,
            self.links_action,
            _("Please write at most %(count)d web addresses, as plain text.") % {"count": self.max_links},
            {"links": links, "markup": bool(markup), "field": self.message_field},
        )

    def check_ng_words(self, post: Mapping[str, str]) -> Finding | None:
        if self.ng_words_action == TrapAction.OFF or self.ng_words is None:
            return None
        # Every field a person types in (the first 20), normalised at once.
        values = [v for k, v in list(post.items())[:20] if k not in SKIPPED_FIELDS and isinstance(v, str)]
        match = self.ng_words.search(normalize("\n".join(values)))
        if match is None:
            return None
        return Finding(
            Reason.NG_WORDS,
            self.ng_words_action,
            _("Your message contains words that this form does not accept."),
            {"word": match.group(0)},
        )

    def check_sender(self, message: str, typed: str) -> Finding | None:
        if self.sender_action == TrapAction.OFF:
            return None
        address = normalize(typed).strip()
        if not EMAIL.match(address):
            return None
        if address in message:
            return Finding(
                Reason.EMAIL_IN_MESSAGE,
                self.sender_action,
                _("Please write your email address in the email field only, not in the message."),
                {"field": self.message_field},
            )
        domain = address.rsplit("@", 1)[1]
        if is_disposable(domain):
            return Finding(
                Reason.DISPOSABLE_EMAIL,
                self.sender_action,
                _("Please use an email address where you can receive our reply (not a disposable one)."),
                {"domain": domain[:100], "field": self.email_field},
            )
        return None
