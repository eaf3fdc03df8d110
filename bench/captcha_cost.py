"""What the self-hosted captcha (ALTCHA) costs the server per POST, next to formguard's
pipeline without a captcha, in process (issue 13). Prints numbers; asserts nothing.

    .venv/py311/bin/python bench/captcha_cost.py [--requests 400]

About half a minute on 2 cores. Every POST goes through Django's ``WSGIHandler``
(no test client, DEBUG off), on the embedded store, 500 rotating Japanese
addresses, limits that never trip. In 10 alternating rounds:

- bare: the demo's contact form without formguard (form, mail, redirect);
- formguard, no captcha: the guarded form, ``captcha_required`` off;
- formguard + ALTCHA: the same with the captcha required, each POST carrying
  its own solution (solved beforehand, untimed, as a browser would).

Besides: ALTCHA's verification alone (``provider.verify``: two HMACs over the
signed challenge, altcha's fast path) and the replay ledger's claim, and what
issuing one challenge costs (one PBKDF2 of ``COST`` iterations), in µs, medians.
And what the browser pays, for reference: the work is ``difficulty`` / 2 tries on
average (the counter is drawn uniformly from 1..difficulty) of ``COST`` iterations each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import FIELDS, Wsgi, median, setup_django  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--requests", type=int, default=400, help="timed POSTs per variant (default 400)")
ARGS = parser.parse_args()

setup_django()

import logging  # noqa: E402

import altcha  # noqa: E402
import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402

from formguard import policies  # noqa: E402
from formguard.captcha import get_provider, verify_attempt  # noqa: E402
from formguard.captcha.altcha import COST  # noqa: E402
from formguard.models import FormPolicy  # noqa: E402
from formguard.pipeline import make_attempt  # noqa: E402
from formguard.testing import reset  # noqa: E402

ROUNDS = 10
DIFFICULTY = 2000


def policies_for_the_run() -> None:
    """``contact``: no captcha; ``contact-captcha`` (/bench/captcha/): captcha required."""
    for key in ("contact", "contact-captcha"):
        policies.ensure_row(key)
    FormPolicy.objects.update(rate_limit="1000000/m", burst_count=1000000, captcha_required=False)
    FormPolicy.objects.filter(form_key="contact-captcha").update(captcha_required=True)
    policies.invalidate()


def solutions(count: int, form_key: str = "contact-captcha") -> list[str]:
    provider = get_provider()
    tokens = []
    for _ in range(count):
        # The server's cost does not depend on the difficulty; a small one keeps solving here quick.
        challenge = altcha.Challenge.from_dict(provider.challenge(form_key=form_key, difficulty=10))
        tokens.append(altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64())
    return tokens


def run(wsgi: Wsgi, path: str, bodies: list[bytes], offset: int) -> list[float]:
    samples = []
    for i, body in enumerate(bodies):
        elapsed, status = wsgi.post(path, f"133.1.{(offset + i) // 250 % 2}.{(offset + i) % 250 + 1}", body=body)
        assert status == 302, status
        samples.append(elapsed)
    mail.outbox = []
    return samples


def micro(fn, count: int) -> float:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median(samples) * 1e6


def main() -> None:
    connection.creation.create_test_db(verbosity=0)
    logging.disable(logging.WARNING)
    wsgi = Wsgi()
    n = ARGS.requests
    plain = [urlencode(FIELDS).encode()] * n
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD):
        reset()
        policies_for_the_run()
        per_round = max(1, n // ROUNDS)
        solved = [urlencode({**FIELDS, "altcha": t}).encode() for t in solutions(per_round * ROUNDS)]
        bare, guarded, with_altcha = [], [], []
        for r in range(ROUNDS):
            offset = r * per_round
            bare += run(wsgi, "/bench/bare/", plain[:per_round], offset)
            guarded += run(wsgi, "/contact/", plain[:per_round], offset)
            with_altcha += run(wsgi, "/bench/captcha/", solved[offset : offset + per_round], offset)

        provider = get_provider()
        tokens = iter(solutions(n))
        verify_us = micro(
            lambda: provider.verify(next(tokens), remote_ip=None, hostnames=set(), allow_test_hostnames=False),
            n,
        )
        from django.test import RequestFactory

        factory = RequestFactory()
        ledger_tokens = iter(solutions(n))

        def verify_with_ledger():
            request = factory.post("/bench/captcha/", {"altcha": next(ledger_tokens)}, REMOTE_ADDR="133.1.0.1")
            verify_attempt(make_attempt(request, "contact-captcha"), provider)

        ledger_us = micro(verify_with_ledger, n)
        issue_us = micro(lambda: provider.challenge(form_key="contact", difficulty=DIFFICULTY), n)

    b, g, a = median(bare) * 1e6, median(guarded) * 1e6, median(with_altcha) * 1e6
    print(f"Django {django.get_version()}, Python {sys.version.split()[0]}, {len(bare)} POSTs per variant")
    print(f"{'variant':<44} {'median µs':>10} {'× bare':>8}")
    print(f"{'bare contact form':<44} {b:>10.0f} {1:>8.2f}")
    print(f"{'formguard, no captcha':<44} {g:>10.0f} {g / b:>8.2f}")
    print(f"{'formguard + ALTCHA (each POST solved)':<44} {a:>10.0f} {a / b:>8.2f}")
    print(f"{'  of which the captcha (difference)':<44} {a - g:>10.0f} {(a - g) / b:>8.2f}")
    print(f"ALTCHA verify alone (parse, two HMACs):     {verify_us:8.0f} µs")
    print(f"ALTCHA verify + replay claim in the store:  {ledger_us:8.0f} µs (includes building the Attempt)")
    print(f"issuing one challenge (PBKDF2, {COST} it.):  {issue_us:8.0f} µs")
    print(
        f"a solve at difficulty {DIFFICULTY}: ~{DIFFICULTY // 2} PBKDF2 runs of {COST} iterations on average "
        f"≈ {DIFFICULTY / 2 * issue_us / 1e6:.2f} CPU-seconds at this machine's native speed"
    )


if __name__ == "__main__":
    main()
