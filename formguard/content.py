"""Content rules: what a submission says, per form, as the owner set them in the admin.

The rules read the fields the policy names (``message_field``, ``email_field``)
and never fail on a form without them; NG words are looked for in every field a
person types in. Text is compared after NFKC (full-width and half-width alike:
ＳＥＯ is SEO, ｶﾀｶﾅ is カタカナ) and casefolding, with the invisible format
characters (Unicode category Cf: zero-width space and joiner, soft hyphen, word
joiner, bidi controls) removed, since they split a word for a filter and for
nobody who reads it. Everything a rule needs (the NG-word pattern) is compiled
once per policy, which is rebuilt only when a policy row changes
(``Policy.content_rules``). ``tests/corpus/`` measures the rules on both sides:
customers' inquiries, sales pitches and spam (``python -m tests.corpus.measure``).
What language a message is in, and what its sender reads, is ``languages.py``.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, fields
from functools import cache, lru_cache
from typing import Protocol

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .languages import KANA_MIN_SHARE, UNKNOWN_VISITOR, Visitor, kana_share, written_in_japanese_kanji
from .models import Reason, TrapAction
from .traps import OWN_FIELDS, Finding

# Shorter messages pass without kana: Japanese business requests written in
# kanji alone are short (資料請求 4, 見積依頼 4, 至急見積希望 6,
# 御社製品資料送付希望 10, 株式会社山田商事営業部御中資料請求 17 characters),
# while the shortest English or Chinese SEO pitches seen run past 20
# ("We can boost your SEO ranking." 25, "网站优化排名提升到百度首页价格优惠欢迎咨询" 21).
# tests/test_traps.py holds these examples, both kinds.
JAPANESE_MIN_CHARS = 20
# Where a link starts, wherever it is: links glued together with 、 or , or
# between Japanese words (…/とhttp://…) are each counted. "www." right after
# a scheme's // is the same link.
URL = re.compile(r"https?://|(?<!//)www\.")
# Forum and HTML link markup: no inquiry typed by a person contains these.
# (Attributes may come before href: <a target="_blank" href=…>.)
LINK_MARKUP = re.compile(r"\[url[=\]]|<a\s[^<>]{0,500}?\bhref\b", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A link's host (after NFKC and casefolding), without a leading "www.".
LINK_HOST = re.compile(r"(?:https?://|(?<!//)www\.)(?:www\.)?([\w.-]*)")
# A line of a signature that holds an address: a short label ("e-mail:",
# "mail:", "邮箱:", "メール:") and the address, nothing else. After NFKC, a
# full-width colon is ":".
CONTACT_LINE_MAX_CHARS = 12
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


GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

# Fields no person types in (the pipeline adds the captcha's and the
# confirm step's tokens: random text can spell a short NG word).
SKIPPED_FIELDS = OWN_FIELDS | {"csrfmiddlewaretoken"}


@cache
def _format_characters() -> re.Pattern[str]:
    """Every Unicode format character (category Cf), as one character class of ranges.

    (A class of ranges: over a 2.5 MB body, the most Django reads, it takes
    a quarter of a second, half of what ``str.translate`` or a class of
    single characters take.)
    """
    ranges: list[list[int]] = []
    for code in (*range(0x20000), *range(0xE0000, 0xE1000)):  # none elsewhere
        if code > sys.maxunicode or unicodedata.category(chr(code)) != "Cf":
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]")


def normalize(text: str) -> str:
    """Text as the rules compare it: NFKC, casefolded, without format characters."""
    return _format_characters().sub("", unicodedata.normalize("NFKC", text).casefold())


def _is_word_character(char: str) -> bool:
    # Latin letters and digits (after NFKC), which spaces separate into words;
    # kana and kanji are written without spaces.
    return char.isascii() and char.isalnum()


def _ng_pattern(words: Collection[str]) -> re.Pattern[str] | None:
    """One pattern for the NG words, each allowed to be spread over whitespace (S E O, フォーム　営業)."""
    if not words:
        return None
    return re.compile("|".join(r"\s*".join(map(re.escape, word)) for word in sorted(words, key=len, reverse=True)))


def find_ng_word(pattern: re.Pattern[str], text: str) -> str | None:
    """The first NG word in ``text`` (normalised), as listed; None if none.

    A word spread over whitespace counts only as whole words where it is
    written in Latin letters: "S E O" is "seo", but "rose oil" or "use old",
    joined, are not (the join would be a new word that nobody wrote).
    """
    position = 0
    while (match := pattern.search(text, position)) is not None:
        found = match.group(0)
        word = "".join(found.split())
        if word == found:
            return word
        start, end = match.span()
        if not (
            (_is_word_character(found[0]) and start > 0 and _is_word_character(text[start - 1]))
            or (_is_word_character(found[-1]) and end < len(text) and _is_word_character(text[end]))
        ):
            return word
        position = start + 1
    return None


def recipient_key(address: str) -> str | None:
    """An email address as the per-recipient counter knows it: a keyed hash, never the address.

    Case, width, a ``+tag`` and Gmail's dots (and googlemail.com) do not make
    another mailbox; the hash is keyed
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
    # A +tag reaches the same mailbox at Gmail, iCloud, Outlook, Yahoo and
    # most others (a provider without tags is merely counted a little
    # strictly); Gmail also ignores dots, and googlemail.com is gmail.com.
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return salted_hmac("formguard.recipient", f"{local}@{domain}", secret=secret, algorithm="sha256").hexdigest()[:32]


