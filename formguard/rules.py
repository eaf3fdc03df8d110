"""Block rules: the blacklist and allowlist, and the fast lookup behind them.

The database holds the rules. Each process keeps an index built from all
rules that are not yet expired: per IP version and prefix length, a dict from
the masked network number to the rules. A lookup is one dict probe per
distinct prefix length in use (a handful), whatever the number of rules.
Generations in the shared store tell every process when to update it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from . import actors, generations
from .generations import MAX_AGE
from .ip import IPAddress, IPNetwork, network_text, normalize, parse_network
from .models import ActionLog, BlockRule

logger = logging.getLogger("formguard.rules")


@dataclass(frozen=True)
class Match:
    rule_id: int
    network: str
    kind: str
    source: str
    reason: str
    expires_at: datetime | None
    prefixlen: int

    def is_active_at(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


class RuleIndex:
    """Rules for lookups by address: per IP version and prefix length, a dict
    from the masked network number to the rules of that network.

    Updated in place by ``apply()`` (new and changed rules) under the module
    lock; lookups in other threads see either the old or the new list of a
    network, never a half-built one, because lists are replaced, not edited.
    """

    def __init__(self, rules: list[BlockRule] = ()):  # type: ignore[assignment]
        # {version: {prefixlen: {masked network int: [Match, ...]}}}
        self._tables: dict[int, dict[int, dict[int, list[Match]]]] = {4: {}, 6: {}}
        self._prefixes: dict[int, list[int]] = {4: [], 6: []}
        # rule id -> where its Match is filed
        self._where: dict[int, tuple[int, int, int]] = {}
        self.max_pk = 0
        for rule in rules:
            self._add(rule)
        self._sort_prefixes()

    @property
    def size(self) -> int:
        return len(self._where)

    def _add(self, rule: BlockRule) -> None:
        self.max_pk = max(self.max_pk, rule.pk)
        try:
            network = parse_network(rule.network)
        except ValueError:
            logger.error("formguard: block rule %s has an unreadable network %r", rule.pk, rule.network)
            return
        match = Match(
            rule_id=rule.pk,
            network=network_text(network),
            kind=rule.kind,
            source=rule.source,
            reason=rule.reason,
            expires_at=rule.expires_at,
            prefixlen=network.prefixlen,
        )
        key = int(network.network_address)
        table = self._tables[network.version].setdefault(network.prefixlen, {})
        table[key] = [*table.get(key, ()), match]
        self._where[rule.pk] = (network.version, network.prefixlen, key)

    def _remove(self, rule_id: int) -> None:
        where = self._where.pop(rule_id, None)
        if where is None:
            return
        version, prefixlen, key = where
        table = self._tables[version][prefixlen]
        remaining = [m for m in table.get(key, ()) if m.rule_id != rule_id]
        if remaining:
            table[key] = remaining
        else:
            table.pop(key, None)

    def _sort_prefixes(self) -> None:
        # Most specific first, so the first match found is the narrowest rule.
        self._prefixes = {
            v: sorted((p for p, t in tables.items() if t), reverse=True) for v, tables in self._tables.items()
        }

    def apply(self, rules: list[BlockRule]) -> None:
        """File new rules and refile changed ones (same id)."""
        for rule in rules:
            self._remove(rule.pk)
            self._add(rule)
        self._sort_prefixes()

    def matches(self, address: IPAddress, now: datetime) -> list[Match]:
        """Every active rule whose network contains ``address``, narrowest first."""
        address = normalize(address)
        bits = 32 if address.version == 4 else 128
        value = int(address)
        found: list[Match] = []
        tables = self._tables[address.version]
        for prefixlen in self._prefixes[address.version]:
            shift = bits - prefixlen
            entries = tables[prefixlen].get((value >> shift) << shift)
            if entries:
                found.extend(m for m in entries if m.is_active_at(now))
        return found

    def first(self, address: IPAddress, kind: str, now: datetime) -> Match | None:
        for match in self.matches(address, now):
            if match.kind == kind:
                return match
        return None


# Every process keeps one index. Two generations (``generations.py``) say
# when it is stale: "rules" changes with every saved rule (the index then
# fetches only the rules saved since its last sync: during a flood of
# automatic bans each worker reads the few new rows, not 10,000),
# "rules_full" changes when rules are deleted (the index is rebuilt).
_lock = threading.Lock()
_index: RuleIndex | None = None
_index_generation: tuple[int, int] | None = None
_index_built: float = 0.0
_synced_at: datetime | None = None
_synced_monotonic: float = 0.0
# This process saved a rule: sync even if the store cannot say so.
_dirty = False


# Rules saved by another server whose clock is this far behind are still seen.
CLOCK_SKEW = timedelta(seconds=5)
# Expired rules stay in the index (lookups skip them) until a full rebuild.
FULL_REBUILD_INTERVAL = 600.0
RULE_FIELDS = ("id", "network", "kind", "source", "reason", "expires_at")


def invalidate(*, full: bool = False) -> None:
    """Make every process update its index (``full``: rebuild it) within a second; this one at once."""
    global _index_generation, _dirty
    if full:
        _index_generation = None
    _dirty = True
    generations.changed(*(("rules", "rules_full") if full else ("rules",)))


def _build() -> RuleIndex:
    now = timezone.now()
    return RuleIndex(
        list(BlockRule.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).only(*RULE_FIELDS))
    )


def _read_generation() -> tuple[int, int] | None:
    current = generations.current()
    if current is None:
        return None
    return current["rules"], current["rules_full"]


def get_index() -> RuleIndex:
    """This process's index, brought up to date when a rule changed anywhere."""
    global _index, _index_generation, _index_built, _synced_at, _synced_monotonic, _dirty
    generation = _read_generation()
    index = _index
    now = time.monotonic()
    if index is not None and not _dirty and now - _index_built < FULL_REBUILD_INTERVAL:
        if generation is not None and generation == _index_generation and now - _synced_monotonic < MAX_AGE:
            return index
        if generation is None and now - _synced_monotonic < generations.SYNC_INTERVAL:
            return index
    with _lock:
        index = _index
        age = time.monotonic() - _index_built
        fresh = time.monotonic() - _synced_monotonic < MAX_AGE
        if index is not None and not _dirty and generation is not None and generation == _index_generation and fresh:
            return index
        started = timezone.now()
        incremental = (
            index is not None
            and _index_generation is not None
            and (generation is None or generation[1] == _index_generation[1])
            and _synced_at is not None
            and age < FULL_REBUILD_INTERVAL
        )
        _dirty = False
        if incremental:
            changed = BlockRule.objects.filter(Q(pk__gt=index.max_pk) | Q(updated_at__gte=_synced_at - CLOCK_SKEW))
            index.apply(list(changed.only(*RULE_FIELDS)))
        else:
            index = _index = _build()
            _index_built = time.monotonic()
        if generation is not None:
            _index_generation = generation
        elif _index_generation is None:
            _index_generation = (-1, -1)  # no store: compare again once it answers
        _synced_at = started
        _synced_monotonic = time.monotonic()
        return index


