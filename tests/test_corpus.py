"""The labelled corpus (tests/corpus/) is well-formed, and what the demo's content rules make of it.

Issue 22's numbers are measured on this corpus: a mislabelled item, a message
twice (once in train, once in test), a lopsided split or a real person's
phone number would make them lie or do harm.
"""

import itertools
import re
import unicodedata
from collections import Counter

import pytest

from tests.corpus import CLASSES, LANGS, PAGES, SPLITS, demo_rules, load, load_all, page_from_header, post_of

ITEMS = load_all()
FIELDS = {"id", "lang", "page", "accept_language", "split", "name", "email", "message"}
OPTIONAL = {"extra_first", "note"}
# At least this many of each (issue 22's corpus: customers in three languages, the sales pitches
# form-sales services send, spam).
SIZES = {"customers": 130, "pitches": 100, "spam": 100}
CUSTOMERS_BY_LANG = {"ja": 80, "en": 25, "zh": 25}

# A phone number as people write it: three groups of digits with hyphens, dots, spaces or
# brackets, optionally after +81 / +86 / +1 and the like; or 10-11 digits in one run (a Japanese
# number without hyphens, a Chinese mobile).
PHONE = re.compile(
    r"(?<![\w-])(?:\+\d{1,3}[-\s.]?)?\(?\d{1,5}\)?[-\s.]\d{2,4}[-\s.]\d{3,4}(?![\w-])"
    r"|(?<![\w-])(?:0\d{9,10}|1[3-9]\d{9})(?![\w-])"
)


def fictional(number: str) -> bool:
    """A number nobody answers: a group of zeros after the first (03-0000-1234, 0120-000-123,
    +81-90-0000-1234, 0300001234), or the North American 555-01xx range set aside for fiction."""
    groups = re.findall(r"\d+", number)
    if len(groups) == 1:
        return "000" in groups[0][2:]
    if any(set(group) == {"0"} and len(group) >= 3 for group in groups[1:]):
        return True
    return "555" in groups and groups[-1].startswith("01") and len(groups[-1]) == 4


