"""Redis, for sites on several machines: one command or script per operation.

Why not through Django's cache API: django-ratelimit counts with ``add`` then
``incr`` (Django's ``RedisCache.incr`` is ``EXISTS`` + ``INCRBY``), three round
trips per window, and Django's ``RedisCache`` builds a new client object for
every operation. Counting both windows of a POST is one ``EVALSHA`` here
(``INCR`` + ``EXPIRE`` per key, atomic because Redis runs a script alone), and
the client is made once per process on its own connection pool, from the
cache alias's ``LOCATION`` and ``OPTIONS`` (so the socket timeouts set there
apply). With django-redis, its documented ``get_redis_connection(alias)`` gives
the cache's own pool.

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
import time
from collections.abc import Sequence
from typing import Any

from .base import Pending, Store, WindowCounter

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

SWAP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
"""

# How long Redis remembers a tally's event id: a tally sent just before Redis
# froze runs when it resumes, and its resend follows within seconds of that.
EVENT_TTL = 120

# Options of Django's RedisCache that are not connection-pool options.
_DJANGO_ONLY_OPTIONS = ("serializer", "pool_class", "parser_class")


def client_for_alias(alias: str) -> Any:
    """A redis-py client for the Redis cache ``alias`` of ``settings.CACHES``."""
    from django.conf import settings

    config = settings.CACHES[alias]
    if config["BACKEND"].startswith("django_redis."):
        from django_redis import get_redis_connection

        return get_redis_connection(alias, write=True)
    import redis

    location = config.get("LOCATION")
    if isinstance(location, str):
        location = location.split(",")
    options = {k: v for k, v in (config.get("OPTIONS") or {}).items() if k not in _DJANGO_ONLY_OPTIONS}
    # The first server is the one Django's RedisCache writes to.
    pool = redis.ConnectionPool.from_url(location[0].strip(), **options)
    return redis.Redis(connection_pool=pool)


class RedisStore(Store):
    name = "redis"

    def __init__(self, alias: str, prefix: str):
        super().__init__()
        import redis

        self.alias = alias
        self.prefix = prefix
        self._errors = (redis.RedisError, OSError)
        self._timeouts = (redis.TimeoutError, TimeoutError)
        self._client = client_for_alias(alias)
        self._hit = self._client.register_script(HIT)
        self._tally = self._client.register_script(TALLY)
        self._annotate = self._client.register_script(ANNOTATE)
        self._settle = self._client.register_script(SETTLE)
        self._swap = self._client.register_script(SWAP)
        self._tallies = (f"{prefix}:tally:n", f"{prefix}:tally:last", f"{prefix}:tally:detail")

    def describe(self) -> str:
        return f"Redis, cache {self.alias!r}"

    def _key(self, kind: str, key: str) -> str:
        return f"{self.prefix}:{kind}:{key}"

    def _call(self, fn: Any, *args: Any, _unknown: Any = None, **kwargs: Any) -> Any:
        self.guard()
        self.operations += 1
        try:
            result = fn(*args, **kwargs)
        except self._errors as exc:
            # A timeout: the command may have reached Redis, which may still run it.
            self.failed(exc, unknown=_unknown if isinstance(exc, self._timeouts) else None)
        self.answered()
        return result

    def probe(self) -> None:
        self._client.set(self._key("v", "store:probe"), b"1", px=60_000)

    def hit(self, counters: Sequence[WindowCounter]) -> list[int]:
        keys = [self._key("w", f"{c.key}:{c.window}") for c in counters]
        return [int(n) for n in self._call(self._hit, keys=keys, args=[c.ttl for c in counters])]

    def read(self, keys: Sequence[str]) -> dict[str, int]:
        values = self._call(self._client.mget, [self._key("g", k) for k in keys])
        return {k: int(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def bump(self, keys: Sequence[str]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.incr(self._key("g", key))
        self._call(pipe.execute)

    def claim(self, key: str, ttl: float, holder: str = "") -> bool:
        px = max(1, int(ttl * 1000))
        return bool(self._call(self._client.set, self._key("v", key), json.dumps(holder), nx=True, px=px))

    def swap(self, key: str, holder: str, new: str | None, ttl: float) -> bool:
        args = [json.dumps(holder), "" if new is None else json.dumps(new), max(1, int(ttl * 1000))]
        return bool(self._call(self._swap, keys=[self._key("v", key)], args=args))

    def release(self, key: str) -> None:
        self._call(self._client.delete, self._key("v", key))

    def get(self, key: str) -> Any:
        raw = self._call(self._client.get, self._key("v", key))
        return json.loads(raw) if raw else None

    def put(self, key: str, value: Any, ttl: float | None) -> None:
        px = None if ttl is None else max(1, int(ttl * 1000))
        self._call(self._client.set, self._key("v", key), json.dumps(value), px=px)

    def tally(self, key: str, now: float) -> int:
        keys = [*self._tallies[:2], self._key("e", os.urandom(8).hex())]
        args = [key, repr(now), EVENT_TTL]

        def resend() -> int:
            return int(self._call(self._tally, keys=keys, args=args))

        return int(self._call(self._tally, keys=keys, args=args, _unknown=resend))

    def annotate(self, key: str, detail: bytes) -> None:
        # Not for a tally a flush has just settled: nothing would delete it.
        self._call(self._annotate, keys=[self._tallies[0], self._tallies[2]], args=[key, detail])

    def pending(self, limit: int) -> list[Pending]:
        pipe = self._client.pipeline(transaction=True)
        for name in self._tallies:
            pipe.hgetall(name)
        counts, lasts, details = self._call(pipe.execute)
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
        self._call(self._settle, keys=list(self._tallies), args=args)

    def clear(self) -> None:
        keys = list(self._client.scan_iter(match=f"{self.prefix}:*", count=1000))
        if keys:
            self._call(self._client.delete, *keys)

    def close(self) -> None:
        pass
