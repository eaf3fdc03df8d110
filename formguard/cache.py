"""formguard's access to Django's cache, and what happens when it fails.

All formguard state that must be shared between processes (policies, the
block-rule generation, counters) goes through the cache django-ratelimit uses
(``RATELIMIT_USE_CACHE``). When the cache server is down, calls raise
``CacheUnavailable`` and each caller falls back as documented; the outage is
logged once when it starts and once when it ends, not once per request.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.cache import BaseCache, caches

from .conf import conf

logger = logging.getLogger("formguard.cache")

_state_lock = threading.Lock()
_down = False


class CacheUnavailable(Exception):
    """The cache raised; the caller applies its documented fallback."""


def get_cache() -> BaseCache:
    return caches[conf.CACHE_ALIAS]


def make_key(*parts: object) -> str:
    return ":".join([conf.KEY_PREFIX, *(str(p) for p in parts)])


def report_failure(exc: BaseException) -> None:
    global _down
    with _state_lock:
        if _down:
            return
        _down = True
    logger.error(
        "formguard: cache %r is unavailable (%s: %s); falling back until it answers again "
        "(FORMGUARD['CACHE_FAILURE'] = %r).",
        conf.CACHE_ALIAS,
        type(exc).__name__,
        exc,
        conf.CACHE_FAILURE,
    )


def report_success() -> None:
    global _down
    if not _down:
        return
    with _state_lock:
        if not _down:
            return
        _down = False
    logger.warning("formguard: cache %r answers again.", conf.CACHE_ALIAS)


def call(operation: str, *args: Any, **kwargs: Any) -> Any:
    """``get_cache().<operation>(...)``, raising ``CacheUnavailable`` on any failure."""
    try:
        result = getattr(get_cache(), operation)(*args, **kwargs)
    except Exception as exc:  # every backend raises its own client's errors
        report_failure(exc)
        raise CacheUnavailable(str(exc)) from exc
    report_success()
    return result
