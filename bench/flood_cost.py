"""What a flood costs, in process: formguard's passing POST and its refusals against
the bare contact form and django-ratelimit alone (issue 10). Prints numbers; asserts nothing.

    .venv/py311/bin/python bench/flood_cost.py [--requests 1000] [--only REGEX]

About 2.5 minutes with the defaults on 2 cores (today's code).

Every request goes through Django's ``WSGIHandler`` as a server would call it
(no test client, no template instrumentation, DEBUG off). Machines are noisy, so
each variant is measured in 10 alternating rounds against the bare view (the
demo's contact form without formguard, doing the same work: form validation,
mail, redirect), and its ratio is the median of the per-round ratios
``median(variant) / median(bare)``.

Variants:

- bare vs bare (the noise floor), django-ratelimit alone (one counter) on
  LocMemCache and on Redis (``RATELIMIT_USE_CACHE``);
- formguard: every check passes (500 rotating Japanese addresses, country
  filter on, huge limits); refusals from one address and from 500 rotating
  ones: banned IP / banned /16 (403), closed form (503), rate limit (429,
  counters pre-filled, no burst ban);
- each formguard variant on the embedded default store
  (``FORMGUARD["CACHE"] = None``) and on Redis (``FORMGUARD["CACHE"] = alias``).
  Until ``formguard.store`` exists they run on today's state layer instead
  (``RATELIMIT_USE_CACHE``: LocMemCache, Redis), labelled so.

Per variant: median µs, the ratio with issue 10's goal, round trips to the state
store per request (``get_store().operations``; on today's layer, Django cache
calls counted in a separate untimed pass), Redis commands per request (the
server's own count), database writes per request (INSERT/UPDATE/DELETE on
Django's connection, over the timed requests), and the status codes seen, so a
variant that does not do what its name says shows it. Last, "exact counts":
after a refusal flood from 500 addresses and ``flush_pending()``, the incident
counts against the requests sent.

Redis: FORMGUARD_TEST_REDIS_URL, else a throwaway ``redis-server`` on a free
loopback port, stopped at exit. Its database is flushed between variants.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import (  # noqa: E402
    BANNED_ADDRESSES,
    BANNED_ONE,
    BANNED_RANGE,
    BENCH_POLICY,
    FIELDS,
    JP_ADDRESSES,
    JP_ONE,
    Redis,
    Wsgi,
    goal_mark,
    median,
)

ROUNDS = 10
WARMUP = 20
GOAL_PASS = {"embedded": 1.35, "redis": 2.0}
GOAL_REFUSAL = 0.5
BARE_PATH = "/bench/bare/"
GUARDED_PATH = "/contact/"
RATELIMIT_PATH = "/bench/ratelimit/"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--requests", type=int, default=1000, help="timed POSTs per variant (and as many to the bare view)"
    )
    parser.add_argument("--only", default="", help="run only variants whose name matches this regex")
    parser.add_argument(
        "--max-seconds", type=float, default=40.0, help="stop a variant's rounds after this long (default 40)"
    )
    return parser.parse_args()


ARGS = parse_args()
REDIS = Redis()
if REDIS.url:
    os.environ["BENCH_REDIS_URL"] = REDIS.url
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
# As in production: no debug machinery; mail kept in memory.
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.test import override_settings  # noqa: E402

from formguard import incidents, policies, rules  # noqa: E402
from formguard.models import BlockRule, FormPolicy, Incident  # noqa: E402
from formguard.testing import trap_fields  # noqa: E402

# As a browser sends it: a form shown a minute ago (formguard's bot traps, issue 12).
BODY = urlencode({**FIELDS, **trap_fields("contact", age=60)}).encode()

# The state layer issue 9 builds; absent on older code, where the formguard
# variants run on today's cache setup instead.
try:
    from formguard.store import get_store
    from formguard.testing import reset as formguard_reset

    STATE_LAYER_MISSING = ""
except ImportError as exc:
    get_store = formguard_reset = None
    STATE_LAYER_MISSING = f"{type(exc).__name__}: {exc}"


# -- the state backends ------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    key: str  # "embedded" or "redis": picks the goal
    label: str
    overrides: dict[str, Any]
    # The Django cache alias the state goes through, when it does (today's
    # layer, django-ratelimit): its calls are counted by wrapping it.
    cache_alias: str | None = None
    unavailable: str = ""

    @property
    def is_redis(self) -> bool:
        return self.key == "redis"

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        with override_settings(**self.overrides):
            reset_state(self)
            yield


def formguard_backends(state_dir: Path) -> list[Backend]:
    no_redis = "" if REDIS.url else REDIS.label
    if get_store is not None:
        base = dict(settings.FORMGUARD)
        return [
            Backend(
                "embedded",
                "embedded default",
                {"FORMGUARD": {**base, "CACHE": None, "STATE_PATH": str(state_dir / "state.sqlite3")}},
            ),
            Backend("redis", "Redis", {"FORMGUARD": {**base, "CACHE": "bench-redis"}}, unavailable=no_redis),
        ]
    return [
        Backend(
            "embedded",
            "LocMemCache, today (embedded default not available)",
            {"RATELIMIT_USE_CACHE": "bench-locmem"},
            cache_alias="bench-locmem",
        ),
        Backend(
            "redis",
            "Redis, today (RATELIMIT_USE_CACHE)",
            {"RATELIMIT_USE_CACHE": "bench-redis"},
            cache_alias="bench-redis",
            unavailable=no_redis,
        ),
    ]


def peer_backends() -> list[Backend]:
    return [
        Backend("embedded", "LocMemCache", {"RATELIMIT_USE_CACHE": "bench-locmem"}, cache_alias="bench-locmem"),
        Backend(
            "redis",
            "Django RedisCache",
            {"RATELIMIT_USE_CACHE": "bench-redis"},
            cache_alias="bench-redis",
            unavailable="" if REDIS.url else REDIS.label,
        ),
    ]


BARE_BACKEND = Backend("embedded", "no state", {})


def reset_state(backend: Backend) -> None:
    """Forget every counter and cached row, on whatever layer holds them."""
    for alias in settings.CACHES:  # django-ratelimit's counters, today's formguard state
        caches[alias].clear()
    if formguard_reset is not None:
        formguard_reset()
    else:
        policies.invalidate()
        rules.invalidate(full=True)
    mail.outbox = []


# -- sending requests --------------------------------------------------------


@dataclass
class Stream:
    """POSTs to one path, rotating over addresses across rounds."""

    wsgi: Wsgi
    path: str
    addresses: list[str]
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)

    def run(self, count: int, deadline: float) -> list[float]:
        samples = []
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            elapsed, status = self.wsgi.post(self.path, self.addresses[self.sent % len(self.addresses)], BODY)
            self.sent += 1
            self.statuses[status] += 1
            samples.append(elapsed)
        return samples


# -- counting what a request costs besides time ------------------------------


class DbWrites:
    """INSERT/UPDATE/DELETE statements on Django's connection (an execute wrapper: cheap)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE", "REPLAC"):
            self.count += 1
        return execute(sql, params, many, context)


