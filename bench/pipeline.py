"""Block-rule lookups: 10,000 rules against 10. Prints numbers; asserts nothing.

    .venv/py311/bin/python bench/pipeline.py [--requests 2000]

Machines are noisy, so the figure that matters is a ratio within one run. The
cost of a whole request, passing or refused, is bench/flood_cost.py's.
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


from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from formguard import rules  # noqa: E402
from formguard.models import BlockRule  # noqa: E402
from formguard.testing import reset as formguard_reset  # noqa: E402


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def timed(fn, n: int) -> list[float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return samples


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    connection.creation.create_test_db(verbosity=0)
    formguard_reset()
    call_command("check")
    logging.disable(logging.WARNING)  # refusals are logged; the terminal is for numbers
    print(f"Django {django.get_version()}, Python {sys.version.split()[0]}, database {connection.vendor}")
    bench_rule_lookup(args.requests)


if __name__ == "__main__":
    main()
