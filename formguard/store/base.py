"""What formguard keeps between requests, and the one interface to it.

Every process of a site must see the same counters, generations and pending
incident counts (DESIGN.md, "Where state lives"). A ``Store`` holds them; each
method is one round trip to wherever the state lives (one SQLite statement or
transaction, one Redis command or script), because the refusal path is the hot
path of a flood.

Three kinds of state, each with the operations it needs and no more:

* window counters (``hit``): rate limits and bursts, counted in fixed windows,
  atomically across processes, never evicted while their window is open;
* plain counters (``bump`` / ``read``): the generations that tell every process
  that a policy or a block rule changed;
* claims and small values (``claim`` / ``swap`` / ``get`` / ``put``): "only one
  process does this" (a ban, a flush: the claim names its holder, so another
  process can take over a dead holder's claim) and "seen once" (a captcha
  token), with a lifetime;
* tallies (``tally`` / ``annotate`` / ``pending`` / ``settle``): incident counts
  waiting to be written to the database in batches.

When the store fails, a circuit breaker keeps a flood from waiting on it: after
the first failure a process stops asking for ``BREAK_SECONDS`` and every
operation fails at once (the caller follows its fallback); then one caller
tries a write (``probe``) and, if it succeeds, lets operations through again.
The outage is logged once when it starts and once when the store has answered
for ``SETTLE_SECONDS`` without a failure: a store that answers reads but
refuses writes (a read-only file), or some writes but not others (a full
disk), does not flap between the two.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

logger = logging.getLogger("formguard.store")

# After a failure a process does not ask the store again for this long: a
# frozen Redis costs one socket timeout per process per break, not one per
# request and operation.
BREAK_SECONDS = 2.0
# An outage ends when the store has answered this long without a failure.
SETTLE_SECONDS = 3.0


class StoreUnavailable(Exception):
    """The store did not answer; the caller applies its documented fallback."""


class OutcomeUnknown(StoreUnavailable):
    """The command was sent but no answer came (a timeout): the store may still carry it out.

    ``retry()`` does it again at most once in all (the operation is idempotent),
    when the store answers; a caller must not count it elsewhere meanwhile.
    """

    def __init__(self, message: str, retry: Callable[[], Any] | None = None):
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class WindowCounter:
    """One count in a fixed window: ``key`` counts from 1 again when ``window`` changes."""

    key: str
    window: int
    # Seconds from now until the window's count may be forgotten.
    ttl: int
    # Counters with one tag are kept together (one Redis Cluster slot), so
    # that one script counts them; "" keeps this one by its key alone.
    tag: str = ""


@dataclass(frozen=True)
class Pending:
    """An incident tally not yet written to the database."""

    key: str
    count: int
    last_seen: float
    detail: bytes | None


@lru_cache(maxsize=1)
def _machine() -> str:
    # This boot of this machine, and this process namespace (a container
    # beside it numbers its processes apart).
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = socket.gethostname()
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{boot}{namespace}".replace("|", "/")


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot); None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else fields[19]


_holder: tuple[int, str] | None = None


def holder_id() -> str:
    """Who holds a claim: this machine, this process and its start (a pid is reused)."""
    global _holder
    pid = os.getpid()
    if _holder is None or _holder[0] != pid:
        _holder = (pid, f"{_machine()}|{pid}|{_started(pid) or ''}")
    return _holder[1]


def holder_gone(holder: object) -> bool:
    """True only if ``holder`` is known to be dead: a process of this machine that has ended.

    A holder on another machine is never known dead here: its claim lapses
    when it stops renewing it."""
    parts = holder.split("|") if isinstance(holder, str) else []
    if len(parts) != 3 or parts[0] != _machine() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if parts[2]:
        return _started(pid) != parts[2]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class Store(ABC):
    """formguard's shared state. Subclasses: ``EmbeddedStore``, ``RedisStore``."""

    #: Short name for system checks, the status command and benchmarks.
    name = ""
    #: Seconds the breaker stays open after a failure.
    break_seconds = BREAK_SECONDS

    def __init__(self) -> None:
        # Round trips since the process started: read by benchmarks and tests.
        self.operations = 0
        # An outage is on (logged once) until an operation succeeds after
        # ``_settled_at``; while ``_broken`` no caller asks before ``_retry_at``.
        self._down = False
        self._broken = False
        self._retry_at = 0.0
        self._settled_at = 0.0
        self._cause = ""
        self._down_lock = threading.Lock()

    def describe(self) -> str:
        """Where the state lives, for people (status command, checks)."""
        return self.name

    @property
    def down(self) -> bool:
        """True during an outage this process has seen."""
        return self._down

    def guard(self) -> None:
        """Called before each round trip: fail at once while the breaker is open;
        after ``break_seconds``, one caller tries a write and, if it succeeds, closes it."""
        if not self._broken:
            return
        with self._down_lock:
            if not self._broken:
                return
            now = time.monotonic()
            if now < self._retry_at:
                raise StoreUnavailable(self._cause)
            # This caller probes; the others go on failing at once meanwhile.
            self._retry_at = now + self.break_seconds
        try:
            self.probe()
        except Exception as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        with self._down_lock:
            self._broken = False
            self._settled_at = time.monotonic() + SETTLE_SECONDS

    def answered(self) -> None:
        """Called after each successful round trip: ends an outage once the store has settled."""
        if self._down and not self._broken and time.monotonic() >= self._settled_at:
            with self._down_lock:
                was_down = self._down and not self._broken
                if was_down:
                    self._down = False
            if was_down:
                logger.warning("formguard: its state store (%s) answers again.", self.describe())

    def failed(self, exc: BaseException, *, unknown: Callable[[], Any] | None = None) -> NoReturn:
        """Open the breaker, log the start of an outage once (not once per request) and
        raise ``StoreUnavailable`` (``OutcomeUnknown`` with ``unknown``, the retry)."""
        cause = f"{type(exc).__name__}: {exc}"
        with self._down_lock:
            first = not self._down
            self._down = self._broken = True
            self._retry_at = time.monotonic() + self.break_seconds
            self._cause = cause
        if first:
            from ..conf import conf

            logger.error(
                "formguard: its state store (%s) is unavailable (%s); falling back until it answers "
                "again (FORMGUARD['CACHE_FAILURE'] = %r).",
                self.describe(),
                cause,
                conf.CACHE_FAILURE,
            )
        if unknown is not None:
            raise OutcomeUnknown(cause, unknown) from exc
        raise StoreUnavailable(cause) from exc

    def forget_outage(self) -> None:
        """Close the breaker without a word (``formguard.testing.reset()``): the next operation asks again."""
        with self._down_lock:
            self._down = self._broken = False

    def probe(self) -> None:
        """One small write, straight to the store (no breaker); raises when it fails.

        What ``manage.py check`` and ``status`` try too: a store that only reads
        is not a store that counts."""
        raise NotImplementedError

    def space(self) -> tuple[int, int] | None:
        """Free bytes where the store writes, and how many it wants free; None if not on this disk."""
        return None

    @abstractmethod
    def hit(self, counters: Sequence[WindowCounter]) -> list[int]:
        """Count one request in each window; the counts, in order."""

    @abstractmethod
    def read(self, keys: Sequence[str]) -> dict[str, int]:
        """Plain counters; a key never bumped is absent."""

    @abstractmethod
    def bump(self, keys: Sequence[str]) -> None:
        """Add one to each plain counter (they never expire)."""

    @abstractmethod
    def claim(self, key: str, ttl: float, holder: str = "") -> bool:
        """True for the first caller until ``ttl`` seconds pass or ``release``.

        ``holder`` names the claimant: ``get(key)`` returns it, and ``swap``
        renews, hands over or releases the claim only from the holder named."""

    @abstractmethod
    def swap(self, key: str, holder: str, new: str | None, ttl: float) -> bool:
        """If the live claim ``key`` is ``holder``'s: give it to ``new`` for ``ttl`` seconds
        (the same holder: renewed) or, with ``new`` None, release it. False otherwise."""

    @abstractmethod
    def release(self, key: str) -> None: ...

    @abstractmethod
    def get(self, key: str) -> Any:
        """A value stored with ``put``, or None."""

    @abstractmethod
    def put(self, key: str, value: Any, ttl: float | None) -> None: ...

    @abstractmethod
    def tally(self, key: str, now: float) -> int:
        """Add one to a pending tally; its new count (1: the detail is wanted)."""

    @abstractmethod
    def annotate(self, key: str, detail: bytes) -> None:
        """Attach the detail of a tally's first event, unless one is there."""

    @abstractmethod
    def pending(self, limit: int) -> list[Pending]:
        """Up to ``limit`` tallies with a count, oldest first where the store can tell."""

    @abstractmethod
    def settle(self, amounts: dict[str, int]) -> None:
        """Take ``amounts`` off the tallies (written to the database); drop the empty ones."""

    @abstractmethod
    def clear(self) -> None:
        """Forget everything (tests, ``formguard.testing.reset()``)."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Let go of connections (tests switching stores)."""
