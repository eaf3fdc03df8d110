"""How many customers, sales pitches and spam the demo's content rules catch.

    .venv/py311/bin/python -m tests.corpus.measure

Prints, per class and split, how many items at least one content rule caught,
by rule; for customers also per language, and which customers were caught;
which spam got through. Asserts nothing (``tests/test_corpus.py`` does). The
whole pipeline, through the demo's /contact/, is
``tests/test_corpus_through_contact.py``.
"""

from __future__ import annotations

import os
from collections import Counter


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from tests.corpus import CLASSES, LANGS, SPLITS, demo_rules, load, post_of

    rules = demo_rules()
    for name in CLASSES:
        items = load(name)
        findings = {item["id"]: rules.check(post_of(item)) for item in items}
        reasons = Counter(f.reason for found in findings.values() for f in found)
        by_rule = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        caught = [item for item in items if findings[item["id"]]]
        print(f"{name:<10} {len(caught):>3} of {len(items):>3} caught   by rule: {by_rule or '-'}")
        for split in SPLITS:
            part = [item for item in items if item["split"] == split]
            print(f"  {split:<6} {sum(1 for i in part if findings[i['id']]):>3} of {len(part):>3}")
        if name == "customers":
            for lang in LANGS:
                part = [item for item in items if item["lang"] == lang]
                print(f"  {lang:<6} {sum(1 for i in part if findings[i['id']]):>3} of {len(part):>3}")
            print(
                "  customers caught:",
                "; ".join(f"{i['id']} ({', '.join(f.reason for f in findings[i['id']])})" for i in caught) or "-",
            )
        if name == "spam":
            print("  spam not caught: ", "; ".join(i["id"] for i in items if not findings[i["id"]]) or "-")


if __name__ == "__main__":
    main()
