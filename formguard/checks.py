"""System checks, one fixed id per condition (listed in the README).

| id              | condition                                                        |
|-----------------|------------------------------------------------------------------|
| formguard.E001  | ``FormGuardMiddleware`` is not in ``MIDDLEWARE``                  |
| formguard.E002  | a ``TRUSTED_PROXIES`` entry is not an IP or CIDR                 |
| formguard.E003  | ``CACHE_FAILURE`` is neither "open" nor "closed"                 |
| formguard.E004  | the counter cache is ``DummyCache``: nothing would ever count    |
| formguard.E005  | ``DEFAULT_POLICY`` has an unreadable rate or an unknown key      |
| formguard.E006  | ``CLIENT_IP_RESOLVER`` cannot be imported                        |
| formguard.E007  | ``IPV6_PREFIX`` / ``IPV4_PREFIX`` out of range                   |
| formguard.W001  | (deploy) the counter cache is not shared between processes       |
| formguard.W006  | ``FormGuardMiddleware`` before ``LocaleMiddleware``               |
| formguard.W003  | the counter cache is Redis without socket timeouts              |
| formguard.W002  | the state store does not answer, or answers but cannot be written |
| formguard.W008  | little free space where the embedded store writes                |
| formguard.W009  | the flood limit is on but no captcha is configured               |
| formguard.E008  | ``CAPTCHA["PROVIDER"]`` is unknown or not a CaptchaProvider       |
| formguard.E009  | only one of the captcha site key and secret key is set           |
| formguard.E010  | ``CAPTCHA["ON_UNAVAILABLE"]`` is neither "open" nor "closed"     |
| formguard.W004  | (deploy) no captcha keys: the captcha check is off               |
| formguard.E011  | (deploy) published captcha test keys with ``DEBUG = False``       |
| formguard.E013  | the self-hosted captcha (ALTCHA) has no HMAC key                  |
| formguard.E014  | the self-hosted captcha's HMAC key is weak (< 32 characters)     |
| formguard.E012  | ``GEOIP_PATH`` is set but the file is missing or not an .mmdb    |
| formguard.W005  | (deploy) the GeoIP database is older than ``GEOIP_MAX_AGE_DAYS``  |
| formguard.W007  | a form is hidden from some countries but no alternative contact   |
|                 | exists: those visitors have no way to reach the business          |
| formguard.E008  | ``CAPTCHA["PROVIDER"]`` is unknown or not a CaptchaProvider       |
| formguard.E009  | only one of the captcha site key and secret key is set           |
| formguard.E010  | ``CAPTCHA["ON_UNAVAILABLE"]`` is neither "open" nor "closed"     |
| formguard.W004  | (deploy) no captcha keys: the captcha check is off               |
| formguard.E011  | (deploy) published captcha test keys with ``DEBUG = False``       |
| formguard.E015  | a ``ConsentField`` is declared pre-ticked (``initial=True``)      |
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import CAPTCHA_DEFAULTS, DEFAULT_POLICY, DEFAULTS, conf

MIDDLEWARE_PATH = "formguard.middleware.FormGuardMiddleware"

# Why each other cache backend cannot hold formguard's counters.
UNFIT_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache": "is private to each process and evicts entries, so with "
    "several workers or a flood from many addresses the limits do not hold",
    "django.core.cache.backends.filebased.FileBasedCache": "does not count atomically across processes",
    "django.core.cache.backends.db.DatabaseCache": "does not count atomically across processes",
    "django.core.cache.backends.dummy.DummyCache": "never counts",
    "django.core.cache.backends.memcached.PyMemcacheCache": "evicts live counters when it is full",
    "django.core.cache.backends.memcached.PyLibMCCache": "evicts live counters when it is full",
}


def _state_backend() -> str:
    alias = conf.CACHE
    return settings.CACHES.get(alias, {}).get("BACKEND", "") if alias else ""


LOCALE_MIDDLEWARE = "django.middleware.locale.LocaleMiddleware"


@register(Tags.security)
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list:
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE_PATH not in middleware:
        return [
            Error(
                "formguard's middleware is not installed, so no form is guarded.",
                hint=f"Add '{MIDDLEWARE_PATH}' to MIDDLEWARE.",
                id="formguard.E001",
            )
        ]
    if LOCALE_MIDDLEWARE in middleware and middleware.index(LOCALE_MIDDLEWARE) > middleware.index(MIDDLEWARE_PATH):
        return [
            Warning(
                "FormGuardMiddleware comes before LocaleMiddleware, so its pages (closed, refused, hidden "
                "form) are not in the visitor's language.",
                hint="Move it after LocaleMiddleware (and before CsrfViewMiddleware).",
                id="formguard.W006",
            )
        ]
    return []


@register(Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    errors: list = []
    user = getattr(settings, "FORMGUARD", None) or {}
    unknown = set(user) - set(DEFAULTS)
    if unknown:
        errors.append(
            Error(
                f"Unknown FORMGUARD settings: {', '.join(sorted(unknown))}.",
                hint="See the settings reference in formguard's README.",
                id="formguard.E005",
            )
        )
    try:
        _ = conf.TRUSTED_PROXIES
    except ValueError as exc:
        errors.append(
            Error(
                f"FORMGUARD['TRUSTED_PROXIES'] has an entry that is not an IP or CIDR: {exc}",
                id="formguard.E002",
            )
        )
    if conf.CACHE_FAILURE not in ("open", "closed"):
        errors.append(
            Error(
                f"FORMGUARD['CACHE_FAILURE'] is {conf.CACHE_FAILURE!r}.",
                hint="Use 'open' (let requests through while the cache is down) or 'closed' (refuse with 503).",
                id="formguard.E003",
            )
        )
    errors.extend(_check_state_alias())
    errors.extend(_check_default_policy())
    resolver = conf.CLIENT_IP_RESOLVER
    if resolver:
        try:
            import_string(resolver)
        except ImportError as exc:
            errors.append(Error(f"FORMGUARD['CLIENT_IP_RESOLVER'] cannot be imported: {exc}", id="formguard.E006"))
    if not 0 <= conf.IPV6_PREFIX <= 128 or not 0 <= conf.IPV4_PREFIX <= 32:
        errors.append(Error("FORMGUARD['IPV6_PREFIX'] must be 0–128 and IPV4_PREFIX 0–32.", id="formguard.E007"))
    return errors


def _check_state_alias() -> list:
    from .store import REDIS_BACKENDS

    alias = conf.CACHE
    if alias is None:
        return []
    backend = _state_backend()
    if backend in REDIS_BACKENDS:
        return []
    why = UNFIT_BACKENDS.get(backend, "is not one formguard can count in")
    if not backend:
        why = "is not in CACHES"
    return [
        Error(
            f"FORMGUARD['CACHE'] is {alias!r}, whose backend {backend or ''} {why}.".replace("  ", " "),
            hint=(
                "Leave FORMGUARD['CACHE'] unset for formguard's embedded store (every process of one machine "
                "shares it), or name a Redis cache (django.core.cache.backends.redis.RedisCache or "
                "django_redis.cache.RedisCache) for several machines."
            ),
            id="formguard.E004",
        )
    ]


def _check_default_policy() -> list:
    from .ratelimits import parse_rate

    user = (getattr(settings, "FORMGUARD", None) or {}).get("DEFAULT_POLICY", {})
    errors = []
    unknown = set(user) - set(DEFAULT_POLICY)
    if unknown:
        errors.append(
            Error(f"FORMGUARD['DEFAULT_POLICY'] has unknown keys: {', '.join(sorted(unknown))}.", id="formguard.E005")
        )
    try:
        parse_rate(conf.DEFAULT_POLICY["rate_limit"])
    except ValueError as exc:
        errors.append(Error(f"FORMGUARD['DEFAULT_POLICY']['rate_limit']: {exc}", id="formguard.E005"))
    from django.core.exceptions import ValidationError

    from .models import FormPolicy

    # Each value as the admin would take it (choices, validators): a fake
    # success for the Japanese rule, say, is refused here, not at first use.
    for key in sorted(set(user) & set(DEFAULT_POLICY) - {"rate_limit"}):
        try:
            FormPolicy._meta.get_field(key).clean(user[key], None)
        except ValidationError as exc:
            errors.append(Error(f"FORMGUARD['DEFAULT_POLICY'][{key!r}]: {' '.join(exc.messages)}", id="formguard.E005"))
    return errors


# The option names each Redis backend reads for its socket timeouts.
REDIS_TIMEOUT_OPTIONS = {
    "django.core.cache.backends.redis.RedisCache": ("socket_connect_timeout", "socket_timeout"),
    "django_redis.cache.RedisCache": ("SOCKET_CONNECT_TIMEOUT", "SOCKET_TIMEOUT"),
}


@register(Tags.caches)
def check_cache_timeouts(app_configs: Any = None, **kwargs: Any) -> list:
    backend = _state_backend()
    names = REDIS_TIMEOUT_OPTIONS.get(backend)
    if names is None:
        return []
    options = settings.CACHES[conf.CACHE].get("OPTIONS") or {}
    if all(name in options for name in names):
        return []
    example = ", ".join(f"{name!r}: 0.5" for name in names)
    return [
        Warning(
            f"The cache {conf.CACHE!r} is Redis without socket timeouts: if the Redis server stops "
            "answering, every guarded request waits for the operating system's TCP timeout.",
            hint=f"Add 'OPTIONS': {{{example}}} to CACHES[{conf.CACHE!r}].",
            id="formguard.W003",
        )
    ]


@register(Tags.caches, deploy=True)
def check_state_scope(app_configs: Any = None, **kwargs: Any) -> list:
    database = settings.DATABASES.get("default", {}).get("ENGINE", "")
    if conf.CACHE is not None or database.endswith("sqlite3"):
        return []
    return [
        Warning(
            "formguard keeps its counters and switches in its embedded store, which the processes of one "
            "machine share; this site's database suggests it may run on several machines, each of which "
            "would then count alone.",
            hint=(
                "On several machines set FORMGUARD['CACHE'] to the alias of a Redis cache. On one machine "
                "(any number of workers) this is right: silence it with "
                "SILENCED_SYSTEM_CHECKS = ['formguard.W001']."
            ),
            id="formguard.W001",
        )
    ]


@register(Tags.caches)
def check_store_answers(app_configs: Any = None, **kwargs: Any) -> list:
    if _check_state_alias():
        return []  # E004 says what is wrong
    from .store import get_store

    try:
        store = get_store()
        # A write, not a read: a read-only file or a full disk still answers reads.
        store.probe()
    except Exception as exc:  # StoreUnavailable, sqlite3 or Redis errors, a client that cannot be built
        return [
            Warning(
                f"formguard's state store does not answer or cannot be written ({type(exc).__name__}: {exc}); "
                f"until it can, requests follow FORMGUARD['CACHE_FAILURE'] = {conf.CACHE_FAILURE!r}.",
                hint=(
                    "For the embedded store, FORMGUARD['STATE_PATH'] must be a file on a local disk with free "
                    "space, which the site's user can write, in a directory it can write."
                ),
                id="formguard.W002",
            )
        ]
    space = store.space()
    if space is not None and space[0] < space[1]:
        free, wanted = space
        return [
            Warning(
                f"Only {free / 2**20:.1f} MiB are free where formguard's embedded store writes "
                f"({store.describe()}); it wants at least {wanted / 2**20:.0f} MiB. When the disk is full it "
                "cannot count, and requests follow FORMGUARD['CACHE_FAILURE'].",
                hint="Free some space on that disk, or move the store with FORMGUARD['STATE_PATH'].",
                id="formguard.W008",
            )
        ]
    return []


@register(Tags.security)
def check_captcha(app_configs: Any = None, **kwargs: Any) -> list:
    from . import captcha

    errors: list = []
    user = (getattr(settings, "FORMGUARD", None) or {}).get("CAPTCHA") or {}
    unknown = set(user) - set(CAPTCHA_DEFAULTS)
    if unknown:
        errors.append(Error(f"Unknown FORMGUARD['CAPTCHA'] keys: {', '.join(sorted(unknown))}.", id="formguard.E005"))
    config = conf.CAPTCHA
    provider_class = None
    try:
        provider_class = captcha.provider_class(config["PROVIDER"])
    except (ImportError, TypeError) as exc:
        errors.append(
            Error(
                f"FORMGUARD['CAPTCHA']['PROVIDER'] = {config['PROVIDER']!r} is not a captcha provider: {exc}",
                hint=f"Use one of {', '.join(sorted(captcha.PROVIDERS))}, or the dotted path of a CaptchaProvider.",
                id="formguard.E008",
            )
        )
    if provider_class is not None and not provider_class.needs_site_key:
        errors += _check_hmac_key(provider_class, config["SECRET_KEY"])
    elif bool(config["SITE_KEY"]) != bool(config["SECRET_KEY"]):
        errors.append(
            Error(
                "Only one of the captcha site key and secret key is set, so the captcha check is off.",
                hint="Set FORMGUARD['CAPTCHA']['SITE_KEY'] and the secret (FORMGUARD['CAPTCHA']['SECRET_KEY'] "
                "or the environment variable FORMGUARD_CAPTCHA_SECRET_KEY).",
                id="formguard.E009",
            )
        )
    if config["ON_UNAVAILABLE"] not in ("open", "closed"):
        errors.append(
            Error(
                f"FORMGUARD['CAPTCHA']['ON_UNAVAILABLE'] is {config['ON_UNAVAILABLE']!r}.",
                hint="Use 'open' or 'closed'.",
                id="formguard.E010",
            )
        )
    return errors


def _check_hmac_key(provider_class: type, key: str) -> list:
    from .captcha.altcha import MIN_KEY_LENGTH

    hint = (
        "Set FORMGUARD['CAPTCHA']['SECRET_KEY'] (or the environment variable FORMGUARD_CAPTCHA_SECRET_KEY) to "
        'a long random string, e.g. python -c "import secrets; print(secrets.token_hex(32))". Keep it out of '
        "the database and of version control."
    )
    if not key:
        return [
            Error(
                f"{provider_class.label} signs its challenges with an HMAC key, and none is set: the captcha "
                "check is off.",
                hint=hint,
                id="formguard.E013",
            )
        ]
    if len(key) < MIN_KEY_LENGTH or len(set(key)) < 8:
        return [
            Error(
                f"The HMAC key of {provider_class.label} is weak (fewer than {MIN_KEY_LENGTH} characters, or "
                "a few repeated): whoever guesses it can sign challenges that need no work.",
                hint=hint,
                id="formguard.E014",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_captcha_deploy(app_configs: Any = None, **kwargs: Any) -> list:
    from . import captcha

    try:
        provider = captcha.get_provider()
    except (ImportError, TypeError):
        return []  # formguard.E008 says so
    if provider is None:
        return [
            Warning(
                "No captcha keys are set: formguard's captcha check is off, whatever the form policies say.",
                hint="Set FORMGUARD['CAPTCHA'] = {'PROVIDER': ..., 'SITE_KEY': ..., 'SECRET_KEY': ...}.",
                id="formguard.W004",
            )
        ]
    if provider.uses_test_keys and not settings.DEBUG:
        return [
            Error(
                f"The captcha keys are {provider.label}'s published test keys, which let every robot through.",
                hint="Use the keys of your own site from the provider's console.",
                id="formguard.E011",
            )
        ]
    return []


@register(Tags.security)
def check_geoip(app_configs: Any = None, **kwargs: Any) -> list:
    from . import geo

    path = conf.GEOIP_PATH
    if not path:
        return []
    try:
        geo.read_file_info(path)
    except ValueError as exc:
        return [
            Error(
                f"FORMGUARD['GEOIP_PATH'] = {path!r} cannot be read ({exc}): every country is unknown (ZZ).",
                hint="Point it at a GeoLite2/GeoIP2 Country or City .mmdb file (see the README: geoipupdate).",
                id="formguard.E012",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_geoip_age(app_configs: Any = None, **kwargs: Any) -> list:
    import datetime as dt

    from . import geo

    path = conf.GEOIP_PATH
    if not path:
        return []
    try:
        info = geo.read_file_info(path)
    except ValueError:
        return []  # formguard.E012 says so
    age = dt.datetime.now(dt.UTC) - info.built
    if age.days > conf.GEOIP_MAX_AGE_DAYS:
        return [
            Warning(
                f"The GeoIP database {path} was built {age.days} days ago; addresses move between countries.",
                hint="Update it with geoipupdate (see the README) or raise FORMGUARD['GEOIP_MAX_AGE_DAYS'].",
                id="formguard.W005",
            )
        ]
    return []


@register(Tags.database)
def check_hidden_without_contacts(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """A database check: ``migrate`` and ``check --database default`` run it (it reads rows)."""
    from django.db import DEFAULT_DB_ALIAS, DatabaseError

    from . import policies

    # As Django's own database checks: only the databases asked for are touched.
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    try:
        hiding = policies.forms_hiding_without_contacts()
    except DatabaseError:  # tables not migrated yet
        return []
    if not hiding:
        return []
    return [
        Warning(
            f"Form(s) {', '.join(hiding)} hide the form from visitors of other countries, "
            "but there is no alternative contact: those visitors have no way to reach you.",
            hint="Add an alternative contact (telephone, email, WeChat...) in the admin, or set the country "
            "filter to “block” or “off”.",
            id="formguard.W007",
        )
    ]


@register(Tags.database)
def check_flood_without_captcha(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Under a flood formguard asks everyone for the captcha (escalation.py); without one it can
    only make the traps strict. A database check, as W007: the flood limit is a policy row."""
    from django.db import DEFAULT_DB_ALIAS, DatabaseError

    from .captcha import get_provider
    from .models import SITE_WIDE, FormPolicy

    if not databases or DEFAULT_DB_ALIAS not in databases or get_provider() is not None:
        return []
    try:
        rows = dict(FormPolicy.objects.values_list("form_key", "flood_limit"))
    except DatabaseError:  # tables not migrated yet
        return []
    site = rows.get(SITE_WIDE) or conf.DEFAULT_POLICY["flood_limit"]
    flooding = sorted(key for key, limit in rows.items() if (limit or site) != "off")
    if not flooding and site == "off":
        return []
    return [
        Warning(
            f"The flood breaker is on ({', '.join(flooding) or 'DEFAULT_POLICY'}) but no captcha is configured: "
            "under a flood formguard can only make the bot traps strict, and a flood that passes them reaches "
            "the staff.",
            hint="Set FORMGUARD['CAPTCHA'] (the self-hosted ALTCHA needs no outside service), or set the "
            "flood breaker to “off”.",
            id="formguard.W009",
        )
    ]


@register(Tags.compatibility)
def check_consent_fields(app_configs: Any = None, **kwargs: Any) -> list:
    """Consent is given by the visitor, never assumed (特定電子メール法; みなし承諾 is not consent).

    ``ConsentField`` notes where it was built with ``initial=True``. Forms
    are built when their modules are imported; the URLconf imports the views
    and their forms, so it is loaded first.
    """
    from django.urls import get_resolver

    from .forms import PRE_TICKED_CONSENT

    # Django's own URL checks report a broken URLconf.
    with contextlib.suppress(Exception):
        get_resolver().url_patterns  # noqa: B018 (imports the views and their forms)
    return [
        Error(
            f"A ConsentField is pre-ticked (initial=True) at {where}.",
            hint="Consent must be given by ticking the box: remove initial=True. formguard shows it unticked anyway.",
            id="formguard.E015",
        )
        for where in dict.fromkeys(PRE_TICKED_CONSENT)
    ]