def forget() -> None:
    """Drop this process's index (tests, ``formguard.testing.reset()``)."""
    global _index, _index_generation, _synced_at, _dirty
    with _lock:
        _index = None
        _index_generation = None
        _synced_at = None
        _dirty = False


def find_block(address: IPAddress, now: datetime | None = None) -> Match | None:
    return get_index().first(address, BlockRule.Kind.BLOCK, now or timezone.now())


def find_allow(address: IPAddress, now: datetime | None = None) -> Match | None:
    return get_index().first(address, BlockRule.Kind.ALLOW, now or timezone.now())


def is_blocked(address: IPAddress | str) -> bool:
    return find_block(normalize(address)) is not None


def is_allowed(address: IPAddress | str) -> bool:
    return find_allow(normalize(address)) is not None


def add_rule(
    network: str | IPNetwork,
    *,
    kind: str = BlockRule.Kind.BLOCK,
    duration: timedelta | None = None,
    reason: str = "",
    source: str = BlockRule.Source.MANUAL,
    form_key: str = "",
    offence: int = 1,
) -> BlockRule:
    """Add a rule (the signal receiver invalidates every process's index)."""
    now = timezone.now()
    return BlockRule.objects.create(
        network=network_text(parse_network(str(network))),
        kind=kind,
        source=source,
        reason=reason,
        form_key=form_key,
        created_at=now,
        expires_at=now + duration if duration else None,
        offence=offence,
    )


