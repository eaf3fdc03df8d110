"""formguard against a lean bare form view and the floor, in one run (issue 24).
Prints numbers; asserts nothing.

    .venv/py311/bin/python bench/lean.py [--rounds 15] [--batch 120] [--only REGEX]

About 2.5 minutes with the defaults on 2 cores. Every request goes through
Django's ``WSGIHandler`` in process (the whole middleware stack, DEBUG off, no
test client), as the other benches send it (bench/_support.py).

The two references every figure is a ratio to (bench/views.py):

- the lean bare form view (``/bench/lean/``): a three-field Django form, a small
  template with a CSRF token; the timed POST is valid and redirects;
- the floor (``/bench/floor/``): the same middleware, a CSRF-exempt view that
  returns a constant and never reads the body. formguard refuses before the
  CSRF check, so the floor does not pay it either.

The variants: formguard's passing POST on the lean view (form key ``contact``)
on the embedded store, on Redis through Django's RedisCache and through
django-redis; django-ratelimit alone (one counter per IP) on the same lean view,
on LocMemCache and on the same Redis both ways; refusals of a banned address,
a closed form and a rate-limited address (from 1 address and from 500), on the
embedded store and on Redis (RedisCache); the lean view's GET and the demo's
full contact page (form, mail, redirect) as second references.

The owner-taught filter (issue 22) is on in the demo's policy: every passing POST
above is scored by a model taught the corpus's training split (178 labels, so it
acts). Beside them: the passing POST with the filter off (form key
``bench-nofilter``), and the demo's guarded contact page with the filter on (it
then also keeps the delivered submission and signs the mail's label links) and off.

The policy is the demo's (its ``DEFAULT_POLICY``, the bench's ``FORMGUARD``
without the captcha) with every check on that a bench can pass: honeypot
(empty) and time trap (a token issued a minute before the run), Japanese text,
links, NG words (the demo's list: empty), sender address, the per-address
(recipient) limit, the flood breaker, the rate limit and burst (limits that
never trip within a run) and the country filter (Japan only; the addresses are
Japanese). The captcha is OFF (its cost per POST is bench/captcha_cost.py's).

Noise: the machine is shared, so the variants are interleaved. Each round sends
a batch of every variant in turn (the order rotates each round), each batch
after a few untimed requests on its own settings; a variant's figure is the
median over rounds of ``median(batch) / median(lean batch of that round)``
(and the same against the floor). Absolute µs are medians of the batch medians.

Redis: FORMGUARD_BENCH_REDIS_URL (or FORMGUARD_TEST_REDIS_URL), else a private
``redis-server`` on a free loopback port, stopped at exit.
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
from collections.abc import Iterator
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
    median,
)

LEAN = "/bench/lean/"
FLOOR = "/bench/floor/"
DEMO = "/bench/bare/"
RATELIMIT = "/bench/lean/ratelimit/"
GUARDED = "/bench/lean/guarded/"
CLOSED = "/bench/lean/closed/"
LIMITED = "/bench/lean/limited/"
# The owner-taught filter (issue 22): off under this form key; on (taught) under "contact".
NOFILTER = "/bench/lean/nofilter/"
DEMO_GUARDED = "/contact/"
DEMO_NOFILTER = "/bench/contact-nofilter/"


# Issue 24's targets.
TARGET_PASS_EMBEDDED = 1.35  # × lean
TARGET_REFUSAL = 1.5  # × floor, banned and closed on the embedded store


def boot(redis: Redis | None) -> None:
    """Django's setup on the bench settings (with Redis aliases when ``redis`` answers), a test database."""
    if redis is not None and redis.url:
        os.environ["BENCH_REDIS_URL"] = redis.url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    # As in production: no debug machinery; mail kept in memory.
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django
    from django.db import connection

    django.setup()
    connection.creation.create_test_db(verbosity=0)
    # Refusals are logged at WARNING; the terminal is for numbers (as bench/flood_cost.py).
    logging.disable(logging.WARNING)


