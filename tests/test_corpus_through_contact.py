"""The labelled corpus sent through the demo's /contact/ as each person's browser sends it.

The demo as shipped (its settings: the self-hosted captcha on, Japanese pages by
default, LocaleMiddleware choosing the page's language). Each item is one
visitor: a browser of its own (own cookies) from its own address, with its
``Accept-Language`` header, and Django's language cookie when the visitor chose
a page in another language than the header gives. It loads the form (the page
must be in the item's ``page`` language), then posts it with the trap fields of
a page loaded long enough ago and a captcha solution. What reaches the staff is
the mail the demo's view sends. Items come a few minutes apart, as on a busy
day, not as a flood.

The content rules' own numbers are ``python -m tests.corpus.measure``; this is
the whole pipeline.
"""

import itertools
from collections import Counter

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from formguard import policies
from formguard.content import Visitor
from formguard.models import FormPolicy, Reason
from formguard.testing import captcha_solution, trap_fields
from tests.corpus import CLASSES, LANGS, SPLITS, demo_rules, fields_of, fresh, load, ng_words, page_from_header, post_of

# What reached the staff before issue 22, with the demo's defaults and no labels (measured on this
# corpus, December 2026): the Japanese rule refused nearly every English and Chinese customer and
# the kanji-only requests, a signature with the sender's own address or three links refused a few
# more, while most sales pitches and the Japanese spam (scams, phishing, fake invoices) got through:
#   customers 87, pitches 83, spam 39 (customers by language: ja 81, en 3, zh 3).
# Issue 22 asks that at least 99% of the customers arrive. Now: the Japanese rule asks a visitor
# who reads another language (the English page, or a browser that asks for the language the
# message is written in) for the captcha instead of refusing, kanji-only Japanese is Japanese, a
# signature's address and links to the shop's own pages or the sender's own site are left alone.
# The price, measured here: the spam and pitches in English and Chinese that only the Japanese rule
# caught now arrive when their sender solves the captcha (as every item here does); the rules
# still find them (tests/test_corpus.py: the same 64 spam), and the owner-taught filter is what
# keeps them out once the owner has labelled some. Spam caught by any other rule stays caught.
NOW = {"customers": 150, "pitches": 93, "spam": 74}
NOW_CUSTOMERS_BY_LANG = {"ja": 89, "en": 32, "zh": 29}

# The shop's own site, to which its customers link (the corpus's product links).
SHOP = "shop.example.jp"
_ips = (f"198.51.{n // 250}.{n % 250 + 1}" for n in itertools.count(1))


def browser_of(item):
    """A browser of the item's sender: its own cookies, its header, the language cookie if it chose a page."""
    browser = Client(headers={"accept-language": item["accept_language"]}, HTTP_HOST=SHOP)
    if page_from_header(item["accept_language"], default=settings.LANGUAGE_CODE) != item["page"]:
        browser.cookies[settings.LANGUAGE_COOKIE_NAME] = item["page"]
    return browser


def send(item, ip):
    """Load the form as the item's visitor and post it."""
    browser = browser_of(item)
    page = browser.get("/contact/", REMOTE_ADDR=ip)
    assert page.status_code == 200 and f'<html lang="{item["page"]}">' in page.text, item["id"]
    data = {**fields_of(item), **trap_fields("contact"), **captcha_solution("contact")}
    response = browser.post("/contact/", data, REMOTE_ADDR=ip)
    assert response.status_code in (200, 302), (item["id"], response.status_code)


@pytest.mark.django_db
def test_the_corpus_through_the_contact_form(mailoutbox, capsys):
    policies.ensure_row("*")
    FormPolicy.objects.filter(form_key="*").update(ng_words=ng_words())
    policies.invalidate()
    delivered: dict[str, list[dict]] = {}
    clock = timezone.now()
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD, LANGUAGE_CODE="ja", ALLOWED_HOSTS=[SHOP]):
        for name in CLASSES:
            delivered[name] = []
            for item in load(name):
                clock += timezone.timedelta(minutes=3)
                with time_machine.travel(clock, tick=False):
                    mails = len(mailoutbox)
                    send(item, next(_ips))
                if len(mailoutbox) > mails:
                    assert len(mailoutbox) == mails + 1 and item["message"] in mailoutbox[-1].body, item["id"]
                    delivered[name].append(item)
    reached = {name: len(items) for name, items in delivered.items()}
    with capsys.disabled():
        print("\nReached the staff through /contact/ (demo defaults, no labels):")
        for name in CLASSES:
            items = load(name)
            line = ", ".join(
                f"{split} {sum(1 for i in delivered[name] if i['split'] == split)}/"
                f"{sum(1 for i in items if i['split'] == split)}"
                for split in SPLITS
            )
            print(f"  {name:<10} {reached[name]:>3} of {len(items):>3}   ({line})")
        for name in CLASSES:
            for lang in LANGS:
                got = Counter(i["page"] for i in delivered[name] if i["lang"] == lang)
                out_of = Counter(i["page"] for i in load(name) if i["lang"] == lang)
                if not out_of:
                    continue
                pages = ", ".join(f"{page} page {got[page]}/{n}" for page, n in sorted(out_of.items()))
                print(f"  {name} {lang}: {sum(got.values())} of {sum(out_of.values())}   ({pages})")
        refused = [i["id"] for i in load("customers") if i not in delivered["customers"]]
        print("  customers refused:", ", ".join(refused))
        print("  spam delivered:", ", ".join(i["id"] for i in delivered["spam"]))
    assert reached == NOW
    assert reached["customers"] >= 0.99 * len(load("customers"))
    customers = Counter(i["lang"] for i in delivered["customers"])
    assert {lang: customers[lang] for lang in LANGS} == NOW_CUSTOMERS_BY_LANG
    # Spam that a rule other than the Japanese one catches (NG words, links, markup) stays out.
    rules = demo_rules()
    other = {
        i["id"]
        for i in load("spam")
        if any(f.reason != Reason.NOT_JAPANESE for f in rules.check(post_of(i), visitor=Visitor("ja", None, SHOP)))
    }
    assert len(other) == 29 and not other & {i["id"] for i in delivered["spam"]}


@pytest.mark.django_db
def test_the_blind_set_s_customers_reach_the_staff_with_no_labels(mailoutbox, capsys):
    # tests/corpus/fresh.json, written after the tuning by someone who had not seen the corpus:
    # with the demo's defaults and no labels, every customer there arrives too (issue 22: ≥ 99%).
    policies.ensure_row("*")
    FormPolicy.objects.filter(form_key="*").update(ng_words=ng_words())
    policies.invalidate()
    delivered, clock = [], timezone.now()
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD, LANGUAGE_CODE="ja", ALLOWED_HOSTS=[SHOP]):
        for item in fresh("customers"):
            clock += timezone.timedelta(minutes=3)
            with time_machine.travel(clock, tick=False):
                mails = len(mailoutbox)
                send(item, next(_ips))
            if len(mailoutbox) > mails:
                delivered.append(item["id"])
    refused = [i["id"] for i in fresh("customers") if i["id"] not in delivered]
    with capsys.disabled():
        print(f"\nBlind set's customers through /contact/ (no labels): {len(delivered)} of {len(fresh('customers'))}")
        print("  refused:", ", ".join(refused) or "-")
    assert len(delivered) >= 0.99 * len(fresh("customers")), refused
