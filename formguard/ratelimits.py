"""Per-client counters in fixed windows: every window of a request in one round trip.

The windows are django-ratelimit's: fixed windows of the rate's period, each
client's shifted by ``crc32(client) % period`` so that not every client's
window ends at the same second (``window_end`` is its ``_get_window``; a test
pins the two together through django-ratelimit's public ``get_usage``).
formguard does not count through django-ratelimit itself: ``get_usage`` makes
two cache round trips per window (``add``, then ``incr``), four per POST for the
rate limit and the burst, where the flood-cost budget allows one for all of
them; ``store.hit`` counts every window of a request in one statement or script.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext

from .durations import format_duration
from .store import WindowCounter, get_store

RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Counts outlive their window by this much, as django-ratelimit's do.
EXPIRATION_FUDGE = 5


@lru_cache(maxsize=256)
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


def format_rate(rate: str) -> str:
    """``"5/10m"`` → "5回/10分" / "5 per 10 minutes": a rate as the owner and the operator read it."""
    try:
        count, seconds = parse_rate(rate)
    except ValueError:
        return rate
    return gettext("%(count)d per %(period)s") % {"count": count, "period": format_duration(seconds)}


def window_end(client: str, period: int, now: int) -> int:
    """The end (epoch seconds) of ``client``'s window of ``period`` that holds ``now``."""
    if period == 1:
        return now
    end = now - (now % period) + (zlib.crc32(client.encode()) % period)
    return end + period if end < now else end


@dataclass(frozen=True)
class Usage:
    count: int
    limit: int
    seconds_left: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


@dataclass(frozen=True)
class Limit:
    """One thing to count: ``client`` in ``group`` at ``rate`` (``"5/10m"``)."""

    group: str
    client: str
    rate: str


def hit(limits: Sequence[Limit], now: float | None = None) -> list[Usage]:
    """Count one request against each limit, in one round trip; the usages, in order.

    Raises ``store.StoreUnavailable`` when the store cannot count.
    """
    moment = int(now if now is not None else time.time())
    counters, shapes = [], []
    for limit in limits:
        allowed, period = parse_rate(limit.rate)
        end = window_end(limit.client, period, moment)
        # The form (the group's last part) and the client: a request's rate
        # and burst windows are counted together on a Redis Cluster too.
        tag = f"{limit.group.rpartition(':')[2]}:{limit.client}"
        counters.append(WindowCounter(f"{limit.group}:{limit.client}", end, end - moment + EXPIRATION_FUDGE, tag))
        shapes.append((allowed, max(1, end - moment)))
    counts = get_store().hit(counters)
    return [Usage(n, allowed, left) for n, (allowed, left) in zip(counts, shapes, strict=True)]