def ban_duration(offence: int, first: int, growth: float, cap: int) -> int:
    """Seconds of the ``offence``-th automatic ban: first × growth^(n-1), capped."""
    seconds = first * growth ** max(0, offence - 1)
    return int(min(seconds, cap))


# Up to this share is added to an automatic ban, at random: a botnet that
# learnt one ban's length cannot schedule its return to the second. Only
# ever added (a repeat offender never gets less than its computed ban) and
# never past the cap (the longest ban an operator set is a promise), so a
# ban at the cap is exactly the cap.
BAN_JITTER = 0.1
_random = random.SystemRandom()


def jittered(seconds: int, cap: int) -> int:
    """``seconds`` plus up to ``BAN_JITTER`` of it, at random, at most ``cap`` (but never less than ``seconds``)."""
    return max(seconds, min(cap, seconds + _random.randint(0, int(seconds * BAN_JITTER))))


def auto_ban(
    network: IPNetwork,
    *,
    form_key: str,
    reason: str,
    first: int,
    growth: float,
    cap: int,
    lookback: int = 30 * 24 * 3600,
) -> BlockRule:
    """Ban ``network`` automatically, longer for each earlier automatic ban of it.

    Only earlier bans that ended (or end) within ``lookback`` seconds count,
    as fail2ban's ``bantime.increment`` forgets bans older than its database
    purge age: an address reassigned to someone else months later starts
    afresh. The window runs from a ban's end, not its start, so an offender
    back from a ban at the cap (as long as the window by default) is still
    one.
    """
    since = timezone.now() - timedelta(seconds=lookback)
    previous = (
        BlockRule.objects.filter(
            network=network_text(network),
            source=BlockRule.Source.AUTOMATIC,
            kind=BlockRule.Kind.BLOCK,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gte=since))
        .aggregate(Max("offence"))
        .get("offence__max")
        or 0
    )
    offence = previous + 1
    seconds = jittered(ban_duration(offence, first, growth, cap), cap)
    rule = add_rule(
        network,
        duration=timedelta(seconds=seconds),
        reason=reason,
        source=BlockRule.Source.AUTOMATIC,
        form_key=form_key,
        offence=offence,
    )
    logger.warning(
        "formguard: %s banned for %ss on form %r (offence %s): %s", network, seconds, form_key, offence, reason
    )
    return rule


def lift_rules(queryset: QuerySet[BlockRule]) -> int:
    """End the rules in ``queryset`` that are in force now; returns how many.

    The rows stay as history (repeat-offender bans grow from it).
    """
    now = timezone.now()
    in_force = list(queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)))
    if not in_force:
        return 0
    BlockRule.objects.filter(pk__in=[r.pk for r in in_force]).update(expires_at=now, updated_at=now)
    ActionLog.objects.bulk_create(
        ActionLog(
            at=now,
            action=ActionLog.Action.LIFTED,
            target=r.network,
            detail=r.get_kind_display(),
            actor=actors.current(),
        )
        for r in in_force
    )
    invalidate()
    return len(in_force)


def lift(network: str, kind: str = BlockRule.Kind.BLOCK) -> int:
    """End the rules in force for exactly ``network``."""
    return lift_rules(BlockRule.objects.filter(network=network_text(parse_network(network)), kind=kind))