def is_disposable(domain: str) -> bool:
    from disposable_email_domains import blocklist

    domain = domain.strip(".")
    if domain in NEVER_DISPOSABLE:
        return False
    parts = domain.split(".")
    # mail.mailinator.com is mailinator.com's.
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))


class ContentSettings(Protocol):
    """What the rules read of a policy: ``policies.Policy`` is one, and builds its rules here.

    The owner's NG words as typed, and every other field of ``ContentRules`` by the same
    name. A protocol rather than the ``Policy`` class, so that the policy can hold its
    compiled rules without the two modules importing each other.
    """

    ng_words: str


@dataclass(frozen=True)
class ContentRules:
    """One policy's content rules, ready to run."""

    message_field: str
    email_field: str
    japanese_action: str
    japanese_foreign_action: str
    links_action: str
    max_links: int
    ng_words_action: str
    ng_words: re.Pattern[str] | None
    sender_action: str

    @classmethod
    def of(cls, policy: ContentSettings) -> ContentRules:
        # Whitespace inside a word is ignored, as it is in the text (_ng_pattern).
        words = {"".join(normalize(w).split()) for w in policy.ng_words.splitlines()} - {""}
        copied = {f.name: getattr(policy, f.name) for f in fields(cls) if f.name != "ng_words"}
        return cls(ng_words=_ng_pattern(words), **copied)

    def check(
        self, post: Mapping[str, str], ignored: Collection[str] = (), visitor: Visitor | None = None
    ) -> list[Finding]:
        """What the rules find in ``post``; ``ignored``: more fields no person types in (tokens).

        ``visitor``: who sent it (``Visitor.of(request)``); without it, the
        page's language is the active one and the browser's are unknown.
        """
        visitor = visitor or Visitor(get_language() or "")
        message = normalize(post.get(self.message_field, "") or "")
        typed = post.get(self.email_field, "") or ""
        found = [
            self.check_japanese(message, visitor),
            self.check_links(message, visitor, typed),
            self.check_ng_words(post, ignored),
            self.check_sender(message, typed),
        ]
        return [f for f in found if f is not None]

    def check_japanese(self, message: str, visitor: Visitor = UNKNOWN_VISITOR) -> Finding | None:
        # The rule is for pitches in other languages sent to a Japanese page
        # by senders whose browser asks for Japanese alone or names nothing;
        # a visitor on the English page, or whose browser asks for the
        # language the message is written in, is not asked to write
        # Japanese: the policy's japanese_foreign_action (the captcha by
        # default) instead of the rule's own action.
        if self.japanese_action == TrapAction.OFF:
            return None
        length = len("".join(message.split()))
        if length < JAPANESE_MIN_CHARS:
            return None
        share = kana_share(message)
        if share >= KANA_MIN_SHARE or written_in_japanese_kanji(message):
            return None
        foreign = not visitor.reads_japanese or visitor.asks_for_language_of(message)
        action = self.japanese_foreign_action if foreign else self.japanese_action
        if action == TrapAction.OFF:
            return None
        return Finding(
            Reason.NOT_JAPANESE,
            action,
            _("Please write your message in Japanese."),
            {
                "chars": length,
                "kana_percent": round(share * 100, 1),
                "field": self.message_field,
                "foreign": foreign,
            },
        )

    def check_links(self, message: str, visitor: Visitor = UNKNOWN_VISITOR, typed: str = "") -> Finding | None:
        if self.links_action == TrapAction.OFF or not message:
            return None
        markup = LINK_MARKUP.search(message)
        links = len(URL.findall(message))
        # Links to the site's own pages (a customer naming three products)
        # and to the sender's own site (a signature) count once each: a
        # link spammer's links are to other sites.
        address = normalize(typed).strip()
        own = {visitor.host, address.rsplit("@", 1)[1] if EMAIL.match(address) else ""} - {""}
        hosts = [host.strip(".") for host in LINK_HOST.findall(message)]
        counted = sum(1 for host in hosts if host not in own) + len(own.intersection(hosts))
        if markup is None and counted <= self.max_links:
            return None
        return Finding(
            Reason.LINKS,
            self.links_action,
            _("Please write at most %(count)d web addresses, as plain text.") % {"count": self.max_links},
            {"links": links, "counted": counted, "markup": bool(markup), "field": self.message_field},
        )

    def check_ng_words(self, post: Mapping[str, str], ignored: Collection[str] = ()) -> Finding | None:
        if self.ng_words_action == TrapAction.OFF or self.ng_words is None:
            return None
        # Every value of every field a person types in, however many (Django
        # bounds a POST: DATA_UPLOAD_MAX_NUMBER_FIELDS, DATA_UPLOAD_MAX_MEMORY_SIZE),
        # normalised at once; NUL between fields, so that no word spans two.
        word = find_ng_word(self.ng_words, normalize("\x00".join(_typed_values(post, ignored))))
        if word is None:
            return None
        return Finding(
            Reason.NG_WORDS,
            self.ng_words_action,
            _("Your message contains words that this form does not accept."),
            {"word": word},
        )

    def check_sender(self, message: str, typed: str) -> Finding | None:
        if self.sender_action == TrapAction.OFF:
            return None
        address = normalize(typed).strip()
        if not EMAIL.match(address):
            return None
        if _in_running_text(message, address):
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


def _in_running_text(message: str, address: str) -> bool:
    """Whether ``address`` is in a sentence of ``message``, not on a signature's contact line.

    What the sender rule is for: a template that writes its reply address
    into the text ("contact me at …", "ご連絡は…まで") whatever the form asks.
    A customer's signature ("E-mail: …", "邮箱：…", the address on a line of
    its own) is how people close a business letter, and is left alone.
    """
    for line in message.splitlines():
        if address in line:
            label = "".join(line.replace(address, " ").split()).strip(":-<>()[]（）【】「」")
            if len(label) > CONTACT_LINE_MAX_CHARS:
                return True
    return False


def _typed_values(post: Mapping[str, str], ignored: Collection[str]) -> Iterator[str]:
    # A QueryDict holds every value sent under a name (lists()); a plain
    # mapping one.
    pairs = post.lists() if hasattr(post, "lists") else ((k, [v]) for k, v in post.items())
    for name, values in pairs:
        if name in SKIPPED_FIELDS or name in ignored:
            continue
        yield from (v for v in values if isinstance(v, str))
