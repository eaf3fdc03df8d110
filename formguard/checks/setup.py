"""Checks of how formguard is set up: the middleware's place and the ``FORMGUARD`` settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from ..conf import DEFAULT_POLICY, DEFAULTS, conf

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


def state_backend() -> str:
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
    errors.extend(check_state_alias())
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


def check_state_alias() -> list:
    from ..store import REDIS_BACKENDS

    alias = conf.CACHE
    if alias is None:
        return []
    backend = state_backend()
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
    from ..ratelimits import parse_rate

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

    from ..models import FormPolicy

    # Each value as the admin would take it (choices, validators): a fake
    # success for the Japanese rule, say, is refused here, not at first use.
    for key in sorted(set(user) & set(DEFAULT_POLICY) - {"rate_limit"}):
        try:
            FormPolicy._meta.get_field(key).clean(user[key], None)
        except ValidationError as exc:
            errors.append(Error(f"FORMGUARD['DEFAULT_POLICY'][{key!r}]: {' '.join(exc.messages)}", id="formguard.E005"))
    return errors


# The option names each Redis backend reads for its socket timeouts.
