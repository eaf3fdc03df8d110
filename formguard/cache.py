"""formguard's access to Django's cache, and what happens when it fails.

All formguard state that must be shared between processes (policies, the
block-rule generation, counters) goes through the cache django-ratelimit uses
(``RATELIMIT_USE_CACHE``). When the cache server is down, calls raise
``CacheUnavailable`` and each caller falls back as documented; the outage is
logged once when it starts and once when it ends, not once per request.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import BaseCache, caches

from .conf import conf

logger = logging.getLogger("formguard.cache")

T = TypeVar("T")

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


def invalidate_rows(name: str) -> None:
    """Make every process reload the rows cached as ``name`` on its next read."""
    # While the cache is down nothing cached is served either.
    with contextlib.suppress(CacheUnavailable):
        call("set", make_key(name, "generation"), uuid.uuid4().hex, None)


def cached_rows(name: str, load: Callable[[], T]) -> T:
    """Database rows that every request reads, from the shared cache.

    ``invalidate_rows(name)`` (on save or delete) bumps a generation key; the
    generation is read before the rows are loaded, so a save racing with a
    reload can only make the cached copy look stale, never fresh. With the
    cache down, ``load()`` is called every time.
    """
    generation_key, rows_key = make_key(name, "generation"), make_key(name, "rows")
    try:
        found = call("get_many", [generation_key, rows_key])
    except CacheUnavailable:
        return load()
    generation = found.get(generation_key)
    cached = found.get(rows_key)
    if generation is not None and cached is not None and cached[0] == generation:
        return cached[1]
    if generation is None:
        generation = uuid.uuid4().hex
        try:
            # add(): if another process set one meanwhile, theirs stands and
            # what is stored below is simply treated as stale.
            call("add", generation_key, generation, None)
        except CacheUnavailable:
            return load()
    rows = load()
    with contextlib.suppress(CacheUnavailable):
        call("set", rows_key, (generation, rows), None)
    return rows
