"""What the bot traps and content rules add to a passing POST (issue 12). Prints numbers; asserts nothing.

    .venv/py311/bin/python bench/traps_cost.py [--requests 2000]

The demo's contact form through Django's ``WSGIHandler`` (as flood_cost.py
sends it: no test client, DEBUG off), formguard on its embedded store, every
check passing (500 rotating Japanese addresses, huge limits, captcha off).
Two policies of the same form, alternated in rounds so that a noisy machine
hits both alike:

- "without": honeypot, time trap, every content rule and the per-address limit off;
- "with": honeypot and time trap on; Japanese required, links, an NG-word
  list of 40 entries, sender address (disposable domains included) and the
  per-address limit (its own store round trip) on.

The ratio is the median of the per-round ratios ``median(with) / median(without)``;
the goal is at most 1.10. The rules alone are timed too (µs per submission).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import CSRF_SECRET, Wsgi, goal_mark, median, setup_django  # noqa: E402

GOAL = 1.10
ROUNDS = 10
WARMUP = 50

ADDRESSES = [f"133.1.{i // 250}.{i % 250 + 1}" for i in range(500)]
NG_WORDS = "\n".join(
    ["SEO対策", "フォーム営業", "営業代行", "業務提携のご提案", "リスティング広告", "MEO対策", "Web集客", "被リンク"]
    + ["相互リンク", "上位表示", "アポイント獲得", "テレアポ代行", "リード獲得", "問い合わせフォームより失礼"]
    + [f"bench-word-{i}" for i in range(26)]
)
TRAPS_ON = {
    "honeypot_action": "refuse",
    "time_trap_action": "refuse",
    "japanese_action": "refuse",
    "links_action": "refuse",
    "ng_words_action": "refuse",
    "ng_words": NG_WORDS,
    "sender_action": "refuse",
    "recipient_limit": "1000000/d",
}
TRAPS_OFF = {
    "honeypot_action": "off",
    "time_trap_action": "off",
    "japanese_action": "off",
    "links_action": "off",
    "ng_words_action": "off",
    "ng_words": "",
    "sender_action": "off",
    "recipient_limit": "off",
}

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--requests", type=int, default=2000, help="timed POSTs per variant (default 2000)")
ARGS = parser.parse_args()

setup_django()

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402

from formguard import policies  # noqa: E402
from formguard.models import FormPolicy  # noqa: E402
from formguard.testing import reset, trap_fields  # noqa: E402


def body() -> bytes:
    return urlencode(
        {
            "csrfmiddlewaretoken": CSRF_SECRET,
            "name": "山田太郎",
            "email": "taro@example.jp",
            "message": "お問い合わせです。営業時間と定休日を教えてください。地図は https://example.jp/map です。",
            **trap_fields("contact", age=60),
        }
    ).encode()


class Sender:
    """POSTs the same inquiry from rotating addresses, counting the answers."""

    def __init__(self) -> None:
        self.wsgi = Wsgi()
        self.body = body()
        self.statuses: Counter = Counter()
        self.sent = 0

    def post(self) -> float:
        address = ADDRESSES[self.sent % len(ADDRESSES)]
        self.sent += 1
        elapsed, status = self.wsgi.post("/contact/", address, self.body)
        self.statuses[status] += 1
        return elapsed


def use(values: dict) -> None:
    FormPolicy.objects.filter(form_key="contact").update(**values)
    policies.invalidate()
    mail.outbox = []


def rules_alone() -> dict[str, float]:
    """µs per submission of the trap and rule functions themselves."""
    out = {}
    for name, values in (("with", TRAPS_ON), ("without", TRAPS_OFF)):
        use(values)
        policy = policies.get_policy("contact")
        data = {"name": "山田太郎", "email": "taro@example.jp", "message": "営業時間を教えてください。" * 3}
        data.update(trap_fields("contact", age=60))
        rules = policy.content_rules
        start = time.perf_counter()
        for _ in range(5000):
            rules.check(data)
        out[name] = (time.perf_counter() - start) / 5000 * 1e6
    return out


def main() -> None:
    connection.creation.create_test_db(verbosity=0)
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="formguard-bench-traps-") as state_dir:
        base = dict(settings.FORMGUARD)
        with override_settings(FORMGUARD={**base, "CACHE": None, "STATE_PATH": str(Path(state_dir) / "s.sqlite3")}):
            reset()
            FormPolicy.objects.all().delete()
            FormPolicy.objects.create(
                form_key="*",
                enabled=True,
                monitor_only=False,
                rate_limit="1000000/d",
                burst_count=1_000_000,
                burst_window=60,
                captcha_required=False,
                country_mode="off",
                flood_limit="off",
            )
            FormPolicy.objects.create(form_key="contact")
            wsgi = Sender()
            per_round = max(1, ARGS.requests // ROUNDS)
            ratios, samples = [], {"with": [], "without": []}
            for values in (TRAPS_ON, TRAPS_OFF):
                use(values)
                for _ in range(WARMUP):
                    wsgi.post()
            for n in range(ROUNDS):
                medians = {}
                order = (("with", TRAPS_ON), ("without", TRAPS_OFF))
                for name, values in order if n % 2 == 0 else order[::-1]:
                    use(values)
                    wsgi.post()  # the policy reload, untimed
                    timed = [wsgi.post() for _ in range(per_round)]
                    samples[name] += timed
                    medians[name] = median(timed)
                ratios.append(medians["with"] / medians["without"])
            alone = rules_alone()
    ratio = median(ratios)
    print(f"Django {django.get_version()}, Python {sys.version.split()[0]}, embedded store, {ROUNDS} rounds")
    print(f"statuses of every POST: {dict(wsgi.statuses)} (302: the inquiry was sent)")
    print(f"passing POST, traps and rules on : {median(samples['with']) * 1e6:8.0f} µs (median)")
    print(f"passing POST, traps and rules off: {median(samples['without']) * 1e6:8.0f} µs (median)")
    print(f"ratio (median of per-round ratios): {ratio:.3f}  goal {goal_mark(ratio, GOAL)}")
    print(f"per-round ratios: {', '.join(f'{r:.3f}' for r in ratios)}")
    print(f"content rules alone: {alone['with']:.1f} µs per submission (all off: {alone['without']:.1f} µs)")


if __name__ == "__main__":
    main()