class RedisCommands:
    """Commands the Redis server processed (INFO stats), minus the INFO calls themselves."""

    def __init__(self) -> None:
        import redis

        self.client = redis.Redis.from_url(REDIS.url, socket_timeout=2) if REDIS.url else None
        self.overhead = 0
        if self.client is not None:
            first, second = self.read(), self.read()
            self.overhead = second - first

    def read(self) -> int:
        return int(self.client.info("stats")["total_commands_processed"]) if self.client else 0


@contextlib.contextmanager
def counting_cache_calls(alias: str) -> Iterator[Counter]:
    """Count the outermost public calls on the cache ``alias`` (nested ones are the same call)."""
    cache = caches[alias]
    counts: Counter = Counter()
    depth = [0]
    names = ["get", "get_many", "set", "set_many", "add", "incr", "decr", "touch", "delete", "delete_many", "has_key"]
    originals = {name: getattr(cache, name) for name in names}

    def wrap(name: str, method: Callable) -> Callable:
        def counted(*args, **kwargs):
            if depth[0] == 0:
                counts[name] += 1
            depth[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1

        return counted

    for name, method in originals.items():
        setattr(cache, name, wrap(name, method))
    try:
        yield counts
    finally:
        for name in names:
            delattr(cache, name)


def store_operations() -> int | None:
    """Round trips to formguard's state store since the process started, when it counts them."""
    return getattr(get_store(), "operations", None) if get_store is not None else None


@dataclass
class Counts:
    requests: int = 0
    store_ops: int | None = 0
    redis_commands: int = 0
    db_writes: int = 0


@contextlib.contextmanager
def counted(counts: Counts, redis_commands: RedisCommands, backend: Backend, formguard: bool) -> Iterator[None]:
    store_before = store_operations() if formguard else None
    redis_before = redis_commands.read() if backend.is_redis else 0
    writes = DbWrites()
    with connection.execute_wrapper(writes):
        yield
    counts.db_writes += writes.count
    store_after = store_operations() if formguard else None
    if store_before is None or store_after is None or counts.store_ops is None:
        counts.store_ops = None
    else:
        counts.store_ops += store_after - store_before
    if backend.is_redis:
        counts.redis_commands += redis_commands.read() - redis_before - redis_commands.overhead


# -- variants ----------------------------------------------------------------


def fresh_rows(**contact: Any) -> None:
    """The database as a variant starts: two policy rows, no rules, no incidents."""
    Incident.objects.all().delete()
    BlockRule.objects.all().delete()
    FormPolicy.objects.all().delete()
    FormPolicy.objects.create(form_key="*", **BENCH_POLICY)
    FormPolicy.objects.create(form_key="contact", **contact)


def prepare_nothing(wsgi: Wsgi, addresses: list[str]) -> None:
    fresh_rows()


def prepare_ban(wsgi: Wsgi, addresses: list[str]) -> None:
    fresh_rows()
    rules.add_rule(BANNED_RANGE, reason="bench")
    rules.add_rule(BANNED_ONE[0], reason="bench")


def prepare_closed(wsgi: Wsgi, addresses: list[str]) -> None:
    fresh_rows(closed=True)


def prepare_rate_limit(wsgi: Wsgi, addresses: list[str]) -> None:
    # One POST per address uses up a limit of 1 in 30 days: every timed POST is over it. (A long
    # period: django-ratelimit's windows start at a different moment for each key, and one
    # that turns over mid-run would let a POST through.)
    fresh_rows(rate_limit="1/30d")
    for address in addresses:
        wsgi.post(GUARDED_PATH, address, BODY)


@dataclass(frozen=True)
class Variant:
    name: str
    backend: Backend
    path: str
    addresses: list[str]
    goal: float | None = None
    prepare: Callable[[Wsgi, list[str]], None] = prepare_nothing
    expect: int = 302  # the status every timed request should get
    formguard: bool = False

    @property
    def title(self) -> str:
        return f"{self.name} [{self.backend.label}]"


# (name, prepare, addresses, status) of every refusal, from one address and from 500.
REFUSALS = [
    ("formguard refusal: banned IP (403), 1 address", prepare_ban, BANNED_ONE, 403),
    ("formguard refusal: banned /16 (403), 500 addresses", prepare_ban, BANNED_ADDRESSES, 403),
    ("formguard refusal: closed form (503), 1 address", prepare_closed, JP_ONE, 503),
    ("formguard refusal: closed form (503), 500 addresses", prepare_closed, JP_ADDRESSES, 503),
    ("formguard refusal: rate limit (429), 1 address", prepare_rate_limit, JP_ONE, 429),
    ("formguard refusal: rate limit (429), 500 addresses", prepare_rate_limit, JP_ADDRESSES, 429),
]


def all_variants(state_dir: Path) -> list[Variant]:
    variants = [Variant("bare vs bare (noise floor)", BARE_BACKEND, BARE_PATH, JP_ADDRESSES)]
    variants += [
        Variant("django-ratelimit alone, 1 counter", backend, RATELIMIT_PATH, JP_ADDRESSES)
        for backend in peer_backends()
    ]
    for backend in formguard_backends(state_dir):
        variants.append(
            Variant(
                "formguard pass: every check passes, 500 addresses",
                backend,
                GUARDED_PATH,
                JP_ADDRESSES,
                goal=GOAL_PASS[backend.key],
                formguard=True,
            )
        )
        variants += [
            Variant(name, backend, GUARDED_PATH, addresses, GOAL_REFUSAL, prepare, status, formguard=True)
            for name, prepare, addresses, status in REFUSALS
        ]
    return variants


# -- measuring ---------------------------------------------------------------


@dataclass
class Result:
    variant: Variant
    median_us: float = float("nan")
    bare_us: float = float("nan")
    ratio: float = float("nan")
    rounds: int = 0
    counts: Counts = field(default_factory=Counts)
    cache_calls: float | None = None  # per request, sampled (today's layer, peers)
    statuses: Counter = field(default_factory=Counter)
    unavailable: str = ""

    @property
    def unexpected(self) -> int:
        """Timed responses whose status is not the variant's: then it measured something else."""
        return sum(count for status, count in self.statuses.items() if status != self.variant.expect)

    def per_request(self, value: int) -> float:
        return value / self.counts.requests if self.counts.requests else float("nan")

    @property
    def round_trips(self) -> str:
        if self.variant.formguard and get_store is not None:
            if self.counts.store_ops is None:
                return "n/a (no get_store().operations)"
            return f"{self.per_request(self.counts.store_ops):.2f}"
        if self.cache_calls is not None:
            return f"{self.cache_calls:.2f}*"
        return "0" if self.variant.path == BARE_PATH else "–"

    @property
    def redis_commands(self) -> str:
        return f"{self.per_request(self.counts.redis_commands):.2f}" if self.variant.backend.is_redis else "–"

    @property
    def db_writes(self) -> str:
        return f"{self.per_request(self.counts.db_writes):.3f}"


def measure(wsgi: Wsgi, variant: Variant, requests: int, redis_commands: RedisCommands) -> Result:
    result = Result(variant)
    if variant.backend.unavailable:
        result.unavailable = variant.backend.unavailable
        return result
    per_round = max(1, requests // ROUNDS)
    try:
        with variant.backend.active():
            variant.prepare(wsgi, variant.addresses)
            bare = Stream(wsgi, BARE_PATH, variant.addresses)
            guarded = Stream(wsgi, variant.path, variant.addresses)
            deadline = time.monotonic() + ARGS.max_seconds
            bare.run(WARMUP, deadline)
            guarded.run(WARMUP, deadline)
            guarded.statuses.clear()
            ratios, bare_all, guarded_all = [], [], []
            for round_no in range(ROUNDS):
                # Alternate which goes first, so drift within a round hits both alike.
                b: list[float] = []
                g: list[float] = []
                for stream in (bare, guarded) if round_no % 2 == 0 else (guarded, bare):
                    if stream is bare:
                        b = bare.run(per_round, deadline)
                        continue
                    with counted(result.counts, redis_commands, variant.backend, variant.formguard):
                        g = guarded.run(per_round, deadline)
                    result.counts.requests += len(g)
                if not b or not g:
                    break
                ratios.append(median(g) / median(b))
                bare_all += b
                guarded_all += g
            result.rounds = len(ratios)
            result.median_us = median(guarded_all) * 1e6
            result.bare_us = median(bare_all) * 1e6
            result.ratio = median(ratios)
            result.statuses = Counter(guarded.statuses)
            if variant.backend.cache_alias:
                # Not timed: wrapping the cache costs time of its own.
                sample = min(200, requests)
                with counting_cache_calls(variant.backend.cache_alias) as calls:
                    guarded.run(sample, time.monotonic() + 10)
                result.cache_calls = sum(calls.values()) / sample
    except Exception as exc:  # a setting or import the state layer does not have yet
        result.unavailable = f"{type(exc).__name__}: {exc}"
    return result


def exact_counts(wsgi: Wsgi, backend: Backend, requests: int) -> None:
    """A refusal flood from 500 addresses; the incidents must count every request."""
    title = f"exact counts [{backend.label}]"
    if backend.unavailable:
        print(f"{title}: not available ({backend.unavailable})")
        return
    try:
        with backend.active():
            prepare_ban(wsgi, BANNED_ADDRESSES)
            stream = Stream(wsgi, GUARDED_PATH, BANNED_ADDRESSES)
            writes = DbWrites()
            with connection.execute_wrapper(writes):
                stream.run(requests, time.monotonic() + ARGS.max_seconds)
            incidents.flush_pending()
            counted_per_ip = dict(Incident.objects.values_list("ip").annotate(Sum("count")))
            sent_per_ip = Counter(BANNED_ADDRESSES[i % len(BANNED_ADDRESSES)] for i in range(stream.sent))
            wrong = sum(1 for ip, sent in sent_per_ip.items() if counted_per_ip.get(ip, 0) != sent)
            hits = BlockRule.objects.filter(network=BANNED_RANGE).values_list("hits", flat=True).first()
            print(
                f"{title}: requests sent {stream.sent}, sum of Incident.count {sum(counted_per_ip.values())}, "
                f"addresses with a wrong count {wrong} of {len(sent_per_ip)}, the rule's hits {hits}; "
                f"{writes.count} DB writes during the flood (statuses {format_statuses(stream.statuses)})"
            )
    except Exception as exc:
        print(f"{title}: not available ({type(exc).__name__}: {exc})")


# -- output ------------------------------------------------------------------


def format_statuses(statuses: Counter) -> str:
    return " ".join(f"{status}×{count}" for status, count in sorted(statuses.items())) or "none"


def print_result(result: Result) -> None:
    if result.unavailable:
        print(f"{result.variant.title}: not available ({result.unavailable})", flush=True)
        return
    v = result.variant
    warning = ""
    if result.unexpected:
        warning = f"\n    ⚠ {result.unexpected} responses were not the expected {v.expect}: not the variant it says"
    print(
        f"{v.title}\n"
        f"    median {result.median_us:7.1f} µs (bare {result.bare_us:6.1f} µs), ratio {result.ratio:5.2f} "
        f"goal {goal_mark(result.ratio, v.goal)}, rounds {result.rounds}; per request: round trips "
        f"{result.round_trips}, Redis commands {result.redis_commands}, DB writes {result.db_writes}; "
        f"statuses {format_statuses(result.statuses)}{warning}",
        flush=True,
    )


def print_table(results: list[Result]) -> None:
    rows = [("variant", "state", "median µs", "ratio", "goal", "round trips/req", "Redis cmds/req", "DB writes/req")]
    for r in results:
        v = r.variant
        if r.unavailable:
            rows.append((v.name, v.backend.label, "n/a", "n/a", goal_mark(float("nan"), v.goal), "", "", ""))
            continue
        rows.append(
            (
                v.name,
                v.backend.label,
                f"{r.median_us:.0f}",
                f"{r.ratio:.2f}" + (" ⚠" if r.unexpected else ""),
                goal_mark(r.ratio, v.goal),
                r.round_trips,
                r.redis_commands,
                r.db_writes,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for n, row in enumerate(rows):
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        print("| " + " | ".join(cells) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) if i < 2 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|")
    print()
    if any(r.unexpected for r in results):
        print("⚠: some timed responses did not have the variant's status (see above).")
    print(
        "round trips: formguard.store's operations counter; * = Django cache calls on the alias, counted "
        "in a separate untimed pass (today's layer and django-ratelimit). Redis commands: the server's count."
    )


def main() -> None:
    connection.creation.create_test_db(verbosity=0)
    logging.disable(logging.WARNING)  # refusals are logged; the terminal is for numbers
    wsgi = Wsgi()
    redis_commands = RedisCommands()
    print(
        f"Django {django.get_version()}, Python {sys.version.split()[0]}, database {connection.vendor}, "
        f"{ARGS.requests} timed POSTs per variant in {ROUNDS} rounds against the bare view"
    )
    print(REDIS.label)
    if STATE_LAYER_MISSING:
        print(
            f"embedded default store: not available ({STATE_LAYER_MISSING}); formguard variants run on "
            "today's cache setup (RATELIMIT_USE_CACHE) instead"
        )
    only = re.compile(ARGS.only, re.IGNORECASE) if ARGS.only else None
    started = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="formguard-bench-state-") as state_dir:
        for variant in all_variants(Path(state_dir)):
            if only and not only.search(variant.title):
                continue
            results.append(measure(wsgi, variant, ARGS.requests, redis_commands))
            print_result(results[-1])
        for backend in formguard_backends(Path(state_dir)):
            if not only or only.search(f"exact counts [{backend.label}]"):
                exact_counts(wsgi, backend, requests=max(2000, ARGS.requests))
    print_table(results)
    print(f"\n{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    finally:
        REDIS.close()
