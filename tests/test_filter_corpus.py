"""Issue 22's measure: the owner teaches the filter through the admin, and it keeps pitches and spam out.

The labelled corpus (``tests/corpus``) goes through the demo's ``/contact/`` as each person's
browser sends it (``tests/test_corpus_through_contact.send``), in two rounds:

1. the "train" split with the training items added later (``tests/corpus/train_added.json``:
   50 customers, 20 pitches, 25 spam), with the demo's defaults and no labels: what arrives is mailed to the
   staff (and kept for a label), what a rule holds waits in the review inbox, what a rule
   refuses is an incident with a sample of what was sent;
2. the owner labels that round through the admin — each delivered or held message from the
   inbox's one-click label buttons, each refused one from the incident log's label actions
   (``tests/test_browser_review.py`` clicks the same buttons in chromium);
3. the "test" split, which the filter has never seen, from new addresses.

What reaches the staff's inbox is a mail to the demo's staff address; held, refused or sent to
the other address is "kept out". The issue's targets on the test split: at least 95% of the
spam and 90% of the sales pitches kept out, at least 99% of the customers delivered. The
customers' and the pitches' hold and are asserted; the spam's is not reached yet, and what is
measured is asserted as a floor (the figures are printed).
"""

import itertools
import re
import unicodedata
from collections import Counter

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from formguard import learning, policies
from formguard.models import FormPolicy, Incident, Label, Submission
from tests.corpus import CLASSES, LANGS, PAGES, added, fresh, load, load_all, ng_words, page_from_header
from tests.test_corpus import FIELDS, OPTIONAL, PHONE, fictional
from tests.test_corpus_through_contact import SHOP, send

# Issue 22 asks for 45 of the 50 pitches and 49 of the 51 spam. Measured on this corpus (December
# 2026): 45 pitches (the target) and 44 spam (see the end of the test).
MEASURED_PITCHES_OUT = 45
MEASURED_SPAM_OUT = 44
# The blind held-out set (tests/corpus/fresh.json, 35 spam), measured once when it was added.
MEASURED_FRESH_SPAM_OUT = 33
LABEL_OF = {"customers": Label.CUSTOMER, "pitches": Label.SALES, "spam": Label.SPAM}
_ips = (f"203.0.{n // 250}.{n % 250 + 1}" for n in itertools.count(1))


def items_of(split):
    """{class: items} of ``split``: the train split with the training items added later; "fresh"
    is the blind held-out set (``tests/corpus/fresh.json``)."""
    if split == "fresh":
        return {name: fresh(name) for name in CLASSES}
    return {name: load(name, split) + (added(name) if split == "train" else []) for name in CLASSES}


def _send_round(split, clock, mailoutbox):
    """Send every item of ``split``; {class: [items that reached the staff's inbox]}, the clock after."""
    reached = {name: [] for name in CLASSES}
    for name, items in items_of(split).items():
        for item in items:
            clock += timezone.timedelta(minutes=3)
            with time_machine.travel(clock, tick=False):
                mails = len(mailoutbox)
                send(item, next(_ips))
            if len(mailoutbox) > mails and mailoutbox[-1].to == settings.CONTACT_STAFF_EMAILS:
                reached[name].append(item)
    return reached, clock


def _label_through_the_admin(admin_client, split):
    """The owner labels what the round left: rows in the inbox one by one, refusals in bulk."""
    by_message = {item["message"].strip(): LABEL_OF[name] for name, items in items_of(split).items() for item in items}
    labelled = Counter()
    for submission in Submission.objects.all():
        label = by_message.pop(submission.value("message").strip(), None)
        if label is None:
            continue
        response = admin_client.post(f"/admin/formguard/submission/{submission.pk}/label/{label}/")
        assert response.status_code == 302, response.status_code
        labelled[label] += 1
    # The owner opens the incident log (which writes the counts still on their way) and labels there.
    assert admin_client.get("/admin/formguard/incident/").status_code == 200
    chosen = {label: [] for label in Label}
    for incident in Incident.objects.exclude(sample={}):
        sent = (incident.sample.get("message") or "").strip()
        match = next((m for m in by_message if sent and m.startswith(sent)), None)
        if match is not None:
            chosen[by_message.pop(match)].append(incident.pk)
    for label, ids in chosen.items():
        if ids:
            response = admin_client.post(
                "/admin/formguard/incident/", {"action": f"label_{label}", "_selected_action": ids}
            )
            assert response.status_code == 302, response.status_code
            labelled[label] += len(ids)
    return labelled, len(by_message)


