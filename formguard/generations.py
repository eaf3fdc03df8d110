"""How a change made in one process reaches every other one within a second.

Policies, alternative contacts and block rules are database rows that every
request reads, so each process keeps them in memory. When one process saves
a row (the admin, ``manage.py formguard close`` in a terminal, an automatic
ban) it bumps a generation counter in the shared store; every process reads
the generations at most once per ``SYNC_INTERVAL`` and reloads what changed.
A request costs no database read and, most of the time, no store round trip.

While the store is down the generations cannot be read: each process then
reloads from the database at most once per ``SYNC_INTERVAL``, so a switch
still arrives in time, at the price of one small query per second.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction

from .store import StoreUnavailable, get_store

T = TypeVar("T")

# A switch flipped anywhere is seen everywhere within this plus one request.
SYNC_INTERVAL = 0.25
# Kept rows are reloaded after this long whatever the generations say: a
# store that lost its counters (a Redis restarted without persistence)
# counts from 0 again and could meet a generation a process kept.
MAX_AGE = 60.0

NAMES = ("policies", "contacts", "rules", "rules_full", "escalations", "filter")
_KEYS = tuple(f"generation:{name}" for name in NAMES)


@dataclass(frozen=True)
class _Snapshot:
    values: dict[str, int] | None  # None: the store did not answer
    read_at: float


@dataclass(frozen=True)
class _Rows:
    generation: int | None
    rows: Any
    loaded_at: float


_EXPIRED = _Snapshot(None, float("-inf"))
_snapshot = _EXPIRED
_rows: dict[str, _Rows] = {}
_lock = threading.Lock()


def current() -> dict[str, int] | None:
    """Every generation, as read at most ``SYNC_INTERVAL`` ago; None while the store is down."""
    global _snapshot
    snapshot = _snapshot
    now = time.monotonic()
    if now - snapshot.read_at < SYNC_INTERVAL:
        return snapshot.values
    try:
        found = get_store().read(_KEYS)
        values: dict[str, int] | None = {name: found.get(key, 0) for name, key in zip(NAMES, _KEYS, strict=True)}
    except StoreUnavailable:
        values = None
    _snapshot = _Snapshot(values, now)
    return values


def changed(*names: str) -> None:
    """Tell every process (this one at once) that the rows of ``names`` changed."""
    global _snapshot
    with _lock:
        for name in names:
            # And the entries kept under it (``cached_rows(f"{name}:…", generation=name)``).
            for key in [k for k in _rows if k == name or k.startswith(f"{name}:")]:
                _rows.pop(key, None)
        _snapshot = _EXPIRED
    keys = [f"generation:{name}" for name in names]

    def bump() -> None:
        # While the store is down the others sync from the database once per
        # interval instead.
        with contextlib.suppress(StoreUnavailable):
            get_store().bump(keys)

    # After the commit: a process that reloaded between the bump and the
    # commit would keep the old rows under the new generation for good.
    transaction.on_commit(bump)


def cached_rows(name: str, load: Callable[[], T], generation: str = "") -> T:
    """Rows that every request reads, kept in this process until they change anywhere.

    ``generation``: the generation that tells (one of ``NAMES``) when ``name``
    is not one itself, so that one bump reaches many kept entries.
    """
    generations = current()
    counter = generation or name
    entry = _rows.get(name)
    now = time.monotonic()
    if entry is not None and now - entry.loaded_at < MAX_AGE:
        if generations is not None and entry.generation == generations[counter]:
            return entry.rows
        if generations is None and now - entry.loaded_at < SYNC_INTERVAL:
            return entry.rows
    # The generation was read before the rows: a save racing with this load
    # can only make the kept copy look stale (reloaded next time), never fresh.
    rows = load()
    _rows[name] = _Rows(None if generations is None else generations[counter], rows, now)
    return rows


def expire() -> None:
    """Read the generations again on the next request, as ``SYNC_INTERVAL`` later would."""
    global _snapshot
    _snapshot = _EXPIRED


def forget() -> None:
    """Drop everything kept in this process (tests, ``formguard.testing.reset()``)."""
    global _snapshot
    with _lock:
        _rows.clear()
        _snapshot = _EXPIRED
