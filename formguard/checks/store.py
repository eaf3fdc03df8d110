"""Checks of where the counts and the state live: the cache's timeouts and scope, the store answering."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..conf import conf
from .setup import check_state_alias, state_backend

REDIS_TIMEOUT_OPTIONS = {
    "django.core.cache.backends.redis.RedisCache": ("socket_connect_timeout", "socket_timeout"),
    "django_redis.cache.RedisCache": ("SOCKET_CONNECT_TIMEOUT", "SOCKET_TIMEOUT"),
}


@register(Tags.caches)
def check_cache_timeouts(app_configs: Any = None, **kwargs: Any) -> list:
    backend = state_backend()
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
def check_store_topology(app_configs: Any = None, **kwargs: Any) -> list:
    """A cluster node or a sentinel named as one plain server: it answers a PING, then fails under load."""
    if conf.CACHE is None or check_state_alias():
        return []
    from ..store import get_store
    from ..store.topology import mismatch

    try:
        store = get_store()
        problem = mismatch(store.topology)
    except Exception:  # W002 says that it does not answer
        return []
    if problem is None:
        return []
    return [
        Error(
            f"FORMGUARD['CACHE'] is {conf.CACHE!r}, which formguard cannot count in: {problem}",
            hint='docs/deployment.md, "Redis Sentinel and Redis Cluster", shows both LOCATION forms.',
            id="formguard.E016",
        )
    ]


@register(Tags.caches)
def check_store_answers(app_configs: Any = None, **kwargs: Any) -> list:
    if check_state_alias():
        return []  # E004 says what is wrong
    from ..store import get_store

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
