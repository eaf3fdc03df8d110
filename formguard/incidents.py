"""Incident recording that costs a flood no database writes.

Refusals of one client bucket (an IP, or an IPv6 /64) for one reason on one
form within ``INCIDENT_WINDOW`` seconds are one ``Incident`` row with a count,
named by its aggregation key. A refusal only adds one to the key's tally in
the shared store (one round trip; the first of a key also leaves what the
row needs: address, country, user agent, sample). Every
``INCIDENT_FLUSH_INTERVAL`` seconds one process of the site (whichever claims
the flush first) moves the tallies into the database in batches of
``FLUSH_BATCH`` keys: per batch one SELECT, at most one bulk INSERT, one UPDATE
of the incident counts and one of the rules' hit counts, however many
requests or addresses the flood has. Tallies live in the store, not in a
process, so a worker that dies loses nothing, and a reader in any process
(the admin, a report, the command line) calls ``flush_for_reading()`` first
and reads exact counts, or learns how many refusals it could not count yet.

The flush claim names its holder: a reader that finds it held by a process of
this machine that has died takes it over at once; a live holder renews it
before each batch, so a holder that died elsewhere blocks the flush for at
most ``FLUSH_CLAIM_TTL``.

When the store is down the counts go straight to the database (one UPDATE
per refusal): exactness wins over write volume during an outage. A tally
whose answer timed out (Redis frozen) may still be counted by the store when
it resumes, so it is not written to the database but sent again, once the
store answers, under the same event id: the store counts it once.

What a request sent (sample, user agent, path, method) is made storable for
every supported database on its way into a row (``requesttext.storable``);
a batch the database refuses all the same is written row by row, so that one
bad row never holds back the others (``_flush_batch``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Greatest

from .conf import conf
from .incident_events import Event, aware, from_detail, row_values, storable_values, to_detail
from .incident_events import aggregation_key as aggregation_key
from .models import BlockRule, Incident
from .store import OutcomeUnknown, Pending, Store, StoreUnavailable, get_store
from .store.base import BREAK_SECONDS, holder_gone, holder_id

logger = logging.getLogger("formguard.security")

# Keys moved to the database per batch (one statement of each kind), and
# the most a reader moves at once.
FLUSH_BATCH = 500
MAX_FLUSH = 200_000
# The flush claim outlives any sane batch and is renewed before each; a
# flusher that dies elsewhere frees it then (one of this machine at once).
FLUSH_CLAIM = "incidents:flush"
FLUSH_CLAIM_TTL = 15.0
# How long a reader waits for a flush a live process is doing, and how long
# it flushes at most before it reads.
FLUSH_WAIT = 5.0
FLUSH_BUDGET = 30.0
# A tally whose first event left no detail (its process died in between)
# gets a row made from its key after this long.
ORPHAN_AGE = 60.0


_next_flush = 0.0
# Keys whose row this process has written: a flush settles a tally away, and
# the next refusal under the same key starts a new one (count 1), whose detail
# nobody needs, since the row exists. (Bounded: keys name their window.)
_in_database: set[str] = set()
MAX_IN_DATABASE = 50_000


def forget() -> None:
    """Let this process flush on its next refusal, and drop unsure tallies (tests)."""
    global _next_flush
    _next_flush = 0.0
    _in_database.clear()
    with _unsure_lock:
        _unsure.clear()


def record(key: str, describe: Callable[[], Event], now: datetime) -> None:
    """Record one refusal under its ``aggregation_key`` (see the module docstring).

    ``describe()`` is called only for the first refusal a tally counts: a
    flood's later requests never pay for it.
    """
    global _next_flush
    store = get_store()
    if _unsure:
        _resend_unsure()
    try:
        count = store.tally(key, now.timestamp())
    except OutcomeUnknown as exc:
        # The store may still count it: not in the database too.
        _keep_unsure(exc, key, to_detail(row_values(describe(), now)))
        return
    except StoreUnavailable:
        _record_without_store(key, describe, now)
        return
    if count == 1 and key not in _in_database:
        # Counted already: without its detail the row is made from the key.
        with contextlib.suppress(StoreUnavailable):
            store.annotate(key, to_detail(row_values(describe(), now)))
    moment = time.monotonic()
    if moment >= _next_flush:
        _next_flush = moment + conf.INCIDENT_FLUSH_INTERVAL
        # One batch, on the way: the refusal itself is recorded already, so a
        # flush that cannot run now (the store or the database busy) waits
        # for the next one rather than failing the response.
        try:
            if _claim_flush(store):
                try:
                    _flush_batch(store.pending(FLUSH_BATCH))
                finally:
                    _release(store)
        except (StoreUnavailable, DatabaseError) as exc:
            logger.warning("formguard: incident counts not flushed now (%s); they wait for the next flush.", exc)


def _log_new(row: Incident) -> None:
    logger.warning(
        "formguard: %s %s on form %r from %s (%s %s)%s",
        "would refuse" if row.monitor_only else "refused",
        row.reason,
        row.form_key,
        row.ip,
        row.method,
        row.path,
        " [monitor only]" if row.monitor_only else "",
    )


def _orphan_values(key: str) -> dict[str, Any]:
    """What a row can say from its key alone (see ``aggregation_key``)."""
    window, monitor_only, reason, method, bucket, form_key = key.split("|", 5)
    seen = datetime.fromtimestamp(float(window), tz=UTC)
    return {
        "first_seen": seen,
        "last_seen": seen,
        "ip": bucket.split("/", 1)[0],
        "ip_bucket": bucket,
        "form_key": form_key,
        "reason": reason,
        "monitor_only": monitor_only == "1",
        "method": method,
    }


def _new_row(item: Pending, now: float, *, bare: bool = False) -> Incident | None:
    """The row of a tally not in the database yet; ``bare``: from its key alone."""
    if item.detail is not None and not bare:
        values = from_detail(item.detail)
    elif bare or now - item.last_seen > ORPHAN_AGE:
        values = _orphan_values(item.key)
    else:
        return None  # its detail is on its way
    return Incident(key=item.key, count=0, **storable_values(values))


def _claim_flush(store: Store) -> bool:
    """Claim the flush, or take it over from a process of this machine that died holding it."""
    me = holder_id()
    if store.claim(FLUSH_CLAIM, FLUSH_CLAIM_TTL, me):
        return True
    other = store.get(FLUSH_CLAIM)
    if holder_gone(other) and store.swap(FLUSH_CLAIM, other, me, FLUSH_CLAIM_TTL):
        logger.warning("formguard: took over the incident flush from a process that died holding it (%s).", other)
        return True
    return False


def _renew(store: Store) -> bool:
    me = holder_id()
    return store.swap(FLUSH_CLAIM, me, me, FLUSH_CLAIM_TTL)


def _release(store: Store) -> None:
    # Only our own claim: one taken over meanwhile is someone else's now.
    with contextlib.suppress(StoreUnavailable):
        store.swap(FLUSH_CLAIM, holder_id(), None, 0)


# Tallies whose outcome is unknown (sent, no answer): (resend, key, detail).
_unsure: list[tuple[Callable[[], Any], str, bytes]] = []
_unsure_lock = threading.Lock()
_resender: threading.Thread | None = None
UNSURE_MAX = 10_000


def _keep_unsure(exc: OutcomeUnknown, key: str, detail: bytes) -> None:
    global _resender
    with _unsure_lock:
        if exc.retry is not None and len(_unsure) < UNSURE_MAX:
            _unsure.append((exc.retry, key, detail))
        # Resent when the store answers, whether or not requests come.
        if _resender is None or not _resender.is_alive():
            _resender = threading.Thread(target=_resend_loop, name="formguard-resend", daemon=True)
            _resender.start()


def _resend_loop() -> None:
    while _unsure:
        time.sleep(BREAK_SECONDS)
        _resend_unsure()


def _resend_unsure() -> None:
    """Send again the tallies whose outcome was unknown; the store counts each once."""
    with _unsure_lock:
        items = list(_unsure)
        _unsure.clear()
    store = get_store()
    for index, (resend, key, detail) in enumerate(items):
        try:
            count = resend()
        except StoreUnavailable:
            with _unsure_lock:
                _unsure[:0] = items[index:]
            return
        if count == 1:
            with contextlib.suppress(StoreUnavailable):
                store.annotate(key, detail)


# What the database says of a row it will not take (a value it refuses, a
# constraint broken), as against being unreachable: psycopg raises
# ValueError for text it cannot send at all.
ROW_REFUSED = (DataError, IntegrityError, ValueError)


def _flush_batch(items: list[Pending]) -> int:
    """Move a batch of tallies into the database; how many refusals were moved."""
    if not items:
        return 0
    store = get_store()
    moment = time.time()
    try:
        ready, new = _write(items, moment)
    except ROW_REFUSED as exc:
        # One row the database refuses must not hold back the batch, at
        # every flush, for good: each tally on its own, and a row the
        # database refuses even then is made from its key alone. A database
        # that cannot be reached (any other error) fails the whole flush,
        # and the tallies wait for the next one.
        logger.warning("formguard: a batch of incident counts was refused (%s); writing them one by one.", exc)
        ready, new = [], []
        for item in items:
            done, made = _write_alone(item, moment)
            ready += done
            new += made
    for row in new:
        _log_new(row)
    # After the commit: a crash in between counts a batch twice rather than
    # losing it. (A reader that flushes inside a transaction of its own which
    # then rolls back loses what it moved: formguard's readers flush before
    # they read, and nothing after that writes.)
    amounts = {item.key: item.count for item in ready}
    if amounts:
        store.settle(amounts)
        if len(_in_database) > MAX_IN_DATABASE:
            _in_database.clear()
        _in_database.update(amounts)
    return sum(amounts.values())


def _write_alone(item: Pending, moment: float) -> tuple[list[Pending], list[Incident]]:
    try:
        return _write([item], moment)
    except ROW_REFUSED as exc:
        logger.warning("formguard: incident %r refused by the database (%s); stored without its detail.", item.key, exc)
    try:
        return _write([item], moment, bare=True)
    except ROW_REFUSED as exc:
        # Even its key will not do: dropped, so that it does not come back
        # at every flush. Said loudly, with the count it loses.
        logger.error("formguard: incident %r dropped, %d refusals not counted: %s", item.key, item.count, exc)
        return [item], []


def _write(items: list[Pending], moment: float, *, bare: bool = False) -> tuple[list[Pending], list[Incident]]:
    """One transaction: the rows of ``items`` made and counted; the items moved and the rows made."""
    keys = [item.key for item in items]
    with transaction.atomic():
        rows = {
            key: (pk, rule_id)
            for key, pk, rule_id in Incident.objects.filter(key__in=keys).values_list("key", "pk", "rule_id")
        }
        new = [row for item in items if item.key not in rows and (row := _new_row(item, moment, bare=bare)) is not None]
        if new:
            Incident.objects.bulk_create(new, ignore_conflicts=True)
            created = Incident.objects.filter(key__in=[row.key for row in new]).values_list("key", "pk", "rule_id")
            rows.update({key: (pk, rule_id) for key, pk, rule_id in created})
            skipped = [row.key for row in new if row.key not in rows]
            if skipped:
                # SQLite's INSERT OR IGNORE skips a row that breaks a CHECK or
                # NOT NULL constraint as silently as a duplicate.
                raise IntegrityError(f"rows skipped by the database: {skipped}")
        ready = [item for item in items if item.key in rows]
        if not ready:
            return [], []
        Incident.objects.filter(pk__in=[rows[item.key][0] for item in ready]).update(
            count=F("count") + Case(*(When(pk=rows[i.key][0], then=Value(i.count)) for i in ready)),
            last_seen=Greatest(
                F("last_seen"),
                Case(*(When(pk=rows[i.key][0], then=Value(aware(i.last_seen))) for i in ready)),
            ),
        )
        hits: dict[int, int] = {}
        for item in ready:
            rule_id = rows[item.key][1]
            if rule_id:
                hits[rule_id] = hits.get(rule_id, 0) + item.count
        if hits:
            BlockRule.objects.filter(pk__in=hits).update(
                hits=F("hits")
                + Case(*(When(pk=pk, then=Value(n)) for pk, n in hits.items()), output_field=IntegerField())
            )
    return ready, new


def _record_without_store(key: str, describe: Callable[[], Event], now: datetime) -> None:
    event = describe()
    updated = Incident.objects.filter(key=key).update(count=F("count") + 1, last_seen=now)
    if not updated:
        try:
            with transaction.atomic():
                _log_new(Incident.objects.create(key=key, count=1, **row_values(event, now)))
        except IntegrityError:  # created by a concurrent request meanwhile
            Incident.objects.filter(key=key).update(count=F("count") + 1, last_seen=now)
    if event.rule_id:
        BlockRule.objects.filter(pk=event.rule_id).update(hits=F("hits") + 1)


def flush_pending(since: datetime | None = None) -> int:
    """Move every pending count into its row; returns how many were moved.

    Waits (up to ``FLUSH_WAIT``) for a flush another live process is doing.
    A reader wants ``flush_for_reading()``, which says what it could not move.
    """
    return _flush()[0]


def flush_for_reading(since: datetime | None = None) -> int | None:
    """Flush before reading counts; how many refusals the rows still leave out.

    0: what is read is exact. A number: refusals tallied but not yet in
    their rows (another process is flushing and did not finish in time, or
    a tally's detail is still on its way). None: the store does not answer,
    so what waits in it is unknown (refusals meanwhile go to the rows).
    """
    return _flush()[1]


def _flush() -> tuple[int, int | None]:
    store = get_store()
    moved = 0
    try:
        deadline = time.monotonic() + FLUSH_WAIT
        while not _claim_flush(store):
            if time.monotonic() > deadline:
                # A live process holds the flush: say how much it has not moved.
                return 0, sum(item.count for item in store.pending(MAX_FLUSH))
            time.sleep(0.05)
        try:
            # What is pending now, once: a flood tallying on meanwhile must
            # not keep the reader flushing.
            snapshot = store.pending(MAX_FLUSH)
            stop_at = time.monotonic() + FLUSH_BUDGET
            for start in range(0, len(snapshot), FLUSH_BATCH):
                # Renewed before each batch: a holder that lost its claim
                # (stalled past its lifetime) stops rather than count twice.
                if time.monotonic() > stop_at or not _renew(store):
                    break
                moved += _flush_batch(snapshot[start : start + FLUSH_BATCH])
        finally:
            _release(store)
    except StoreUnavailable:
        return moved, None
    return moved, sum(item.count for item in snapshot) - moved
