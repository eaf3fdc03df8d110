"""Per-client counters, through django-ratelimit's core.

django-ratelimit keeps one cache key per (group, rate, client, window), created
with ``cache.add`` and bumped with ``cache.incr``. formguard uses it for the
per-form rate limit and for burst detection, keyed by the client's bucket
(an IPv4 address or an IPv6 /64) rather than by django-ratelimit's own IP
reading, which would mask IPv4-mapped addresses by /64.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from django.http import HttpRequest
from django_ratelimit import core as ratelimit_core

from . import cache

RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"5/10m"`` → ``(5, 600)``; strict, unlike django-ratelimit's own parser."""
    match = RATE_RE.match(rate or "")
    if not match:
        raise ValueError(f"not a rate: {rate!r} (write it like 5/10m, 20/h or 100/d)")
    count, multiplier, unit = match.groups()
    seconds = _PERIODS[unit] * (int(multiplier) if multiplier else 1)
    if int(count) < 1 or seconds < 1:
        raise ValueError(f"not a rate: {rate!r} (count and period must be at least 1)")
    return int(count), seconds


@dataclass(frozen=True)
class Usage:
    count: int
    limit: int
    seconds_left: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


def hit(group: str, client: str, rate: str) -> Usage:
    """Count one request of ``client`` in ``group`` and return the usage.

    Raises ``cache.CacheUnavailable`` when the cache cannot count.
    """
    count, period = parse_rate(rate)
    normalized = f"{count}/{period}s"
    request = HttpRequest()
    try:
        usage = ratelimit_core.get_usage(
            request,
            group=group,
            key=lambda _group, _request: client,
            rate=normalized,
            method=ratelimit_core.ALL,
            increment=True,
        )
    except Exception as exc:  # the cache client's own error (redis, memcached…)
        cache.report_failure(exc)
        raise cache.CacheUnavailable(str(exc)) from exc
    if usage is None or (usage["limit"] == 0 and usage["time_left"] == -1):
        # get_usage's own signal that the cache neither added nor counted.
        exc = RuntimeError("django-ratelimit could not count")
        cache.report_failure(exc)
        raise cache.CacheUnavailable(str(exc))
    cache.report_success()
    if usage["count"] == 1:
        _ensure_expiry(group, client, normalized, period)
    return Usage(count=usage["count"], limit=usage["limit"], seconds_left=max(1, usage["time_left"]))


def _ensure_expiry(group: str, client: str, rate: str, period: int) -> None:
    # Django's RedisCache.incr is EXISTS then INCR: a key that expires between
    # the two is recreated by INCR with no TTL and would never go away. A
    # count of 1 after an increment is either a fresh add() (has a TTL) or
    # exactly that case, so give it its TTL again; it costs one call per
    # client and window. The key is rebuilt the way get_usage builds it.
    window = ratelimit_core._get_window(client, period)
    key = ratelimit_core._make_cache_key(group, window, rate, client, ratelimit_core.ALL)
    with contextlib.suppress(cache.CacheUnavailable):
        cache.call("touch", key, period + ratelimit_core.EXPIRATION_FUDGE)