@pytest.mark.django_db(transaction=True)
def test_the_owner_teaches_the_filter_and_it_keeps_pitches_and_spam_out(admin_client, mailoutbox, capsys):
    policies.ensure_row("*")
    FormPolicy.objects.filter(form_key="*").update(ng_words=ng_words())
    policies.invalidate()
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD, LANGUAGE_CODE="ja", ALLOWED_HOSTS=[SHOP, "testserver"]):
        first, clock = _send_round("train", timezone.now(), mailoutbox)
        labelled, unlabelled = _label_through_the_admin(admin_client, "train")
        counts = learning.get_model().label_counts()
        second, clock = _send_round("test", clock, mailoutbox)
        third, _clock = _send_round("fresh", clock, mailoutbox)

    kept_out = {name: len(load(name, "test")) - len(second[name]) for name in CLASSES}
    with capsys.disabled():
        print("\nTrain split, no labels yet, reached the staff:")
        for name in CLASSES:
            print(f"  {name:<10} {len(first[name]):>3} of {len(items_of('train')[name]):>3}")
        print(f"Labelled through the admin: {dict(labelled)} ({unlabelled} left no trace to label)")
        print(f"The filter's model holds: {counts}")
        print("Test split, after the labels:")
        for name in CLASSES:
            total = len(load(name, "test"))
            print(f"  {name:<10} reached {len(second[name]):>3}, kept out {kept_out[name]:>3} of {total:>3}")
        missed = [i["id"] for i in load("customers", "test") if i not in second["customers"]]
        print("  customers kept out:", ", ".join(missed) or "-")
        print("  pitches delivered:", ", ".join(i["id"] for i in second["pitches"]) or "-")
        print("  spam delivered:", ", ".join(i["id"] for i in second["spam"]) or "-")
        print("Blind held-out set (fresh.json), after the same labels:")
        for name in CLASSES:
            total = len(fresh(name))
            print(f"  {name:<10} reached {len(third[name]):>3}, kept out {total - len(third[name]):>3} of {total:>3}")
        missed = [i["id"] for i in fresh("customers") if i not in third["customers"]]
        print("  customers kept out:", ", ".join(missed) or "-")
        print("  pitches delivered:", ", ".join(i["id"] for i in third["pitches"]) or "-")
        print("  spam delivered:", ", ".join(i["id"] for i in third["spam"]) or "-")

    assert min(counts.values()) >= policies.get_policy("contact").filter_min_labels  # it acts
    # The target for customers holds: every one of them arrives.
    assert len(second["customers"]) >= 0.99 * len(load("customers", "test"))
    # Its target for the pitches holds too: 90% kept out, 45 of these 50 (before the tuning of
    # docs/filter.md, "Tuned again": 43). Its target for the spam does NOT hold yet (95%, 49 of
    # these 51): what is measured, 44 (before: 36), is held here as a floor, so a change that
    # loses ground fails. What gets through, by the items' ids: short Japanese spam (副業, money,
    # account rental), an English guest-post and a replica offer, and gibberish.
    assert kept_out["pitches"] >= MEASURED_PITCHES_OUT >= 0.9 * len(load("pitches", "test"))
    assert kept_out["spam"] >= MEASURED_SPAM_OUT
    # The blind held-out set, never tuned on: the customers' and the pitches' targets hold (60 of 60
    # delivered, 34 of 35 kept out when first measured); the spam's, 95% (34 of 35), does not yet:
    # 33 were kept out, held here as a floor.
    fresh_out = {name: len(fresh(name)) - len(third[name]) for name in CLASSES}
    assert len(third["customers"]) >= 0.99 * len(fresh("customers"))
    assert fresh_out["pitches"] >= 0.9 * len(fresh("pitches"))
    assert fresh_out["spam"] >= MEASURED_FRESH_SPAM_OUT


def test_the_training_items_added_later_are_written_as_the_corpus_is():
    # tests/corpus/train_added.json (issue 22's tuning): the corpus's own rules (tests/test_corpus.py)
    # hold for it too, and more customers were added than pitches and spam together.
    items = [(name, item) for name in CLASSES for item in added(name)]
    counts = Counter(name for name, _ in items)
    assert counts["customers"] >= counts["pitches"] + counts["spam"] > 0, counts
    corpus = load_all()
    assert not {i["id"] for _, i in items} & {i["id"] for _, i in corpus}
    assert len({i["id"] for _, i in items}) == len({i["email"] for _, i in items}) == len(items)
    assert not {i["email"] for _, i in items} & {i["email"] for _, i in corpus}

    def grams(text):
        text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
        return {text[k : k + 4] for k in range(len(text) - 3)}

    every = [grams(i["message"]) for _, i in corpus + items]
    for _, item in items:
        assert FIELDS <= set(item) <= FIELDS | OPTIONAL and item["split"] == "train", item["id"]
        assert item["lang"] in LANGS and item["page"] in PAGES, item["id"]
        assert all(fictional(number) for number in PHONE.findall(item["message"])), item["id"]
        assert item["page"] == page_from_header(item["accept_language"]), item["id"]
        text = item["message"]
        kana = len(re.findall(r"[\u3040-\u30ff\uff66-\uff9f]", text))
        han = len(re.findall(r"[\u4e00-\u9fff]", text))
        latin = len(re.findall(r"[A-Za-z]", text))
        written = {"en": latin > 2 * (kana + han), "zh": han > 2 * kana and han > 0, "ja": kana + han > 0}
        assert written[item["lang"]], item["id"]
        # No message is a template of another (half its character 4-grams in common).
        mine = grams(text)
        assert sum(1 for other in every if len(mine & other) / len(mine | other) >= 0.5) == 1, item["id"]


def test_the_blind_set_is_well_formed_and_apart_from_the_rest():
    items = [(name, item) for name in CLASSES for item in fresh(name)]
    counts = Counter(name for name, _ in items)
    assert counts == {"customers": 60, "pitches": 35, "spam": 35}
    others = load_all() + [(name, i) for name in CLASSES for i in added(name)]
    assert len({i["id"] for _, i in items}) == len(items)
    assert not {i["id"] for _, i in items} & {i["id"] for _, i in others}
    for _, item in items:
        assert FIELDS <= set(item) <= FIELDS | OPTIONAL and item["split"] == "fresh", item["id"]
        assert item["lang"] in LANGS and item["page"] in PAGES, item["id"]
        assert all(fictional(number) for number in PHONE.findall(item["message"])), item["id"]
