"""What a refusal costs as problem+json against the HTML page (issue 25). Prints numbers; asserts nothing.

    .venv/py311/bin/python bench/json_refusal.py [--requests 2000]

The demo's forms through Django's ``WSGIHandler`` (no test client, DEBUG off),
formguard on its embedded store, both forms closed (503: the refusal a flood
meets when the owner closes the form), one address, alternated in rounds:

- "html": a form-encoded POST to /contact/, answered with the closed page (the
  typed text put in per request);
- "json": the same fields as a JSON body to /contact/api/, answered with the
  problem (built once per language and reason, ``fields`` added per request).

The ratio is the median of the per-round ratios ``median(json) / median(html)``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import BODY, CSRF_SECRET, FIELDS, Wsgi, median, post_environ, setup_django  # noqa: E402

ROUNDS = 10
WARMUP = 50
ADDRESS = "133.1.9.9"

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--requests", type=int, default=2000, help="timed POSTs per variant (default 2000)")
ARGS = parser.parse_args()

setup_django()

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402

from formguard import policies  # noqa: E402
from formguard.testing import reset  # noqa: E402

JSON_BODY = json.dumps({k: v for k, v in FIELDS.items() if k != "csrfmiddlewaretoken"}, ensure_ascii=False).encode()


def main() -> None:
    connection.creation.create_test_db(verbosity=0)
    logging.disable(logging.WARNING)
    wsgi = Wsgi()
    cookie = f"csrftoken={CSRF_SECRET}"

    def html() -> float:
        elapsed, status = wsgi.post("/contact/", ADDRESS, BODY)
        statuses["html", status] += 1
        return elapsed

    def problem() -> float:
        environ = post_environ("/contact/api/", ADDRESS, JSON_BODY, cookie)
        environ.update(CONTENT_TYPE="application/json", HTTP_X_CSRFTOKEN=CSRF_SECRET)
        elapsed, status = wsgi.send(environ)
        statuses["json", status] += 1
        return elapsed

    statuses: Counter = Counter()
    with tempfile.TemporaryDirectory(prefix="formguard-bench-json-") as state_dir:
        base = dict(settings.FORMGUARD)
        with override_settings(FORMGUARD={**base, "CACHE": None, "STATE_PATH": str(Path(state_dir) / "s.sqlite3")}):
            reset()
            for form_key in ("contact", "api-contact"):
                policies.ensure_row(form_key)
                policies.set_closed(form_key, True)
            variants = {"html": html, "json": problem}
            for send in variants.values():
                for _ in range(WARMUP):
                    send()
            per_round = max(1, ARGS.requests // ROUNDS)
            samples: dict[str, list[float]] = {name: [] for name in variants}
            ratios = []
            for n in range(ROUNDS):
                medians = {}
                for name in list(variants) if n % 2 == 0 else list(variants)[::-1]:
                    timed = [variants[name]() for _ in range(per_round)]
                    samples[name] += timed
                    medians[name] = median(timed)
                ratios.append(medians["json"] / medians["html"])
    print(f"Django {django.get_version()}, Python {sys.version.split()[0]}, embedded store, {ROUNDS} rounds")
    print(f"statuses: {dict(statuses)} (503: closed)")
    for name, label in (("html", "closed page (HTML), form body"), ("json", "closed problem (JSON), JSON body")):
        print(f"{label:34}: {median(samples[name]) * 1e6:8.0f} µs (median)")
    print(f"ratio json / html (median of per-round ratios): {median(ratios):.3f}")


if __name__ == "__main__":
    main()
