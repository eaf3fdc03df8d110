"""Redis, for sites on several machines: one command or script per operation.

Why not through Django's cache API: django-ratelimit counts with ``add`` then
``incr`` (Django's ``RedisCache.incr`` is ``EXISTS`` + ``INCRBY``), three round
trips per window, and Django's ``RedisCache`` builds a new client object for
every operation. Counting both windows of a POST is one ``EVALSHA`` here
(``INCR`` + ``EXPIRE`` per key, atomic because Redis runs a script alone), and
the client is made once per process on its own connection pool, from the
cache alias's ``LOCATION`` and ``OPTIONS`` (so the socket timeouts set there
apply). With django-redis, its documented ``get_redis_connection(alias)`` gives
the cache's own pool. One server, Sentinel or Cluster: ``topology.py``.

On a Cluster a script may only touch keys of one hash slot: a request's window
counters carry a hash tag of their form and client (``{contact:198.51.100.7}``),
and the generations and the tallies each share one tag. Key names are the same
on every topology, so a site that moves from one server to a cluster keeps
its scheme.

A Redis that stops answering (frozen, a network partition) runs what it had
received when it resumes: a tally whose answer timed out may still be
counted. So each tally carries an event id that the script records for
``EVENT_TTL`` seconds and counts once: the caller keeps the timed-out tally
(``OutcomeUnknown``) and sends it again when Redis answers, and whichever of
the two runs first counts it. Nothing is counted a second time in the
database meanwhile.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from .base import Pending, Store, WindowCounter
from .topology import CLUSTER, SINGLE, Topology, connect, kind_of

HIT = """
local counts = {}
for i, key in ipairs(KEYS) do
    local n = redis.call('INCR', key)
    if n == 1 then redis.call('EXPIRE', key, ARGV[i]) end
    counts[i] = n
end
return counts
"""

# KEYS[3]: the event's id, counted once (a resent tally finds it).
TALLY = """
if not redis.call('SET', KEYS[3], 1, 'NX', 'EX', ARGV[3]) then
    return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
end
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[2]) > last then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return n
"""

ANNOTATE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) end
return 0
"""

SETTLE = """
for i = 1, #ARGV, 2 do
    local n = redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1]))
    if n <= 0 then
        redis.call('HDEL', KEYS[1], ARGV[i])
        redis.call('HDEL', KEYS[2], ARGV[i])
        redis.call('HDEL', KEYS[3], ARGV[i])
    end
end
return 0
"""

# KEYS: generations, all in one slot.
BUMP = """
for _, key in ipairs(KEYS) do redis.call('INCR', key) end
return 0
"""

# The three tally hashes at one moment (one slot: a Cluster runs it too).
PENDING = """
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])}
"""

