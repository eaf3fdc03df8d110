"""A small labelled corpus of what reaches a Japanese shop's inquiry form, written for formguard's tests.

Three classes, one JSON file each: ``customers.json`` (real-looking inquiries in
Japanese, English and Chinese: kanji-only B2B requests, signatures with the
sender's own address and site, product links), ``pitches.json`` (Japanese sales
pitches sent through forms, フォーム営業) and ``spam.json`` (English and Chinese
pitches, and the tricks that walked around the content rules: NG words split by
invisible characters or spaces, NG words after 20 junk fields, links glued
together, ``<a target=… href=…>``, a Japanese closing on an English pitch).
``ng_words.txt`` is the NG list a shop owner might type. An item's fields are
posted in order: ``extra_first`` (junk fields), then name, email and message.

``python -m tests.corpus.measure`` prints how many of each class the demo's
content rules catch; ``tests/test_corpus.py`` holds the rules to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CLASSES = ("customers", "pitches", "spam")


def load(name: str) -> list[dict[str, Any]]:
    return json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))


def ng_words() -> str:
    return (HERE / "ng_words.txt").read_text(encoding="utf-8")


def post_of(item: dict[str, Any]) -> Any:
    """The item as Django's request.POST holds it (a QueryDict, fields in order)."""
    from django.http import QueryDict

    post = QueryDict(mutable=True)
    for name, value in {**item.get("extra_first", {}), **{k: item[k] for k in ("name", "email", "message")}}.items():
        post.appendlist(name, value)
    return post


def demo_rules() -> Any:
    """The content rules of the demo's site-wide policy (project/settings.py), with the corpus's NG words."""
    from formguard.conf import conf
    from formguard.content import ContentRules
    from formguard.policies import INHERITED_FIELDS, Policy

    values = {field: conf.DEFAULT_POLICY[field] for field in INHERITED_FIELDS}
    values["ng_words"] = ng_words()
    return ContentRules.of(Policy(form_key="contact", **values))
