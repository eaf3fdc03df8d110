"""formguard's static configuration, read from ``settings.FORMGUARD`` on access.

Each property reads Django's settings the first time it is used and keeps
the value: a request reads dozens of them, and settings do not change while
a site runs. Django's ``setting_changed`` signal (sent by
``override_settings``) drops the kept values (``receivers.py``), so tests
still just work, and nothing is computed at import time. Runtime switches
(closing a form, thresholds, block rules) are not here: they are database
rows edited in the admin (see ``models.py``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from functools import cached_property, lru_cache
from typing import Any, Generic, TypeVar, overload

from django.conf import settings

from .addresses import parse_network

# Defaults for the site-wide policy row, used when that row is first created.
# After that the admin is the place to change them.
DEFAULT_POLICY: dict[str, Any] = {
    "enabled": True,
    "monitor_only": False,
    "rate_limit": "5/10m",
    "burst_count": 10,
    "burst_window": 60,
    "ban_duration": 3600,
    "ban_growth": 4.0,
    "ban_max": 30 * 24 * 3600,
    "ban_lookback": 30 * 24 * 3600,
    # IPv6 clients are also counted by this wider network, with its own limits.
    "ipv6_network_prefix": 48,
    "ipv6_network_rate_limit": "20/10m",
    "ipv6_network_burst_count": 40,
    "captcha_required": True,
    "captcha_min_score": 0.5,
    # The self-hosted proof of work's largest counter (ALTCHA "max number"):
    # about a second on a mid-range phone (README, "Self-hosted captcha").
    "captcha_difficulty": 2000,
    "shared_ip_challenge": False,
    "shared_ip_ceiling": 60,
    "country_mode": "off",
    "allowed_countries": "JP",
    "unknown_country": "allow",
    "private_country": "allow",
    # Bot traps and content rules (README "Bot traps and content rules").
    "honeypot_action": "refuse",
    "time_trap_action": "refuse",
    "time_trap_min": 3,
    "time_trap_max": 24 * 3600,
    "message_field": "message",
    "email_field": "email",
    "japanese_action": "off",
    "links_action": "refuse",
    "max_links": 2,
    "ng_words_action": "refuse",
    "ng_words": "",
    "sender_action": "refuse",
    "recipient_limit": "3/d",
    "flood_limit": "off",
    # Under a flood (README "Under a flood"): the captcha for everyone for
    # 30 minutes, ALTCHA's work four times; closing only if the owner opts in.
    "flood_escalation": 30 * 60,
    "flood_captcha_factor": 4,
    "flood_close": False,
    "flood_close_minutes": 30,
    # A message without Japanese from a visitor who does not read it: the
    # captcha, not a refusal (docs/traps.md).
    "japanese_foreign_action": "challenge",
    # Held for review (docs/review.md) and the owner-taught filter (docs/filter.md).
    "hold_retention_days": 30,
    "filter_enabled": True,
    "filter_min_labels": 20,
    "filter_spam_action": "hold",
    "filter_sales_action": "hold",
    "filter_tag_address": "",
    "sales_notice": False,
    "sales_notice_text": "",
}

CAPTCHA_DEFAULTS: dict[str, Any] = {
    # False: formguard guards nothing (every request goes to the view). For
    # a site's own test suite: formguard.testing.disabled().
    "ENABLED": True,
    # Where formguard keeps counters, bans' generations and pending incident
    # counts. None: the embedded store, a SQLite file shared by every process
    # of this machine (STATE_PATH). The alias of a Redis cache in CACHES
    # (Django's RedisCache or django-redis): Redis, for several machines.
    "CACHE": None,
    # The embedded store's file. None: a file named after the settings module
    # and database, in a private directory under the system's temp directory.
    "STATE_PATH": None,
    # recaptcha_v2, recaptcha_v2_invisible, recaptcha_v3, hcaptcha, turnstile,
    # or the dotted path of a CaptchaProvider subclass.
    "PROVIDER": "recaptcha_v2",
    "SITE_KEY": "",
    # Also read from the environment variable FORMGUARD_CAPTCHA_SECRET_KEY.
    # Never stored in the database, never logged.
    "SECRET_KEY": "",
    # Where the browser loads the widget script from. For reCAPTCHA,
    # "https://www.recaptcha.net" serves visitors in mainland China, where
    # www.google.com is blocked.
    "SCRIPT_HOST": None,
    # The provider's verify endpoint (tests and self-hosted proxies point it elsewhere).
    "VERIFY_URL": None,
    # Seconds the whole verification may take, retries included.
    "TIMEOUT": 3.0,
    # When the provider cannot be reached (timeout, connection refused, DNS):
    # "open" lets the POST through and records an incident; "closed" shows the
    # form again asking to retry. HTTP errors, quota (429) and a bad secret
    # always fail closed.
    "ON_UNAVAILABLE": "open",
    # Send the visitor's IP to the provider (a disclosure to a third party
    # under Japan's APPI; switch off if your privacy notice does not cover it).
    "SEND_REMOTE_IP": True,
    # Hostnames a token must have been issued on; None: the request's host.
    "HOSTNAMES": None,
    # Oldest token accepted, in seconds (from the provider's challenge_ts).
    "MAX_TOKEN_AGE": 300,
}

DEFAULTS: dict[str, Any] = {
    # False: formguard guards nothing (every request goes to the view). For
    # a site's own test suite: formguard.testing.disabled().
    "ENABLED": True,
    # Where formguard keeps counters, bans' generations and pending incident
    # counts. None: the embedded store, a SQLite file shared by every process
    # of this machine (STATE_PATH). The alias of a Redis cache in CACHES
    # (Django's RedisCache or django-redis): Redis, for several machines.
    "CACHE": None,
    # The embedded store's file. None: a file named after the settings module
    # and database, in a private directory under the system's temp directory.
    "STATE_PATH": None,
    # Addresses (IPs or CIDRs) of the reverse proxies in front of Django.
    # Forwarding headers are ignored unless the peer is one of these.
    "TRUSTED_PROXIES": [],
    # The header a trusted proxy puts the client address in.
    "CLIENT_IP_HEADER": "X-Forwarded-For",
    # Dotted path of a callable(request) -> ipaddress address; replaces
    # formguard.ip.client_ip everywhere when set.
    "CLIENT_IP_RESOLVER": None,
    # Counters and bans group IPv6 clients by this prefix (one host owns a /64).
    "IPV6_PREFIX": 64,
    "IPV4_PREFIX": 32,
    # What the counting checks do when the cache raises: "open" lets the
    # request go on (block rules still apply from the database), "closed"
    # refuses it with 503.
    "CACHE_FAILURE": "open",
    # Prefix of every cache key formguard writes.
    "KEY_PREFIX": "formguard",
    # Values of the site-wide policy row when it is first created.
    "DEFAULT_POLICY": {},
    # Incidents of one IP (or IPv6 prefix), form and reason within this many
    # seconds are one row with a count.
    "INCIDENT_WINDOW": 3600,
    # At most one count update per incident row within this many seconds.
    "INCIDENT_FLUSH_INTERVAL": 30,
    # The template formguard's visitor pages extend: the site's own base
    # (its header, shop name, link back), which must have a block named
    # "content" (and may have "title"). It is rendered without a request or
    # context processors, once per page (see refusal.py).
    "BASE_TEMPLATE": "formguard/base.html",
    # Two-step forms: how long the confirmation page's "verified" token lets
    # the send step skip the captcha and the count (formguard/confirm.py).
    "VERIFIED_MAX_AGE": 1800,
    # Templates of the pages formguard answers with.
    "CLOSED_TEMPLATE": "formguard/closed.html",
    "BLOCKED_TEMPLATE": "formguard/blocked.html",
    "REFUSED_TEMPLATE": "formguard/refused.html",
    # The label links in the staff's mail (formguard.mail.label_links) work
    # for this many days.
    "LABEL_LINK_DAYS": 14,
    # Captcha provider and keys: see CAPTCHA_DEFAULTS.
    "CAPTCHA": {},
    # A MaxMind-format .mmdb (GeoLite2/GeoIP2 Country or City) for the
    # country filter. None: every country is unknown (ZZ).
    "GEOIP_PATH": None,
    # A database older than this many days is reported by check --deploy.
    "GEOIP_MAX_AGE_DAYS": 90,
    "HIDDEN_TEMPLATE": "formguard/hidden.html",
    # Incidents keep a sample of what was submitted: at most this many
    # characters per field (0: no sample). Password-, token- and card-like
    # fields are never kept.
    "INCIDENT_SAMPLE_CHARS": 500,
    # `manage.py formguard purge` without --older-than removes incidents
    # last seen longer ago than this.
    "INCIDENT_RETENTION_DAYS": 90,
    # Mail ADMINS when an IP is banned automatically or a form is closed, at
    # most once per NOTIFY_INTERVAL seconds (later events are summed up in
    # the next mail).
    "NOTIFY_ADMINS": False,
    "NOTIFY_INTERVAL": 900,
    # Reports: the site's name (default: the request's host or "this site"),
    # the address the .eml is addressed to, and the submitted fields that are
    # personal data, left out unless asked for.
    "REPORT_SITE_NAME": "",
    "REPORT_RECIPIENT": "",
    # Reply hints: the domain the shop's replies are sent from, which carrier
    # mail users are asked to allow. None: DEFAULT_FROM_EMAIL's domain.
    "REPLY_FROM_DOMAIN": None,
    "REPORT_PERSONAL_FIELDS": [
        "name",
        "email",
        "mail",
        "phone",
        "tel",
        "address",
        "company",
        "氏名",
        "名前",
        "電話",
        "住所",
    ],
}

T = TypeVar("T")


@lru_cache(maxsize=64)
def _parse_networks(values: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    # A dual-stack server reports an IPv4 proxy as ::ffff:10.0.0.2, and the
    # peer is unwrapped to IPv4 before it is compared: a mapped entry must be
    # unwrapped the same way (parse_network), or it never matches. Strict
    # parsing first, so that an entry with a port is still an error (E002).
    return tuple(parse_network(str(ipaddress.ip_network(v.strip(), strict=False))) for v in values)


class Setting(Generic[T]):
    """One of ``FormGuardSettings``' plain values: read, converted, then kept like a cached_property.

    ``reset()`` forgets it with the others (it lives in the instance's ``__dict__``).
    """

    def __init__(self, convert: Callable[[Any], T] = lambda value: value) -> None:
        self.convert = convert

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, instance: FormGuardSettings, owner: type) -> T: ...
    def __get__(self, instance: FormGuardSettings | None, owner: type) -> T | Setting[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.convert(instance._get(self.name))
        return value


class FormGuardSettings:
    """Typed access to ``settings.FORMGUARD`` merged over ``DEFAULTS``, kept once read."""

    def _get(self, name: str) -> Any:
        user = getattr(settings, "FORMGUARD", None) or {}
        return user.get(name, DEFAULTS[name])

    def reset(self) -> None:
        """Forget every value read (settings changed)."""
        self.__dict__.clear()

    ENABLED = Setting(bool)

    @cached_property
    def CACHE(self) -> str | None:
        return self._get("CACHE") or None

    @cached_property
    def STATE_PATH(self) -> str | None:
        path = self._get("STATE_PATH")
        return str(path) if path else None

    @cached_property
    def TRUSTED_PROXIES(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        value = self._get("TRUSTED_PROXIES")
        if isinstance(value, str):
            value = [value]
        return _parse_networks(tuple(value))

    CLIENT_IP_HEADER: Setting[str] = Setting()

    @cached_property
    def CLIENT_IP_META_KEY(self) -> str:
        return "HTTP_" + self.CLIENT_IP_HEADER.upper().replace("-", "_")

    @cached_property
    def CLIENT_IP_RESOLVER(self) -> str | None:
        return self._get("CLIENT_IP_RESOLVER")

    IPV6_PREFIX = Setting(int)
    IPV4_PREFIX = Setting(int)
    CACHE_FAILURE: Setting[str] = Setting()
    KEY_PREFIX: Setting[str] = Setting()

    @cached_property
    def DEFAULT_POLICY(self) -> dict[str, Any]:
        return {**DEFAULT_POLICY, **self._get("DEFAULT_POLICY")}

    INCIDENT_WINDOW = Setting(int)
    INCIDENT_FLUSH_INTERVAL = Setting(int)
    VERIFIED_MAX_AGE = Setting(int)
    CLOSED_TEMPLATE: Setting[str] = Setting()
    BASE_TEMPLATE: Setting[str] = Setting()
    BLOCKED_TEMPLATE: Setting[str] = Setting()
    REFUSED_TEMPLATE: Setting[str] = Setting()
    LABEL_LINK_DAYS = Setting(int)

    @cached_property
    def GEOIP_PATH(self) -> str | None:
        path = self._get("GEOIP_PATH")
        return str(path) if path else None

    GEOIP_MAX_AGE_DAYS = Setting(int)
    HIDDEN_TEMPLATE: Setting[str] = Setting()
    INCIDENT_SAMPLE_CHARS = Setting(int)
    INCIDENT_RETENTION_DAYS = Setting(int)
    NOTIFY_ADMINS = Setting(bool)
    NOTIFY_INTERVAL = Setting(int)
    REPORT_SITE_NAME: Setting[str] = Setting()
    REPORT_RECIPIENT: Setting[str] = Setting()

    @cached_property
    def REPORT_PERSONAL_FIELDS(self) -> list[str]:
        return list(self._get("REPORT_PERSONAL_FIELDS"))

    @cached_property
    def REPLY_FROM_DOMAIN(self) -> str:
        return (self._get("REPLY_FROM_DOMAIN") or "").strip().lstrip("@").lower()

    @cached_property
    def CAPTCHA(self) -> dict[str, Any]:
        merged = {**CAPTCHA_DEFAULTS, **(self._get("CAPTCHA") or {})}
        if not merged["SECRET_KEY"]:
            merged["SECRET_KEY"] = os.environ.get("FORMGUARD_CAPTCHA_SECRET_KEY", "")
        return merged


conf = FormGuardSettings()