SWAP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
"""

SCRIPTS = {
    "hit": HIT,
    "tally": TALLY,
    "annotate": ANNOTATE,
    "settle": SETTLE,
    "swap": SWAP,
    "bump": BUMP,
    "pending": PENDING,
}

# How long Redis remembers a tally's event id: a tally sent just before Redis
# froze runs when it resumes, and its resend follows within seconds of that.
EVENT_TTL = 120


class RedisStore(Store):
    name = "redis"

    def __init__(self, alias: str, prefix: str):
        super().__init__()
        import redis

        self.alias = alias
        self.prefix = prefix
        # RedisClusterException: no node answered, a slot no master holds.
        self._errors = (redis.RedisError, redis.exceptions.RedisClusterException, OSError)
        self._timeouts = (redis.TimeoutError, TimeoutError)
        self.kind, self.service = kind_of(alias)
        # Connected on first use, inside ``_call``: a Cluster client asks a
        # node for the slots as it is made, and a cluster that does not
        # answer must open the breaker, not fail the request.
        self._topology: Topology | None = None
        self._scripts: dict[str, Any] = {}
        self._connecting = threading.Lock()
        # What spans clients lives in one hash slot per kind (a Cluster runs
        # a script or MGET only over keys of one slot): the generations, and
        # the tallies with their event ids.
        tallies = self._slot("t")
        self._tallies = (f"{tallies}:n", f"{tallies}:last", f"{tallies}:detail")
        self._events = f"{tallies}:e:"

    @property
    def topology(self) -> Topology:
        """The client and what it talks to, made on first use (raises what redis-py raises)."""
        if self._topology is None:
            with self._connecting:
                if self._topology is None:
                    topology = connect(self.alias)
                    self._scripts = {name: topology.client.register_script(code) for name, code in SCRIPTS.items()}
                    self._topology = topology
        return self._topology

    @property
    def _client(self) -> Any:
        return self.topology.client

    def describe(self) -> str:
        if self.kind == SINGLE:
            return f"Redis, cache {self.alias!r}"
        if self.kind == CLUSTER:
            return f"Redis Cluster, cache {self.alias!r}"
        return f"Redis Sentinel (service {self.service!r}), cache {self.alias!r}"

    def _key(self, kind: str, key: str) -> str:
        return f"{self.prefix}:{kind}:{key}"

    def _slot(self, kind: str) -> str:
        # Redis hashes only what is between the first { and }.
        return f"{self.prefix}:{kind}:{{{self.prefix}:{kind}}}"

    def _counter(self, counter: WindowCounter) -> str:
        return f"{self.prefix}:w:{{{counter.tag or counter.key}}}:{counter.key}:{counter.window}"

    def _call(self, what: str, *args: Any, _unknown: Any = None, **kwargs: Any) -> Any:
        """One round trip: ``what`` is a script's name (``SCRIPTS``) or a client method's."""
        self.guard()
        self.operations += 1
        try:
            client = self._client
            result = (self._scripts.get(what) or getattr(client, what))(*args, **kwargs)
        except self._errors as exc:
            # A timeout: the command may have reached Redis, which may still run it.
            self.failed(exc, unknown=_unknown if isinstance(exc, self._timeouts) else None)
        self.answered()
        return result

    def probe(self) -> None:
        self._client.set(self._key("v", "store:probe"), b"1", px=60_000)

    def hit(self, counters: Sequence[WindowCounter]) -> list[int]:
        if self.kind != CLUSTER:
            keys = [self._counter(c) for c in counters]
            return [int(n) for n in self._call("hit", keys=keys, args=[c.ttl for c in counters])]
        # One script per slot: a request's own windows share one (its form and
        # bucket); a network's or a recipient's are elsewhere.
        groups: dict[str, list[int]] = {}
        for i, counter in enumerate(counters):
            groups.setdefault(counter.tag or counter.key, []).append(i)
        counts = [0] * len(counters)
        for members in groups.values():
            keys = [self._counter(counters[i]) for i in members]
            found = self._call("hit", keys=keys, args=[counters[i].ttl for i in members])
            for i, n in zip(members, found, strict=True):
                counts[i] = int(n)
        return counts

    def read(self, keys: Sequence[str]) -> dict[str, int]:
        values = self._call("mget", [f"{self._slot('g')}:{k}" for k in keys])
        return {k: int(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def bump(self, keys: Sequence[str]) -> None:
        self._call("bump", keys=[f"{self._slot('g')}:{k}" for k in keys])

    def claim(self, key: str, ttl: float, holder: str = "") -> bool:
        px = max(1, int(ttl * 1000))
        return bool(self._call("set", self._key("v", key), json.dumps(holder), nx=True, px=px))

    def swap(self, key: str, holder: str, new: str | None, ttl: float) -> bool:
        args = [json.dumps(holder), "" if new is None else json.dumps(new), max(1, int(ttl * 1000))]
        return bool(self._call("swap", keys=[self._key("v", key)], args=args))

    def release(self, key: str) -> None:
        self._call("delete", self._key("v", key))

    def get(self, key: str) -> Any:
        raw = self._call("get", self._key("v", key))
        return json.loads(raw) if raw else None

    def put(self, key: str, value: Any, ttl: float | None) -> None:
        px = None if ttl is None else max(1, int(ttl * 1000))
        self._call("set", self._key("v", key), json.dumps(value), px=px)

    def tally(self, key: str, now: float) -> int:
        keys = [*self._tallies[:2], self._events + os.urandom(8).hex()]
        args = [key, repr(now), EVENT_TTL]

        def resend() -> int:
            return int(self._call("tally", keys=keys, args=args))

        return int(self._call("tally", keys=keys, args=args, _unknown=resend))

    def annotate(self, key: str, detail: bytes) -> None:
        # Not for a tally a flush has just settled: nothing would delete it.
        self._call("annotate", keys=[self._tallies[0], self._tallies[2]], args=[key, detail])

    def pending(self, limit: int) -> list[Pending]:
        counts, lasts, details = (_pairs(found) for found in self._call("pending", keys=list(self._tallies)))
        found = []
        for raw_key, raw_n in counts.items():
            n = int(raw_n)
            if n <= 0:
                continue
            found.append(
                Pending(raw_key.decode(), n, float(lasts.get(raw_key, b"0") or time.time()), details.get(raw_key))
            )
        found.sort(key=lambda p: p.last_seen)
        return found[:limit]

    def settle(self, amounts: dict[str, int]) -> None:
        if not amounts:
            return
        args: list[Any] = []
        for key, n in amounts.items():
            args += (key, n)
        self._call("settle", keys=list(self._tallies), args=args)

    def clear(self) -> None:
        # A Cluster's scan_iter walks every master; its delete splits the keys by slot.
        keys = list(self._client.scan_iter(match=f"{self.prefix}:*", count=1000))
        if keys:
            self._call("delete", *keys)

    def close(self) -> None:
        pass


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    """HGETALL's reply inside a script: a flat list, name then value."""
    return dict(zip(flat[::2], flat[1::2], strict=True))