def test_every_item_has_its_fields_and_a_known_label():
    for name, item in ITEMS:
        assert FIELDS <= set(item) <= FIELDS | OPTIONAL, (name, item["id"], set(item) ^ FIELDS)
        assert item["lang"] in LANGS and item["page"] in PAGES and item["split"] in SPLITS, item["id"]
        assert all(isinstance(item[k], str) and item[k].strip() for k in FIELDS), item["id"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", item["id"]), item["id"]
    for name in CLASSES:
        assert len(load(name)) >= SIZES[name], name
        assert {item["lang"] for item in load(name)} >= {"ja", "en"}, name
    customers = Counter(item["lang"] for item in load("customers"))
    assert all(customers[lang] >= n for lang, n in CUSTOMERS_BY_LANG.items()), customers


def test_ids_messages_and_addresses_are_unique():
    ids = Counter(item["id"] for _, item in ITEMS)
    assert [i for i, n in ids.items() if n > 1] == []
    # The same text in two classes, or in train and test, would make a number lie.
    texts = Counter(" ".join(unicodedata.normalize("NFKC", item["message"]).split()) for _, item in ITEMS)
    assert [t[:40] for t, n in texts.items() if n > 1] == []
    # One sender, one address: the demo's per-address limit is not what the corpus measures.
    emails = Counter(item["email"].lower() for _, item in ITEMS)
    assert [e for e, n in emails.items() if n > 1] == []


# Variants written on purpose (a trick and the same text without it), kept in one split.
VARIANTS = {frozenset({"s-zh-seo", "s-zh-no"}), frozenset({"ja-b2b-kanji-only", "ja-b2b-desu"})}


def test_no_two_items_are_one_template_with_slots_filled_in():
    # A classifier would learn the template rather than the class: no two messages share half
    # their character 4-grams, but for the variants above, which stay in one split.
    def grams(text):
        text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
        return {text[k : k + 4] for k in range(len(text) - 3)}

    shingles = [(item, grams(item["message"])) for _, item in ITEMS]
    close = set()
    for (a, ga), (b, gb) in itertools.combinations(shingles, 2):
        if ga and gb and len(ga & gb) / len(ga | gb) >= 0.5:
            close.add(frozenset({a["id"], b["id"]}))
            assert a["split"] == b["split"], (a["id"], b["id"])
    assert close == VARIANTS


def test_splits_are_about_half_of_each_class_and_language():
    for name in CLASSES:
        for lang in LANGS:
            splits = Counter(item["split"] for item in load(name) if item["lang"] == lang)
            assert abs(splits["train"] - splits["test"]) <= 1, (name, lang, splits)
    assert {len(load(name, "train")) + len(load(name, "test")) for name in CLASSES} == {
        len(load(name)) for name in CLASSES
    }


def test_the_language_written_is_the_language_labelled():
    for name, item in ITEMS:
        text = item["message"]
        kana = len(re.findall(r"[\u3040-\u30ff\uff66-\uff9f]", text))
        han = len(re.findall(r"[\u4e00-\u9fff]", text))
        latin = len(re.findall(r"[A-Za-z]", text))
        if item["lang"] == "en":
            assert latin > 2 * (kana + han), item["id"]
        elif item["lang"] == "zh":
            assert han > 2 * kana and han > 0, item["id"]
        else:
            assert kana + han > 0, item["id"]


def test_the_page_is_what_the_browser_asks_for_or_a_choice_the_visitor_made():
    # Japanese writers fill in the Japanese page. Foreigners: the page their browser's
    # Accept-Language gives, or the one they chose (Django's language cookie, where the two differ);
    # most English writers on the English page, most Chinese writers on the Japanese one.
    assert {item["page"] for _, item in ITEMS if item["lang"] == "ja"} == {"ja"}
    customers = load("customers")
    for lang, most in (("en", "en"), ("zh", "ja")):
        pages = Counter(item["page"] for item in customers if item["lang"] == lang)
        assert pages[most] > sum(pages.values()) / 2 and len(pages) == 2, (lang, pages)
    chosen = [item["id"] for _, item in ITEMS if page_from_header(item["accept_language"]) != item["page"]]
    assert len(chosen) < len(ITEMS) / 10, chosen  # a choice some make, not the rule


def test_no_real_looking_phone_number():
    for name, item in ITEMS:
        for number in PHONE.findall(item["message"]):
            assert fictional(number), (item["id"], number)


@pytest.mark.parametrize(
    "number, ok",
    [
        ("03-0000-1234", True),
        ("0120-000-123", True),
        ("+81-90-0000-1234", True),
        ("(555) 555-0142", True),
        ("03-1234-5678", False),
        ("090-1234-5678", False),
        ("+86 138 1234 5678", False),
        ("0120-123-456", False),
        ("0300001234", True),
        ("09012345678", False),
        ("13812345678", False),
    ],
)
def test_the_phone_check_tells_fictional_numbers_from_real_looking_ones(number, ok):
    assert PHONE.fullmatch(number) and fictional(number) is ok


def test_the_content_rules_on_the_corpus():
    """What the demo's content rules catch (python -m tests.corpus.measure prints it).

    The evasion tricks of issue 19 (NG words split by invisible characters, links glued together, …)
    stay caught; the customers the rules refuse are issue 22's to hold instead.
    """
    rules = demo_rules()
    caught = {name: {item["id"] for item in load(name) if rules.check(post_of(item))} for name in CLASSES}
    tricks = {item["id"] for item in load("spam") if item["id"].startswith(("s-ng-", "s-links-"))}
    tricks |= {"s-a-target-blank", "s-bbcode", "s-en-yoroshiku", "s-zh-wo", "s-zh-no", "s-en-konnichiwa"}
    assert tricks <= caught["spam"]
    # Issue 22: a kanji-only request and a signature with the sender's own address are no longer
    # caught; the English and Chinese customers still are, by the Japanese rule, which asks them for
    # the captcha instead of refusing them when they read another language (test_traps.py); three
    # product links are caught here, where the shop's host is unknown (not through /contact/).
    assert not {"ja-b2b-kanji-only", "ja-b2b-kanji-quote2", "ja-local-delivery-kanji"} & caught["customers"]
    assert not {"ja-signature-own-address", "ja-b2b-drawing", "ja-company-signature-full"} & caught["customers"]
    assert {"ja-three-product-links", "en-ship", "zh-shanghai", "zh-business"} <= caught["customers"]
    assert {name: len(ids) for name, ids in caught.items()} == {"customers": 56, "pitches": 17, "spam": 64}
