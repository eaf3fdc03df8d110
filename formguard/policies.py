"""The one accessor for form policies: ``get_policy(form_key)``.

Rows live in the database; each process keeps them, and the effective
policies built from them, in memory (``generations.cached_rows``). A save or
delete bumps a generation, so a switch flipped in the admin of one worker, or
from the command line, is seen by every worker within a second, without a
database read per request.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db import IntegrityError, transaction

from . import generations
from .conf import conf
from .content import ContentRules
from .models import SITE_WIDE, FormPolicy
from .policy_values import Closure as Closure
from .policy_values import PolicyValues

logger = logging.getLogger("formguard.policies")

# The bot traps and content rules, as the admin shows them.
TRAP_FIELDS = (
    "honeypot_action",
    "time_trap_action",
    "time_trap_min",
    "time_trap_max",
    "message_field",
    "email_field",
    "japanese_action",
    "japanese_foreign_action",
    "links_action",
    "max_links",
    "ng_words_action",
    "ng_words",
    "sender_action",
    "recipient_limit",
)
# The rate limit, the automatic bans and the shared-address mode, as the admin shows them.
RATE_LIMIT_FIELDS = (
    "rate_limit",
    "burst_count",
    "burst_window",
    "ban_duration",
    "ban_growth",
    "ban_max",
    "ban_lookback",
    "shared_ip_challenge",
    "shared_ip_ceiling",
)
# What happens under a flood, as the admin shows it.
FLOOD_FIELDS = ("flood_limit", "flood_escalation", "flood_captcha_factor", "flood_close", "flood_close_minutes")
# What is held for review, the owner-taught filter and 営業お断り, as the admin shows them.
REVIEW_FIELDS = (
    "hold_retention_days",
    "filter_enabled",
    "filter_min_labels",
    "filter_spam_action",
    "filter_sales_action",
    "filter_tag_address",
    "sales_notice",
    "sales_notice_text",
)
# Fields a form's row may leave empty to inherit from the site-wide row.
INHERITED_FIELDS = (
    "enabled",
    "monitor_only",
    *RATE_LIMIT_FIELDS,
    "ipv6_network_prefix",
    "ipv6_network_rate_limit",
    "ipv6_network_burst_count",
    "captcha_required",
    "captcha_min_score",
    "captcha_difficulty",
    "country_mode",
    "allowed_countries",
    "unknown_country",
    "private_country",
    *TRAP_FIELDS,
    *FLOOD_FIELDS,
    *REVIEW_FIELDS,
)
_FIELDS = (
    "form_key",
    "closed",
    "closed_until",
    "closed_message_ja",
    "closed_message_en",
    "closure_message_ja",
    "closure_message_en",
    *INHERITED_FIELDS,
)


@dataclass(frozen=True)
class Policy(PolicyValues):
    """The effective policy of one form (``PolicyValues``), and what is compiled from it."""

    @cached_property
    def content_rules(self) -> ContentRules:
        """The content rules, compiled once per policy (a policy is rebuilt when its row changes)."""
        return ContentRules.of(self)


def invalidate() -> None:
    """Make every process reload policies (within a second; this one at once)."""
    generations.changed("policies")


class _Table(dict[str, dict[str, Any]]):
    """Policy rows by form key, and the policies built from them (built once per load)."""

    def __init__(self, rows: dict[str, dict[str, Any]]):
        super().__init__(rows)
        self.built: dict[str, Policy] = {}


def _load_rows() -> _Table:
    return _Table({row["form_key"]: row for row in FormPolicy.objects.values(*_FIELDS)})


def _cached_rows() -> _Table:
    return generations.cached_rows("policies", _load_rows)


def _site_defaults(form_key: str) -> dict[str, Any]:
    if form_key != SITE_WIDE:
        return {}
    return {k: v for k, v in conf.DEFAULT_POLICY.items() if k in INHERITED_FIELDS}


def ensure_row(form_key: str) -> FormPolicy:
    """The policy row of ``form_key``, created (with defaults for ``*``) if missing."""
    try:
        with transaction.atomic():
            row, created = FormPolicy.objects.get_or_create(form_key=form_key, defaults=_site_defaults(form_key))
    except IntegrityError:  # created by a concurrent request
        return FormPolicy.objects.get(form_key=form_key)
    if created:
        invalidate()
    return row


def _closure(row: dict[str, Any], scope: str) -> Closure | None:
    if not row.get("closed"):
        return None
    # This closure's own message if it has one in that language, else the policy's standing text.
    return Closure(
        scope=scope,
        until=row.get("closed_until"),
        message_ja=row.get("closure_message_ja") or row.get("closed_message_ja") or "",
        message_en=row.get("closure_message_en") or row.get("closed_message_en") or "",
    )


def get_policy(form_key: str) -> Policy:
    """The effective policy of ``form_key``; creates its row on first use."""
    rows = _cached_rows()
    policy = rows.built.get(form_key)
    if policy is not None:
        return policy
    if SITE_WIDE not in rows or form_key not in rows:
        for key in {SITE_WIDE, form_key} - rows.keys():
            ensure_row(key)
        # Created here or, moments ago, by another process: reload either way.
        invalidate()
        rows = _cached_rows()
    policy = rows.built[form_key] = _build(form_key, rows)
    return policy


def _build(form_key: str, rows: _Table) -> Policy:
    site, own = rows[SITE_WIDE], rows[form_key]
    defaults = conf.DEFAULT_POLICY
    values = {}
    for field in INHERITED_FIELDS:
        value = own.get(field) if own is not site else None
        if value is None or value == "":
            value = site.get(field)
        if value is None or value == "":
            value = defaults[field]
        values[field] = value
    closures = tuple(c for c in (_closure(site, "site"), _closure(own, "form") if own is not site else None) if c)
    return Policy(form_key=form_key, closures=closures, **values)


def set_closed(
    form_key: str,
    closed: bool,
    *,
    until: datetime | None = None,
    message_ja: str = "",
    message_en: str = "",
    automatic: str = "",
) -> FormPolicy:
    """Close or reopen a form (or with ``*``, every form), as admin and CLI do.

    ``message_ja`` / ``message_en``: this closure's own words, each shown only
    to visitors of its language; every closure starts without any (the
    standing ``closed_message_*`` texts apply), so a message given once is not
    shown again by the next closure, automatic or not.
    ``automatic``: why formguard itself does it (the flood breaker); the
    action log and the admins' mail say so.
    """
    row = ensure_row(form_key)
    row._formguard_automatic = automatic
    row.closed = closed
    row.closed_until = until if closed else None
    row.closure_message_ja, row.closure_message_en = (message_ja, message_en) if closed else ("", "")
    row.save()
    # In the site's language and time zone, as the command line around it says it.
    from django.utils.translation import gettext as _

    if closed and until:
        logger.warning(
            _("formguard: form %(form)r closed until %(time)s"), {"form": form_key, "time": local_time(until)}
        )
    elif closed:
        logger.warning(_("formguard: form %(form)r closed until reopened by hand"), {"form": form_key})
    else:
        logger.warning(_("formguard: form %(form)r reopened"), {"form": form_key})
    return row


# Kana, CJK ideographs and the iteration mark: what a Japanese text has and an English one has not.
_JAPANESE = re.compile(r"[\u3041-\u30ff\u3400-\u9fff\uf900-\ufaff\u3005]")


def language_of(text: str) -> str:
    """``"ja"`` for a text with any kana or kanji in it, else ``"en"``: whom a closure's message is for."""
    return "ja" if _JAPANESE.search(text) else "en"


