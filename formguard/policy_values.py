"""The values of a form's policy, as a request's steps read them: ``PolicyValues`` and ``Closure``.

Low in the house on purpose: the request's own type (``attempt.Attempt``)
carries one, and every step reads it, so it imports nothing of formguard's.
Where the values come from (rows, the site-wide row, the defaults) and what is
compiled from them is ``formguard.policies``, which re-exports ``Closure``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import get_language


@dataclass(frozen=True)
class Closure:
    """Why and until when a form is closed, and what it says (per language; empty: the standard apology)."""

    scope: str  # "form" or "site"
    until: datetime | None
    message_ja: str
    message_en: str

    def message(self) -> str:
        # Only in the visitor's language: a Japanese notice means nothing on the English page.
        return self.message_ja if (get_language() or "").startswith("ja") else self.message_en

    def retry_after(self, now: datetime) -> int | None:
        if self.until is None:
            return None
        return max(1, int((self.until - now).total_seconds() + 0.999))


@dataclass(frozen=True)
class PolicyValues:
    """The effective values of one form's policy: its row merged over the site-wide row.

    ``formguard.policies.Policy`` (what ``get_policy`` returns) adds what is
    compiled from them, the content rules.
    """

    form_key: str
    enabled: bool
    monitor_only: bool
    rate_limit: str
    burst_count: int
    burst_window: int
    ban_duration: int
    ban_growth: float
    ban_max: int
    ban_lookback: int = 30 * 24 * 3600
    ipv6_network_prefix: int = 48
    ipv6_network_rate_limit: str = "20/10m"
    ipv6_network_burst_count: int = 40
    captcha_required: bool = False
    captcha_min_score: float = 0.5
    captcha_difficulty: int = 2000
    shared_ip_challenge: bool = False
    shared_ip_ceiling: int = 60
    country_mode: str = "off"
    allowed_countries: str = "JP"
    unknown_country: str = "allow"
    private_country: str = "allow"
    honeypot_action: str = "refuse"
    time_trap_action: str = "refuse"
    time_trap_min: int = 3
    time_trap_max: int = 24 * 3600
    message_field: str = "message"
    email_field: str = "email"
    japanese_action: str = "off"
    links_action: str = "refuse"
    max_links: int = 2
    ng_words_action: str = "refuse"
    ng_words: str = ""
    sender_action: str = "refuse"
    recipient_limit: str = "3/d"
    flood_limit: str = "off"
    flood_escalation: int = 30 * 60
    flood_captcha_factor: int = 4
    flood_close: bool = False
    flood_close_minutes: int = 30
    japanese_foreign_action: str = "challenge"
    hold_retention_days: int = 30
    filter_enabled: bool = True
    filter_min_labels: int = 20
    filter_spam_action: str = "hold"
    filter_sales_action: str = "hold"
    filter_tag_address: str = ""
    sales_notice: bool = False
    sales_notice_text: str = ""
    closures: tuple[Closure, ...] = ()

    @property
    def burst_rate(self) -> str:
        return f"{self.burst_count}/{self.burst_window}s"

    @property
    def ipv6_network_burst_rate(self) -> str:
        return f"{self.ipv6_network_burst_count}/{self.burst_window}s"

    def closure_at(self, now: datetime) -> Closure | None:
        """The closure in force at ``now``; of two, the one that lasts longer."""
        active = [c for c in self.closures if c.until is None or now < c.until]
        if not active:
            return None
        return max(active, key=lambda c: (c.until is None, c.until or now))
