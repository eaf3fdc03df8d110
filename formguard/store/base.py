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
* claims and small values (``claim`` / ``get`` / ``put``): "only one process does
  this" (a ban, a flush) and "seen once" (a captcha token), with a lifetime;
* tallies (``tally`` / ``annotate`` / ``pending`` / ``settle``): incident counts
  waiting to be written to the database in batches.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

logger = logging.getLogger("formguard.store")


class StoreUnavailable(Exception):
    """The store did not answer; the caller applies its documented fallback."""


@dataclass(frozen=True)
class WindowCounter:
    """One count in a fixed window: ``key`` counts from 1 again when ``window`` changes."""

    key: str
    window: int
    # Seconds from now until the window's count may be forgotten.
    ttl: int


@dataclass(frozen=True)
class Pending:
    """An incident tally not yet written to the database."""

    key: str
    count: int
    last_seen: float
    detail: bytes | None


class Store(ABC):
    """formguard's shared state. Subclasses: ``EmbeddedStore``, ``RedisStore``."""

    #: Short name for system checks, the status command and benchmarks.
    name = ""

    def __init__(self) -> None:
        # Round trips since the process started: read by benchmarks and tests.
        self.operations = 0
        self._down = False
        self._down_lock = threading.Lock()

    def describe(self) -> str:
        """Where the state lives, for people (status command, checks)."""
        return self.name

    def failed(self, exc: BaseException) -> NoReturn:
        """Log the start of an outage once (not once per request) and raise ``StoreUnavailable``."""
        with self._down_lock:
            first = not self._down
            self._down = True
        if first:
            from ..conf import conf

            logger.error(
                "formguard: its state store (%s) is unavailable (%s: %s); falling back until it answers "
                "again (FORMGUARD['CACHE_FAILURE'] = %r).",
                self.describe(),
                type(exc).__name__,
                exc,
                conf.CACHE_FAILURE,
            )
        raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def answered(self) -> None:
        """Called after each successful round trip: logs the end of an outage."""
        if self._down:
            with self._down_lock:
                was_down, self._down = self._down, False
            if was_down:
                logger.warning("formguard: its state store (%s) answers again.", self.describe())

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
    def claim(self, key: str, ttl: float) -> bool:
        """True for the first caller until ``ttl`` seconds pass or ``release``."""

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
