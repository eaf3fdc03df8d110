"""Why a request was refused or let through on the record: ``Reason``, and the machine
form of automatic bans' and closures' reasons (shown translated by ``describe_reason``)."""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..durations import format_duration


class Reason(models.TextChoices):
    """Why a request was refused (or, in monitor-only mode, would have been)."""

    CLOSED = "closed", _("form closed")
    BLACKLISTED = "blacklisted", _("blacklisted")
    AUTO_BANNED = "auto_banned", _("auto-banned")
    COUNTRY = "country", _("country")
    RATE_LIMITED = "rate_limited", _("rate limited")
    BURST = "burst", _("burst (banned)")
    HONEYPOT = "honeypot", _("honeypot field filled")
    TOO_FAST = "too_fast", _("submitted too fast")
    FORM_EXPIRED = "form_expired", _("form open too long")
    BAD_TOKEN = "bad_token", _("time token missing or tampered")
    NOT_JAPANESE = "not_japanese", _("no Japanese in the message")
    LINKS = "links", _("too many links")
    NG_WORDS = "ng_words", _("NG word")
    EMAIL_IN_MESSAGE = "email_in_message", _("sender address in the message")
    DISPOSABLE_EMAIL = "disposable_email", _("disposable email address")
    RECIPIENT_LIMIT = "recipient_limit", _("too many messages for one address")
    FLOOD = "flood", _("flood breaker")
    CAPTCHA = "captcha", _("captcha failed")
    CAPTCHA_UNAVAILABLE = "captcha_down", _("captcha service unavailable")
    SHARED_IP = "shared_ip", _("rate limit: captcha asked instead (shared address)")
    CACHE_UNAVAILABLE = "cache_down", _("cache unavailable")
    FILTER = "filter", _("owner-taught filter")


# Refusals that say nothing about the sender being a spammer: a closed form
# refuses everyone, a country rule and an unreachable captcha or cache refuse
# people too.
NOT_SPAM_REASONS = frozenset({Reason.CLOSED, Reason.COUNTRY, Reason.CAPTCHA_UNAVAILABLE, Reason.CACHE_UNAVAILABLE})

# What the report for the spam consultation center holds: submissions with
# evidence of spam, and nothing else (docs/incidents.md). A filled honeypot, an
# NG word, link spam (too many links to other sites, [url=] or <a href>
# markup), a burst of POSTs and the automatic ban it earned; a submission the
# owner labelled spam (``Submission.label``) is the last kind. Not "sent too
# fast", a missing or bad time token, or a rate limit alone: a person who
# types fast, reloads an old page or sends a quote request twice meets them.
# An incident counts when its reason is here or when one of the other
# findings on it ("also" in its detail) is.
SPAM_EVIDENCE = frozenset({Reason.HONEYPOT, Reason.NG_WORDS, Reason.LINKS, Reason.BURST, Reason.AUTO_BANNED})

# Automatic bans write their reason in this one machine form (stable, and
# readable in logs and exports); the admin and reports show it translated.
BURST_REASON = "burst: {posts} POSTs within {window}s"
BURST_REASON_RE = re.compile(r"^burst: (\d+) POSTs within (\d+)s$")
# The flood breaker's closures, likewise.
FLOOD_REASON = "flood breaker: {posts} POSTs over {limit}"
FLOOD_REASON_RE = re.compile(r"^flood breaker: (\d+) POSTs over (\S+)$")


def describe_reason(text: str) -> str:
    """A rule's reason for a person to read: machine-written ones translated."""
    match = BURST_REASON_RE.match(text or "")
    if match:
        return _("%(posts)s sends within %(window)s") % {
            "posts": match.group(1),
            "window": format_duration(int(match.group(2))),
        }
    match = FLOOD_REASON_RE.match(text or "")
    if match:
        return _("flood: %(posts)s sends, over the limit of %(limit)s") % {
            "posts": match.group(1),
            "limit": match.group(2),
        }
    return text
