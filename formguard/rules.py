"""Block rules: the blacklist and allowlist, and the fast lookup behind them.

The database holds the rules. Each process keeps an index built from all
rules that are not yet expired: per IP version and prefix length, a dict from
the masked network number to the rules. A lookup is one dict probe per
distinct prefix length in use (a handful), whatever the number of rules. A
generation key in the shared cache tells every process when to rebuild.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from . import cache
from .ip import IPAddress, IPNetwork, network_text, normalize, parse_network
from .models import ActionLog, BlockRule

logger = logging.getLogger("formguard.rules")

# While the cache is down the generation cannot be read; rebuild from the
# database at most this often instead.
REBUILD_INTERVAL_WITHOUT_CACHE = 10.0


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
    """All rules of one generation, for lookups by address."""

    def __init__(self, rules: list[BlockRule]):
        # {version: {prefixlen: {masked network int: [Match, ...]}}}
        self._tables: dict[int, dict[int, dict[int, list[Match]]]] = {4: {}, 6: {}}
        for rule in rules:
            try:
                network = parse_network(rule.network)
            except ValueError:
                logger.error("formguard: block rule %s has an unreadable network %r", rule.pk, rule.network)
                continue
            match = Match(
                rule_id=rule.pk,
                network=network_text(network),
                kind=rule.kind,
                source=rule.source,
                reason=rule.reason,
                expires_at=rule.expires_at,
                prefixlen=network.prefixlen,
            )
            table = self._tables[network.version].setdefault(network.prefixlen, {})
            table.setdefault(int(network.network_address), []).append(match)
        # Most specific first, so the first match found is the narrowest rule.
        self._prefixes = {v: sorted(t, reverse=True) for v, t in self._tables.items()}
        self.size = len(rules)

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


_lock = threading.Lock()
_index: RuleIndex | None = None
_index_generation: str | None = None
_index_built: float = 0.0


def _generation_key() -> str:
    return cache.make_key("rules", "generation")


def invalidate() -> None:
    """Make every process rebuild its index on its next lookup."""
    global _index_generation
    _index_generation = None
    with contextlib.suppress(cache.CacheUnavailable):
        cache.call("set", _generation_key(), uuid.uuid4().hex, None)


def _build() -> RuleIndex:
    now = timezone.now()
    rules = list(
        BlockRule.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).only(
            "id", "network", "kind", "source", "reason", "expires_at"
        )
    )
    return RuleIndex(rules)


def get_index() -> RuleIndex:
    """This process's index, rebuilt when another process changed a rule."""
    global _index, _index_generation, _index_built
    try:
        generation = cache.call("get", _generation_key())
        if generation is None:
            generation = uuid.uuid4().hex
            if not cache.call("add", _generation_key(), generation, None):
                generation = cache.call("get", _generation_key())
    except cache.CacheUnavailable:
        generation = None
    index = _index
    if index is not None:
        if generation is not None and generation == _index_generation:
            return index
        if generation is None and time.monotonic() - _index_built < REBUILD_INTERVAL_WITHOUT_CACHE:
            return index
    with _lock:
        if _index is not None and generation is not None and generation == _index_generation:
            return _index
        _index = _build()
        _index_generation = generation
        _index_built = time.monotonic()
        return _index


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


def auto_ban(network: IPNetwork, *, form_key: str, reason: str, first: int, growth: float, cap: int) -> BlockRule:
    """Ban ``network`` automatically, longer for each earlier automatic ban of it."""
    previous = (
        BlockRule.objects.filter(
            network=network_text(network), source=BlockRule.Source.AUTOMATIC, kind=BlockRule.Kind.BLOCK
        )
        .aggregate(Max("offence"))
        .get("offence__max")
        or 0
    )
    offence = previous + 1
    seconds = ban_duration(offence, first, growth, cap)
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
    BlockRule.objects.filter(pk__in=[r.pk for r in in_force]).update(expires_at=now)
    ActionLog.objects.bulk_create(
        ActionLog(at=now, action=ActionLog.Action.LIFTED, target=r.network, detail=r.get_kind_display())
        for r in in_force
    )
    invalidate()
    return len(in_force)


def lift(network: str, kind: str = BlockRule.Kind.BLOCK) -> int:
    """End the rules in force for exactly ``network``."""
    return lift_rules(BlockRule.objects.filter(network=network_text(parse_network(network)), kind=kind))