def body(form_key: str) -> bytes:
    """A valid POST of the lean form, with the trap fields a browser sends (form shown a minute ago)."""
    from formguard.testing import trap_fields

    return urlencode({**FIELDS, **trap_fields(form_key, age=60)}).encode()


# -- where the state lives ----------------------------------------------------


@dataclass(frozen=True)
class Store:
    key: str  # "embedded", "redis", "django-redis"
    label: str
    formguard: dict[str, Any]  # the FORMGUARD setting
    ratelimit_cache: str  # django-ratelimit's RATELIMIT_USE_CACHE

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        from django.test import override_settings

        with override_settings(FORMGUARD=self.formguard, RATELIMIT_USE_CACHE=self.ratelimit_cache):
            yield


def stores(state_dir: Path, redis_url: str | None) -> dict[str, Store]:
    from django.conf import settings

    base = dict(settings.FORMGUARD)  # the demo's, without the captcha (tests/settings.py)
    made = {
        "embedded": Store(
            "embedded",
            "embedded",
            {**base, "CACHE": None, "STATE_PATH": str(state_dir / "state.sqlite3")},
            "bench-locmem",
        )
    }
    if redis_url:
        made["redis"] = Store("redis", "Redis (RedisCache)", {**base, "CACHE": "bench-redis"}, "bench-redis")
        made["django-redis"] = Store(
            "django-redis", "Redis (django-redis)", {**base, "CACHE": "bench-django-redis"}, "bench-django-redis"
        )
    return made


def prepare_rows() -> None:
    """The policies and rules of the run: every variant's state side by side."""
    from formguard import policies, rules
    from formguard.models import BlockRule, FormPolicy, Incident

    Incident.objects.all().delete()
    BlockRule.objects.all().delete()
    FormPolicy.objects.all().delete()
    FormPolicy.objects.create(form_key="*", **{**policies._site_defaults("*"), **BENCH_POLICY})
    FormPolicy.objects.create(form_key="contact")
    FormPolicy.objects.create(form_key="bench-closed", closed=True)
    # One POST per address uses up 1 in 30 days: every timed POST is over it.
    FormPolicy.objects.create(form_key="bench-limited", rate_limit="1/30d")
    FormPolicy.objects.create(form_key="bench-nofilter", filter_enabled=False)
    rules.add_rule(BANNED_RANGE, reason="bench")
    rules.add_rule(BANNED_ONE[0], reason="bench")
    policies.invalidate()
    teach_filter()


def teach_filter() -> None:
    """The filter taught the corpus's training split (178 labels: it acts), as the owner would have."""
    from datetime import timedelta

    from django.utils import timezone

    from formguard import learning
    from formguard.models import Submission
    from tests.corpus import fields_of, load

    Submission.objects.all().delete()
    kept = timezone.now() + timedelta(days=30)
    Submission.objects.bulk_create(
        Submission(
            expires_at=kept,
            form_key="contact",
            status="delivered",
            fields=[[name, value] for name, value in fields_of(item).items()],
            page_language="ja",
            label=label,
        )
        for name, label in (("customers", "customer"), ("pitches", "sales"), ("spam", "spam"))
        for item in load(name, "train")
    )
    learning.rebuild()


def prepare_store(wsgi: Wsgi, store: Store) -> None:
    """Empty the store's formguard state, then use up the rate limit of every address."""
    from formguard.testing import reset

    with store.active():
        reset()
        limited = body("bench-limited")
        for address in JP_ADDRESSES + JP_ONE:
            wsgi.post(LIMITED, address, limited)


# -- variants -----------------------------------------------------------------


@dataclass
class Variant:
    name: str
    kind: str  # "reference", "pass", "peer", "refusal"
    store: Store
    path: str
    addresses: list[str]
    expect: int
    body: bytes = b""
    method: str = "POST"
    target: str = ""  # the target, as text
    # Per round: median seconds of the batch; round trips to formguard's store.
    batches: dict[int, float] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    store_ops: int = 0
    timed: int = 0
    sent: int = 0

    @property
    def title(self) -> str:
        return f"{self.name} [{self.store.label}]"

    def send(self, wsgi: Wsgi) -> tuple[float, int]:
        address = self.addresses[self.sent % len(self.addresses)]
        self.sent += 1
        if self.method == "GET":
            return wsgi.get(self.path, address)
        return wsgi.post(self.path, address, self.body)


