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
| formguard.W002  | ``RATELIMIT_ENABLE = False`` switches formguard's counters off   |
| formguard.W003  | the counter cache is Redis without socket timeouts              |
| formguard.E008  | ``CAPTCHA["PROVIDER"]`` is unknown or not a CaptchaProvider       |
| formguard.E009  | only one of the captcha site key and secret key is set           |
| formguard.E010  | ``CAPTCHA["ON_UNAVAILABLE"]`` is neither "open" nor "closed"     |
| formguard.W004  | (deploy) no captcha keys: the captcha check is off               |
| formguard.E011  | (deploy) published captcha test keys with ``DEBUG = False``       |
| formguard.E012  | ``GEOIP_PATH`` is set but the file is missing or not an .mmdb    |
| formguard.W005  | (deploy) the GeoIP database is older than ``GEOIP_MAX_AGE_DAYS``  |
| formguard.E008  | ``CAPTCHA["PROVIDER"]`` is unknown or not a CaptchaProvider       |
| formguard.E009  | only one of the captcha site key and secret key is set           |
| formguard.E010  | ``CAPTCHA["ON_UNAVAILABLE"]`` is neither "open" nor "closed"     |
| formguard.W004  | (deploy) no captcha keys: the captcha check is off               |
| formguard.E011  | (deploy) published captcha test keys with ``DEBUG = False``       |
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import CAPTCHA_DEFAULTS, DEFAULT_POLICY, DEFAULTS, conf

MIDDLEWARE_PATH = "formguard.middleware.FormGuardMiddleware"
SHARED_CACHE_BACKENDS = (
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
    "django_redis.cache.RedisCache",
)
LOCAL_CACHE_BACKENDS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.db.DatabaseCache",
)


def _cache_backend() -> str:
    return settings.CACHES.get(conf.CACHE_ALIAS, {}).get("BACKEND", "")


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
    if _cache_backend() == "django.core.cache.backends.dummy.DummyCache":
        errors.append(
            Error(
                f"The cache {conf.CACHE_ALIAS!r} is DummyCache: formguard's rate limits and bursts never count.",
                hint="Use RedisCache (several processes) or LocMemCache (one process), or set RATELIMIT_USE_CACHE.",
                id="formguard.E004",
            )
        )
    errors.extend(_check_default_policy())
    resolver = conf.CLIENT_IP_RESOLVER
    if resolver:
        try:
            import_string(resolver)
        except ImportError as exc:
            errors.append(Error(f"FORMGUARD['CLIENT_IP_RESOLVER'] cannot be imported: {exc}", id="formguard.E006"))
    if not 0 <= conf.IPV6_PREFIX <= 128 or not 0 <= conf.IPV4_PREFIX <= 32:
        errors.append(Error("FORMGUARD['IPV6_PREFIX'] must be 0–128 and IPV4_PREFIX 0–32.", id="formguard.E007"))
    if getattr(settings, "RATELIMIT_ENABLE", True) is False:
        errors.append(
            Warning(
                "RATELIMIT_ENABLE is False: django-ratelimit, and so formguard's rate limits and burst bans, "
                "count nothing.",
                id="formguard.W002",
            )
        )
    return errors


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
    return errors


@register(Tags.caches)
def check_cache_timeouts(app_configs: Any = None, **kwargs: Any) -> list:
    config = settings.CACHES.get(conf.CACHE_ALIAS, {})
    if not config.get("BACKEND", "").endswith("RedisCache"):
        return []
    options = config.get("OPTIONS", {})
    if "socket_timeout" in options and "socket_connect_timeout" in options:
        return []
    return [
        Warning(
            f"The cache {conf.CACHE_ALIAS!r} is Redis without socket timeouts: if the Redis server stops "
            "answering, every guarded request waits for the operating system's TCP timeout.",
            hint="Add 'OPTIONS': {'socket_connect_timeout': 0.5, 'socket_timeout': 0.5} to the cache.",
            id="formguard.W003",
        )
    ]


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list:
    backend = _cache_backend()
    if backend in LOCAL_CACHE_BACKENDS:
        return [
            Warning(
                f"formguard counts requests in the cache {conf.CACHE_ALIAS!r} ({backend.rsplit('.', 1)[-1]}), "
                "which is not shared between processes or not atomic: with several workers each one counts "
                "alone and a flood passes several times the limit.",
                hint=(
                    "Use Django's RedisCache: CACHES = {'default': {'BACKEND': "
                    "'django.core.cache.backends.redis.RedisCache', 'LOCATION': 'redis://127.0.0.1:6379'}}. "
                    "With a single process, silence this with SILENCED_SYSTEM_CHECKS = ['formguard.W001']."
                ),
                id="formguard.W001",
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
    try:
        captcha.provider_class(config["PROVIDER"])
    except (ImportError, TypeError) as exc:
        errors.append(
            Error(
                f"FORMGUARD['CAPTCHA']['PROVIDER'] = {config['PROVIDER']!r} is not a captcha provider: {exc}",
                hint=f"Use one of {', '.join(sorted(captcha.PROVIDERS))}, or the dotted path of a CaptchaProvider.",
                id="formguard.E008",
            )
        )
    if bool(config["SITE_KEY"]) != bool(config["SECRET_KEY"]):
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
