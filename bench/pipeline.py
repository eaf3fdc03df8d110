"""Benchmarks of formguard's per-request cost. Prints numbers; asserts nothing.

    .venv/py311/bin/python bench/pipeline.py [--requests 2000]

Machines are noisy, so every figure that matters is a ratio within one run:
a guarded view against the same view unguarded, 10,000 rules against 10.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
# As in production: no debug page machinery, and (below) no test-environment
# instrumentation of template rendering.
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from formguard import incidents, policies, rules  # noqa: E402
from formguard.models import BlockRule, FormPolicy  # noqa: E402


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def timed(fn, n: int) -> list[float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return samples


def bench_guarded_post(n: int) -> None:
    FormPolicy.objects.update_or_create(
        form_key="*",
        defaults={
            "enabled": True,
            "monitor_only": False,
            "rate_limit": "1000000/d",
            "burst_count": 1000000,
            "burst_window": 60,
        },
    )
    FormPolicy.objects.update_or_create(form_key="plain", defaults={})
    policies.invalidate()
    client = Client()
    data = {"name": "山田", "message": "x" * 200}

    def guarded(i):
        client.post("/t/plain/", data, REMOTE_ADDR=f"198.51.{i // 250 % 250}.{i % 250 + 1}")

    def bare(i):
        client.post("/t/unguarded/", data, REMOTE_ADDR=f"198.51.{i // 250 % 250}.{i % 250 + 1}")

    guarded(0), bare(0)  # warm up
    g, b = [], []
    # Interleave in rounds so that drift of the machine hits both alike.
    for _ in range(10):
        g += timed(guarded, n // 10)
        b += timed(bare, n // 10)
    print(f"guarded POST (allowed, all checks): median {median_us(g):8.1f} µs")
    print(f"same view unguarded:                median {median_us(b):8.1f} µs")
    print(f"  ratio guarded / bare: {median_us(g) / median_us(b):.2f}  (overhead {median_us(g) - median_us(b):.1f} µs)")


def _random_rules(count: int, seed: int = 7) -> list[BlockRule]:
    rnd = random.Random(seed)
    made = []
    for i in range(count):
        if i % 4 == 0:
            net = ipaddress.ip_network((rnd.getrandbits(32), rnd.choice([16, 20, 24, 28])), strict=False)
        elif i % 4 == 1:
            net = ipaddress.ip_network((rnd.getrandbits(128), rnd.choice([32, 48, 56, 64])), strict=False)
        elif i % 4 == 2:
            net = ipaddress.ip_network(ipaddress.IPv4Address(rnd.getrandbits(32)))
        else:
            net = ipaddress.ip_network(ipaddress.IPv6Address(rnd.getrandbits(128)))
        made.append(BlockRule(network=str(net), reason="bench"))
    return made


def bench_rule_lookup(n: int) -> None:
    now = timezone.now()
    rnd = random.Random(3)
    probes = [ipaddress.IPv4Address(rnd.getrandbits(32)) for _ in range(500)]
    probes += [ipaddress.IPv6Address(rnd.getrandbits(128)) for _ in range(500)]
    results = {}
    for count in (10, 10_000):
        BlockRule.objects.all().delete()
        BlockRule.objects.bulk_create(_random_rules(count))
        # An established list: its rules were saved long ago.
        BlockRule.objects.update(updated_at=now - timedelta(days=1))
        rules.invalidate(full=True)
        start = time.perf_counter()
        index = rules.get_index()
        build = time.perf_counter() - start

        def lookup(i, index=index):
            index.matches(probes[i % len(probes)], now)

        samples = timed(lookup, n * 5)
        results[count] = median_us(samples)
        print(
            f"rule lookup with {count:>6} rules: median {results[count]:6.2f} µs  (index built in {build * 1000:.0f} ms)"
        )
    print(f"  ratio 10,000 rules / 10 rules: {results[10_000] / results[10]:.2f}")
    # A flood of automatic bans: each worker picks up each new rule.
    pickups = []
    for i in range(50):
        rules.add_rule(f"192.0.2.{i + 1}", source=BlockRule.Source.AUTOMATIC)
        start = time.perf_counter()
        rules.get_index()
        pickups.append(time.perf_counter() - start)
    print(f"  picking up one new ban among 10,000 rules: median {median_us(pickups):.0f} µs (no full rebuild)")
    BlockRule.objects.all().delete()
    rules.invalidate(full=True)


def bench_blocked_writes(count: int = 10_000) -> None:
    """Database writes for a flood of refused POSTs.

    The bound (incidents.py): per client (IPv4 address or IPv6 /64), form,
    reason and INCIDENT_WINDOW, one INSERT plus at most one UPDATE per
    INCIDENT_FLUSH_INTERVAL, each doubled when a block rule's hit count
    moves with it. Here each flood lasts less than one interval, so the
    refusals themselves write once, and a reader's flush once more.
    """
    BlockRule.objects.all().delete()
    rules.add_rule("114.114.114.0/24", reason="bench")
    rules.add_rule("2001:db8:7:7::/64", reason="bench")
    client = Client()
    floods = {
        "one IPv4 address": lambda i: "114.114.114.9",
        "10,000 addresses of one IPv6 /64": lambda i: f"2001:db8:7:7::{i + 1:x}",
    }
    for label, address in floods.items():
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            for i in range(count):
                client.post("/t/plain/", {"message": "spam"}, REMOTE_ADDR=address(i))
            elapsed = time.perf_counter() - start
            moved = incidents.flush_pending()
        writes = [q for q in ctx.captured_queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
        print(
            f"{count} blocked POSTs from {label}: {len(writes)} database writes "
            f"({moved} counts moved by the reader's flush), {elapsed / count * 1e6:.0f} µs per refusal"
        )


def bench_closed(n: int) -> None:
    """A closed form's refusal against the bare view: what a flood costs then."""
    policies.set_closed("plain", True)
    client = Client()
    data = {"message": "x" * 200}

    def closed(i):
        client.post("/t/plain/", data, REMOTE_ADDR=f"198.51.{i // 250 % 250}.{i % 250 + 1}")

    def bare(i):
        client.post("/t/unguarded/", data, REMOTE_ADDR=f"198.51.{i // 250 % 250}.{i % 250 + 1}")

    c, b = [], []
    for _ in range(10):
        c += timed(closed, n // 10)
        b += timed(bare, n // 10)
    print(
        f"closed form, refused POST: median {median_us(c):8.1f} µs; bare view {median_us(b):8.1f} µs; "
        f"ratio {median_us(c) / median_us(b):.2f}"
    )
    policies.set_closed("plain", False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    connection.creation.create_test_db(verbosity=0)
    caches["default"].clear()
    call_command("check")
    logging.disable(logging.WARNING)  # refusals are logged; the terminal is for numbers
    print(
        f"Django {django.get_version()}, Python {sys.version.split()[0]}, cache {caches['default'].__class__.__name__}, "
        f"database {connection.vendor}"
    )
    bench_guarded_post(args.requests)
    bench_rule_lookup(args.requests)
    bench_blocked_writes()
    bench_closed(args.requests)


if __name__ == "__main__":
    main()
