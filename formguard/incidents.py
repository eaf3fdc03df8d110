"""Incident recording that survives a flood.

Refusals of one client bucket (an IP, or an IPv6 /64) for one reason on one
form within ``INCIDENT_WINDOW`` seconds are one ``Incident`` row with a count.
The first refusal of a window inserts the row; later ones only bump a counter
in the cache, and at most one request per ``INCIDENT_FLUSH_INTERVAL`` moves
the pending count into the row. So per client, reason and window there is
one INSERT plus at most window / interval UPDATEs, however many requests
arrive, and no count is lost: readers call ``flush_pending()`` first.

When the cache is down the counts go straight to the database (one UPDATE
per refusal); exactness wins over write volume during an outage.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone

from . import cache
from .conf import conf
from .models import BlockRule, Incident

logger = logging.getLogger("formguard.security")


@dataclass
class Event:
    """One refusal (or monitor-only would-be refusal), ready to record."""

    ip: str
    ip_bucket: str
    form_key: str
    reason: str
    monitor_only: bool = False
    method: str = ""
    path: str = ""
    user_agent: str = ""
    # Called only when the event starts a new row: a flood's later requests
    # never pay for a GeoIP lookup, nor for reading their bodies.
    country: Callable[[], str] = str
    detail: dict[str, Any] = field(default_factory=dict)
    sample: Callable[[], dict[str, Any]] = dict
    rule_id: int | None = None


def _window_start(moment: datetime) -> int:
    epoch = int(moment.timestamp())
    return epoch - epoch % conf.INCIDENT_WINDOW


@dataclass(frozen=True)
class _Keys:
    row: str  # (row id, rule id) of the window's row
    pending: str  # refusals counted but not yet in the row
    throttle: str  # present while a flush is not due
    mutex: str  # held while one process moves the pending count


def _keys(bucket: str, form_key: str, reason: str, monitor_only: bool, window: int) -> _Keys:
    digest = hashlib.blake2b(
        f"{bucket}|{form_key}|{reason}|{int(monitor_only)}|{window}".encode(), digest_size=16
    ).hexdigest()
    return _Keys(*(cache.make_key("incident", digest, part) for part in ("row", "pending", "throttle", "mutex")))


def _keys_for_row(row: Incident) -> _Keys:
    return _keys(row.ip_bucket, row.form_key, row.reason, row.monitor_only, _window_start(row.first_seen))


def _ttl() -> int:
    # Pending counts must outlive their window long enough to be flushed by
    # a reader or by the next refusal.
    return conf.INCIDENT_WINDOW + 7 * 86400


def _create(event: Event, now: datetime) -> Incident:
    row = Incident.objects.create(
        first_seen=now,
        last_seen=now,
        count=1,
        ip=event.ip,
        ip_bucket=event.ip_bucket,
        country=event.country(),
        form_key=event.form_key,
        reason=event.reason,
        monitor_only=event.monitor_only,
        method=event.method[:10],
        path=event.path[:300],
        user_agent=event.user_agent[:300],
        detail=event.detail,
        sample=event.sample(),
    )
    logger.warning(
        "formguard: %s %s on form %r from %s (%s %s)%s",
        "would refuse" if event.monitor_only else "refused",
        event.reason,
        event.form_key,
        event.ip,
        event.method,
        event.path,
        " [monitor only]" if event.monitor_only else "",
    )
    return row


def _apply(row_id: int, count: int, now: datetime, rule_id: int | None) -> None:
    Incident.objects.filter(pk=row_id).update(count=F("count") + count, last_seen=now)
    if rule_id:
        BlockRule.objects.filter(pk=rule_id).update(hits=F("hits") + count)


def record(event: Event, now: datetime | None = None) -> None:
    """Record one refusal, aggregated (see the module docstring)."""
    now = now or timezone.now()
    keys = _keys(event.ip_bucket, event.form_key, event.reason, event.monitor_only, _window_start(now))
    try:
        claimed = cache.call("add", keys.row, 0, _ttl())
        if claimed:
            row = _create(event, now)
            if event.rule_id:
                BlockRule.objects.filter(pk=event.rule_id).update(hits=F("hits") + 1)
            cache.call("set", keys.row, (row.pk, event.rule_id), _ttl())
            # The next flush is due one interval after the insert.
            cache.call("add", keys.throttle, 1, conf.INCIDENT_FLUSH_INTERVAL)
            return
        cache.call("add", keys.pending, 0, _ttl())
        cache.call("incr", keys.pending)
        if cache.call("add", keys.throttle, 1, conf.INCIDENT_FLUSH_INTERVAL):
            _flush_one(keys, now)
    except cache.CacheUnavailable:
        _record_without_cache(event, now)
    except ValueError:
        # incr on a key that vanished (evicted): count this one directly.
        _record_without_cache(event, now)


def _flush_one(keys: _Keys, now: datetime) -> int:
    stored = cache.call("get", keys.row)
    if not stored:  # the creating request has not stored the row id yet
        return 0
    if not cache.call("add", keys.mutex, 1, 30):
        return 0  # another process is moving this count right now
    try:
        row_id, rule_id = stored
        pending = cache.call("get", keys.pending) or 0
        if pending <= 0:
            return 0
        # decr by what was read: refusals counted meanwhile stay pending.
        cache.call("decr", keys.pending, pending)
        _apply(row_id, pending, now, rule_id)
        return pending
    finally:
        cache.call("delete", keys.mutex)


def _record_without_cache(event: Event, now: datetime) -> None:
    window_start = datetime.fromtimestamp(_window_start(now), tz=now.tzinfo or timezone.get_current_timezone())
    updated = Incident.objects.filter(
        ip_bucket=event.ip_bucket,
        form_key=event.form_key,
        reason=event.reason,
        monitor_only=event.monitor_only,
        first_seen__gte=window_start,
        first_seen__lt=window_start + timedelta(seconds=conf.INCIDENT_WINDOW),
    ).update(count=F("count") + 1, last_seen=now)
    if not updated:
        _create(event, now)
    if event.rule_id:
        BlockRule.objects.filter(pk=event.rule_id).update(hits=F("hits") + 1)


def flush_pending(since: datetime | None = None) -> int:
    """Move every pending count into its row; returns how many were moved.

    Call before reading counts (reports, the admin, the CLI).
    """
    now = timezone.now()
    since = since or now - timedelta(seconds=_ttl())
    moved = 0
    rows = Incident.objects.filter(last_seen__gte=since).only(
        "id", "ip_bucket", "form_key", "reason", "monitor_only", "first_seen"
    )
    batch: list[_Keys] = []
    try:
        for row in rows.iterator(chunk_size=FLUSH_BATCH):
            batch.append(_keys_for_row(row))
            if len(batch) == FLUSH_BATCH:
                moved += _flush_batch(batch, now)
                batch = []
        moved += _flush_batch(batch, now)
    except cache.CacheUnavailable:
        pass
    return moved


# Readers look at a week of rows; one round trip per this many tells them
# which few have counts waiting.
FLUSH_BATCH = 500


def _flush_batch(batch: list[_Keys], now: datetime) -> int:
    if not batch:
        return 0
    pending = cache.call("get_many", [keys.pending for keys in batch])
    return sum(_flush_one(keys, now) for keys in batch if pending.get(keys.pending))