def variants(all_stores: dict[str, Store]) -> list[Variant]:
    embedded = all_stores["embedded"]
    passing = body("contact")
    closed = body("bench-closed")
    limited = body("bench-limited")
    nofilter = body("bench-nofilter")
    made = [
        Variant("lean bare form view, POST", "reference", embedded, LEAN, JP_ADDRESSES, 302, passing),
        Variant("floor: constant view, CSRF-exempt", "reference", embedded, FLOOR, JP_ADDRESSES, 200, passing),
        Variant("lean bare form view, GET", "reference", embedded, LEAN, JP_ADDRESSES, 200, method="GET"),
        Variant("demo's full contact page, POST", "reference", embedded, DEMO, JP_ADDRESSES, 302, passing),
        # The owner-taught filter (issue 22): the passing POST with the filter on (taught, acting) and
        # off; the demo's guarded page, which also keeps the delivered submission and signs the mail's links.
        Variant("filter off: formguard passing POST", "pass", embedded, NOFILTER, JP_ADDRESSES, 302, nofilter),
        Variant("filter on: demo's guarded contact page", "pass", embedded, DEMO_GUARDED, JP_ADDRESSES, 302, passing),
        Variant(
            "filter off: demo's guarded contact page", "pass", embedded, DEMO_NOFILTER, JP_ADDRESSES, 302, nofilter
        ),
    ]
    for store in all_stores.values():
        made.append(Variant("django-ratelimit alone", "peer", store, RATELIMIT, JP_ADDRESSES, 302, passing))
    for store in all_stores.values():
        target = (
            f"≤ {TARGET_PASS_EMBEDDED} × lean"
            if store.key == "embedded"
            else f"≤ django-ratelimit alone [{store.label}]"
        )
        made.append(
            Variant("formguard passing POST", "pass", store, GUARDED, JP_ADDRESSES, 302, passing, target=target)
        )
    for key in ("embedded", "redis"):
        if key not in all_stores:
            continue
        store = all_stores[key]
        target = f"≤ {TARGET_REFUSAL} × floor" if key == "embedded" else ""
        made += [
            Variant("refusal: banned address, 1", "refusal", store, GUARDED, BANNED_ONE, 403, passing, target=target),
            Variant(
                "refusal: banned address, 500", "refusal", store, GUARDED, BANNED_ADDRESSES, 403, passing, target=target
            ),
            Variant("refusal: closed form, 1", "refusal", store, CLOSED, JP_ONE, 503, closed, target=target),
            Variant("refusal: closed form, 500", "refusal", store, CLOSED, JP_ADDRESSES, 503, closed, target=target),
            Variant("refusal: rate-limited, 1", "refusal", store, LIMITED, JP_ONE, 429, limited),
            Variant("refusal: rate-limited, 500", "refusal", store, LIMITED, JP_ADDRESSES, 429, limited),
        ]
    return made


# -- measuring ----------------------------------------------------------------


def store_operations() -> int:
    from formguard.store import get_store

    return getattr(get_store(), "operations", 0)


def run_batch(wsgi: Wsgi, variant: Variant, round_no: int, size: int, warmup: int) -> None:
    from django.core import mail

    with variant.store.active():
        for _ in range(warmup):  # the store, rules and pages again after the settings switch
            variant.send(wsgi)
        before = store_operations()
        samples = []
        for _ in range(size):
            elapsed, status = variant.send(wsgi)
            variant.statuses[status] += 1
            samples.append(elapsed)
        variant.store_ops += store_operations() - before
        variant.timed += size
    mail.outbox = []
    variant.batches[round_no] = median(samples)