@dataclass(frozen=True)
class State:
    """A form's state as the admin, the dashboard and the command line all say it."""

    closed: bool
    text: str
    closure: Closure | None = None


def local_time(moment: datetime) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def state_of(row: FormPolicy, now: datetime) -> State:
    """What a visitor of this form gets now, in words: the one truth of every screen."""
    from django.utils.translation import gettext as _

    closure = get_policy(row.form_key).closure_at(now)
    if closure is not None:
        if closure.scope == "site" and not row.is_site_wide:
            return State(True, _("CLOSED by the site-wide switch"), closure)
        if closure.until:
            return State(True, _("CLOSED until %(time)s") % {"time": local_time(closure.until)}, closure)
        return State(True, _("CLOSED until reopened by hand"), closure)
    if row.closed and row.closed_until and row.closed_until <= now:
        return State(False, _("open (reopened by itself at %(time)s)") % {"time": local_time(row.closed_until)})
    return State(False, _("open"))


def site_value(field: str) -> Any:
    """The site-wide value of an inherited field: the ``*`` row's, else the default."""
    rows = _cached_rows()
    value = rows.get(SITE_WIDE, {}).get(field)
    if value is None or value == "":
        value = conf.DEFAULT_POLICY[field]
    return value


def forms_hiding_without_contacts() -> list[str]:
    """Form keys whose visitors from other countries get the hidden page with no contact on it.

    Reads the rows only (not the store): system checks call it too.
    """
    from .models import AlternativeContact, CountryMode

    if AlternativeContact.objects.exists():
        return []
    rows = {row["form_key"]: row["country_mode"] for row in FormPolicy.objects.values("form_key", "country_mode")}
    site = rows.get(SITE_WIDE) or conf.DEFAULT_POLICY["country_mode"]
    return sorted(key for key, mode in rows.items() if (mode or site) == CountryMode.HIDE)
