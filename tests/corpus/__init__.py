"""A labelled corpus of what reaches a Japanese shop's inquiry form, written by hand for formguard's tests.

Three classes, one JSON file each:

- ``customers.json``: inquiries from real customers in Japanese, English and
  Chinese (simplified and traditional): orders, returns, defects, delivery
  dates, quotes, kanji-only B2B requests, reservations, complaints, signatures
  with the sender's own company, address, phone, email and site, product links;
- ``pitches.json``: sales pitches sent through contact forms (フォーム営業), by
  people and form-sales services, mostly polite Japanese, some English;
- ``spam.json``: scams, phishing, SEO/backlink/casino/crypto/pharma spam in
  Japanese, English and Chinese, bot gibberish and link dumps, and the tricks
  that walked around the content rules (NG words split by invisible characters
  or spaces, NG words after 20 junk fields, links glued together,
  ``<a target=… href=…>``, a Japanese closing on an English pitch).

Every item has:

- ``id``: unique across the three files, never reused (tests name items by it);
- ``lang``: the language the message is written in, ``"ja"``, ``"en"`` or ``"zh"``;
- ``page``: the language of the page the visitor fills in (``"ja"`` or
  ``"en"``, the demo's LANGUAGES);
- ``accept_language``: the ``Accept-Language`` header the sender's browser
  sends. When it alone would not give ``page`` (``page_from_header``), the
  visitor chose the page's language and Django's language cookie says so;
- ``split``: ``"train"`` (what an owner would label) or ``"test"`` (held out),
  about half of each class and language, fixed in the file;
- ``name``, ``email``, ``message``: the form's fields; ``extra_first``
  (optional): junk fields posted before them, in order; ``note`` (optional):
  why the item is there.

Names, companies, addresses, domains and phone numbers are made up (phones in
the ranges 0120-000-xxx, 03-0000-xxxx and the like: a group of zeros; see
``tests/test_corpus.py``). ``ng_words.txt`` is the NG list a shop owner might type.

``train_added.json`` holds training items written later (issue 22's tuning), as an owner would
label them: each item also names its ``class`` (one of ``CLASSES``), and every one is in the
"train" split. ``load()`` does not read them, so the corpus's own figures (the content rules,
``tests/test_corpus_through_contact.py``) stay those of the 353 items; ``added()`` gives them to
what learns from the train split (``tests/test_filter_corpus.py``, ``tests/test_classifier.py``).
More customers than pitches and spam together, so that the filter does not learn "new" as
"unwanted".

``fresh.json`` is a blind held-out set (split ``"fresh"``, 60 customers, 35 pitches, 35 spam),
written after the tuning of issue 22 by someone who had not seen the corpus, its figures or the
filter: the test split's ids had been seen while tuning, so its figures are no longer a clean
measure, and these are. Nothing is ever tuned on it; ``fresh()`` gives it to
``tests/test_filter_corpus.py``, which sends it after the test split.

``python -m tests.corpus.measure`` prints what the demo's content rules catch,
per class, split and language; ``tests/test_corpus.py`` checks the corpus is
well-formed and holds the rules to it; ``tests/test_corpus_through_contact.py``
sends it all through the demo's ``/contact/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CLASSES = ("customers", "pitches", "spam")
LANGS = ("ja", "en", "zh")
SPLITS = ("train", "test")
PAGES = ("ja", "en")


def load(name: str, split: str | None = None) -> list[dict[str, Any]]:
    """The items of class ``name``, in file order; only those of ``split`` when given."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split is one of {SPLITS}, not {split!r}")
    items = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
    return [item for item in items if split is None or item["split"] == split]


def added(name: str) -> list[dict[str, Any]]:
    """The training items of class ``name`` written after the corpus (``train_added.json``)."""
    return _of_class("train_added.json", name)


def fresh(name: str) -> list[dict[str, Any]]:
    """The items of class ``name`` of the blind held-out set (``fresh.json``)."""
    return _of_class("fresh.json", name)


def _of_class(filename: str, name: str) -> list[dict[str, Any]]:
    # The later files name each item's class in the item itself.
    if name not in CLASSES:
        raise ValueError(f"class is one of {CLASSES}, not {name!r}")
    items = json.loads((HERE / filename).read_text(encoding="utf-8"))
    return [{k: v for k, v in item.items() if k != "class"} for item in items if item["class"] == name]


def load_all(split: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """``(class, item)`` for every item of the three classes (of ``split`` when given)."""
    return [(name, item) for name in CLASSES for item in load(name, split)]


def ng_words() -> str:
    return (HERE / "ng_words.txt").read_text(encoding="utf-8")


def fields_of(item: dict[str, Any]) -> dict[str, str]:
    """The form fields the item's browser posts, in order: junk fields first, then name, email, message."""
    return {**item.get("extra_first", {}), **{k: item[k] for k in ("name", "email", "message")}}


def post_of(item: dict[str, Any]) -> Any:
    """The item as Django's request.POST holds it (a QueryDict, fields in order)."""
    from django.http import QueryDict

    post = QueryDict(mutable=True)
    for name, value in fields_of(item).items():
        post.appendlist(name, value)
    return post


def page_from_header(accept_language: str, default: str = "ja") -> str:
    """The page language the demo's LocaleMiddleware picks from this header alone (no cookie).

    Django's own choice (``get_language_from_request``, what LocaleMiddleware
    calls) among the demo's LANGUAGES, ``default`` (the demo's LANGUAGE_CODE)
    when the header names none of them.
    """
    from django.test import RequestFactory, override_settings
    from django.utils.translation import get_language_from_request

    with override_settings(LANGUAGE_CODE=default):
        request = RequestFactory().get("/contact/", headers={"accept-language": accept_language})
        return get_language_from_request(request).split("-")[0]


def demo_rules() -> Any:
    """The content rules of the demo's site-wide policy (project/settings.py), with the corpus's NG words."""
    from formguard.conf import conf
    from formguard.content import ContentRules
    from formguard.policies import INHERITED_FIELDS, Policy

    values = {field: conf.DEFAULT_POLICY[field] for field in INHERITED_FIELDS}
    values["ng_words"] = ng_words()
    return ContentRules.of(Policy(form_key="contact", **values))