def measure(wsgi: Wsgi, chosen: list[Variant], rounds: int, size: int, warmup: int) -> None:
    for round_no in range(rounds):
        # Rotate the order, so no variant always follows the same one.
        shift = round_no % len(chosen)
        order = chosen[shift:] + chosen[:shift]
        if round_no % 2:
            order.reverse()
        for variant in order:
            run_batch(wsgi, variant, round_no, size, warmup)
        print(f"round {round_no + 1}/{rounds} done", file=sys.stderr, flush=True)


def ratio(variant: Variant, reference: Variant) -> float:
    per_round = [variant.batches[r] / reference.batches[r] for r in variant.batches if r in reference.batches]
    return median(per_round)


# -- output -------------------------------------------------------------------


def verdict(variant: Variant, lean: Variant, floor: Variant, by_title: dict[str, Variant]) -> str:
    if not variant.target:
        return "–"
    if variant.kind == "refusal":
        met = ratio(variant, floor) <= TARGET_REFUSAL
    elif variant.store.key == "embedded":
        met = ratio(variant, lean) <= TARGET_PASS_EMBEDDED
    else:
        peer = by_title.get(f"django-ratelimit alone [{variant.store.label}]")
        if peer is None:
            return f"{variant.target} ?"
        met = ratio(variant, lean) <= ratio(peer, lean)
    return f"{variant.target} {'✓' if met else '✗'}"


def table(chosen: list[Variant], lean: Variant, floor: Variant) -> list[str]:
    by_title = {v.title: v for v in chosen}
    header = ("variant", "state", "median µs", "× lean", "× floor", "target", "store trips/req", "statuses")
    rows = [header]
    for v in chosen:
        statuses = " ".join(f"{s}×{n}" for s, n in sorted(v.statuses.items()))
        if any(s != v.expect for s in v.statuses):
            statuses += f" ⚠ expected {v.expect}"
        trips = f"{v.store_ops / v.timed:.2f}" if v.kind in ("pass", "refusal") and v.timed else "–"
        rows.append(
            (
                v.name,
                v.store.label,
                f"{median(list(v.batches.values())) * 1e6:.0f}",
                f"{ratio(v, lean):.2f}",
                f"{ratio(v, floor):.2f}",
                verdict(v, lean, floor, by_title),
                trips,
                statuses,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    numeric = {2, 3, 4, 6}
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append(
                "|"
                + "|".join("-" * (w + 1) + ":" if i in numeric else "-" * (w + 2) for i, w in enumerate(widths))
                + "|"
            )
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--batch", type=int, default=120, help="timed requests per variant per round (default 120)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests before each batch (default 5)")
    parser.add_argument("--only", default="", help="only variants whose title matches this regex (references always)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    redis = Redis()
    try:
        boot(redis)
        import django

        wsgi = Wsgi()
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="formguard-bench-lean-") as state_dir:
            all_stores = stores(Path(state_dir), redis.url)
            prepare_rows()
            for store in all_stores.values():
                prepare_store(wsgi, store)
            chosen = variants(all_stores)
            if args.only:
                only = re.compile(args.only, re.IGNORECASE)
                chosen = [v for v in chosen if v.kind == "reference" or only.search(v.title)]
            lean, floor = chosen[0], chosen[1]
            print(
                f"Django {django.get_version()}, Python {sys.version.split()[0]}; {len(chosen)} variants, "
                f"{args.rounds} rounds of {args.batch} timed requests each (+{args.warmup} untimed)"
            )
            print(redis.label)
            measure(wsgi, chosen, args.rounds, args.batch, args.warmup)
        print(
            f"lean bare form view POST: {median(list(lean.batches.values())) * 1e6:.0f} µs; "
            f"floor: {median(list(floor.batches.values())) * 1e6:.0f} µs"
        )
        print()
        print("\n".join(table(chosen, lean, floor)))
        print(
            "\n× lean, × floor: median over rounds of the batch's median over the reference's in the same round. "
            "store trips: formguard.store's operations counter. Captcha off; every other check of the demo's "
            "policy on."
        )
        print(f"\n{time.monotonic() - started:.0f} s")
    finally:
        redis.close()


if __name__ == "__main__":
    main()
