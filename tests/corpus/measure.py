"""How many customers, sales pitches and spam the demo's content rules catch.

    .venv/py311/bin/python -m tests.corpus.measure

Prints, per class, how many items at least one content rule caught, by rule,
and which customers were caught and which spam got through. Asserts nothing
(``tests/test_corpus.py`` does).
"""

from __future__ import annotations

import os
from collections import Counter


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from tests.corpus import CLASSES, demo_rules, load, post_of

    rules = demo_rules()
    for name in CLASSES:
        items = load(name)
        reasons: Counter[str] = Counter()
        caught, missed = [], []
        for item in items:
            findings = rules.check(post_of(item))
            reasons.update(f.reason for f in findings)
            (caught if findings else missed).append(f"{item['id']} ({', '.join(f.reason for f in findings)})")
        by_rule = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        print(f"{name:<10} {len(caught):>3} of {len(items):>3} caught   by rule: {by_rule or '-'}")
        if name == "customers":
            print("  customers caught:", "; ".join(caught) or "-")
        if name == "spam":
            print("  spam not caught: ", "; ".join(i.split(" (")[0] for i in missed) or "-")


if __name__ == "__main__":
    main()
