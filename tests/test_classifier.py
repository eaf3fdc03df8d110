"""The owner-taught filter's engine (formguard.classifier), on the labelled corpus in tests/corpus/.

The engine is a pure library: these tests call it directly, as the pipeline and the admin will.
Speed is measured in bench/classifier.py, not here; what is held here is that the work per
submission is bounded by a cap on the text read (``MAX_FIELD_CHARS``, ``MAX_TEXT_CHARS``).
"""

from __future__ import annotations

import json
import struct
import zlib
from collections import Counter
from functools import cache

import pytest
from django.utils import translation

from formguard.classifier import (
    CUSTOMER,
    LABELS,
    SALES,
    SPAM,
    ClassResult,
    Evaluation,
    NaiveBayes,
    Sample,
    decide,
    describe,
    evaluate,
    features,
    learning_status,
    thresholds_for,
)
from formguard.classifier import model as model_module
from formguard.classifier.model import DEFAULT_KIND
from formguard.classifier.samples import MAX_FIELD_CHARS, MAX_TEXT_CHARS, text_of
from tests.corpus import added, load

LABEL_OF_FILE = {"customers": CUSTOMER, "pitches": SALES, "spam": SPAM}


def sample_of(item: dict) -> Sample:
    """A corpus item as the pipeline will give it: the typed fields, the address, the page's
    language and the browser's Accept-Language."""
    fields = {**item.get("extra_first", {}), "name": item["name"], "message": item["message"]}
    return Sample(
        fields=fields, email=item["email"], page_language=item["page"], visitor_language=item["accept_language"]
    )


@cache
def corpus(split: str | None = None, with_added: bool = False) -> dict[str, tuple[Sample, ...]]:
    """The corpus's samples per label: all, or the corpus's fixed "train" or "test" half; with the
    training items added later (``tests/corpus/train_added.json``) when asked."""
    return {
        label: tuple(sample_of(item) for item in load(name, split) + (added(name) if with_added else []))
        for name, label in LABEL_OF_FILE.items()
    }


def trained(samples: dict[str, tuple[Sample, ...]], kind: str = "complement") -> NaiveBayes:
    model = NaiveBayes(kind)
    for label, items in samples.items():
        for one in items:
            model.learn(one, label)
    return model


@cache
def _learnt(kind: str) -> NaiveBayes:
    """The model of the corpus's training half, learnt once per run: read it, never change it."""
    return trained(corpus("train"), kind)


def learnt(kind: str = "complement") -> NaiveBayes:
    """A new model that learnt the corpus's training half (a copy, through its bytes)."""
    return NaiveBayes.from_bytes(_learnt(kind).to_bytes())


def held_out_figures(kind: str, with_added: bool = False) -> dict[str, float]:
    """Learnt on the corpus's training half (and the training items added later, if asked),
    judged on its test half: the share of customers judged customers, and of spam and of sales
    pitches the share kept from the inbox (judged anything but customer)."""
    model = trained(corpus("train", with_added), kind)
    judged = {
        label: [decide(model, one, min_per_class=0).suggestion for one in items]
        for label, items in corpus("test").items()
    }
    figures = {CUSTOMER: judged[CUSTOMER].count(CUSTOMER) / len(judged[CUSTOMER])}
    for label in (SPAM, SALES):
        figures[label] = sum(1 for one in judged[label] if one != CUSTOMER) / len(judged[label])
    unwanted = judged[SPAM] + judged[SALES]
    figures["kept out"] = sum(1 for label in unwanted if label != CUSTOMER) / len(unwanted)
    return figures


# Learning ------------------------------------------------------------------------------


def test_learning_separates_the_classes_on_the_corpus():
    # Learnt on the corpus's training half (76 customers, 50 pitches, 52 spam), judged on its
    # test half (74, 50, 51) with decide()'s rule and the model's defaults (multinomial, alpha
    # 0.1, SCORE_POWER 0.7, thresholds 0.9 and 0.8 for spam). Measured when written: 74 of 74
    # customers judged customers, 43 of 50 pitches and 34 of 51 spam kept out (before the
    # tuning of docs/filter.md: 71, 42 and 36); with the signals (sig:money…, "Tuned again"),
    # 74, 43 and 39. Held here: at least 99 % of the customers (the figure), 85 % of
    # the pitches, 75 % of the spam, 80 % of the two together. (The filter is not alone: the
    # content rules and traps catch much of the spam it lets through.)
    figures = held_out_figures(DEFAULT_KIND)
    assert figures[CUSTOMER] >= 0.99, figures
    assert figures[SALES] >= 0.85 and figures[SPAM] >= 0.75, figures
    assert figures["kept out"] >= 0.8, figures


def test_with_the_added_training_items_it_keeps_more_out_and_every_customer_in():
    # The train split and the 95 training items added later (50 customers, 20 pitches, 25 spam;
    # 126 customers in all, so decide() acts at 0.85 and spam alone at 0.7), judged on the same
    # test split. Measured when written: 74 of 74 customers, 45 of 50 pitches and 44 of 51 spam.
    figures = held_out_figures(DEFAULT_KIND, with_added=True)
    assert figures[CUSTOMER] >= 0.99, figures
    assert figures[SALES] >= 0.9 and figures[SPAM] >= 0.85, figures


def test_it_acts_sooner_once_the_owner_has_labelled_many_customers():
    # Below 100 customers labelled: 0.9 for spam and sales together, 0.8 for spam alone; from
    # 100 on: 0.85 and 0.7 (docs/filter.md, "Tuned again"). Thresholds given are used as given.
    assert thresholds_for({SPAM: 300, SALES: 300, CUSTOMER: 99}) == (0.9, 0.8)
    assert thresholds_for({SPAM: 20, SALES: 20, CUSTOMER: 100}) == (0.85, 0.7)

    class Fixed:
        def __init__(self, customers: int) -> None:
            self.customers = customers

        def scores(self, sample: Sample) -> dict[str, float]:
            return {SPAM: 0.75, SALES: 0.07, CUSTOMER: 0.18}

        def label_counts(self) -> dict[str, int]:
            return {SPAM: 50, SALES: 50, CUSTOMER: self.customers}

    assert decide(Fixed(99), Sample()).label == CUSTOMER
    assert decide(Fixed(100), Sample()).label == SPAM
    assert decide(Fixed(100), Sample(), spam_threshold=0.8).label == CUSTOMER
    assert decide(Fixed(99), Sample(), threshold=0.8).label == SPAM


def test_features_name_what_a_pitch_or_spam_asks_for():
    # Money, haste, a reply by a chat app, easy money: one feature each, in any of the languages.
    signals = {
        "今なら月額3,000円でご利用いただけます。": "sig:money",
        "Only $49 for 500 links": "sig:money",
        "本日限りの特別価格です": "sig:urgent",
        "Act now, limited time offer": "sig:urgent",
        "詳しくはLINEでご連絡ください": "sig:chat",
        "Contact me on WhatsApp": "sig:chat",
        "欢迎加微信咨询": "sig:chat",
        "スマホで簡単に稼げる副業": "sig:easy-money",
        "每天轻松赚300元": "sig:easy-money",
    }
    for text, signal in signals.items():
        assert signal in features(Sample(fields={"message": text})), text
    plain = features(Sample(fields={"message": "The online class was fine, thank you."}))
    assert not [name for name in plain if name.startswith("sig:")]


@pytest.mark.parametrize("useless", [Counter(), Counter({"same for all": 1})])
def test_the_figures_come_from_the_features(monkeypatch, useless):
    # The test above fails when features() says nothing useful: the model then judges by the
    # label counts alone and keeps no pitch out (or lets no customer in).
    monkeypatch.setattr(model_module, "features", lambda sample: Counter(useless))
    figures = held_out_figures(DEFAULT_KIND)
    assert figures[CUSTOMER] < 0.99 or figures["kept out"] < 0.75, figures


def test_features_read_the_text_as_characters_and_the_submission_around_it():
    one = Sample(
        fields={
            "name": "ウェブ集客 佐々木",
            "message": "弊社の営業支援のご提案です。詳しくは https://www.Example.com/lp をご覧ください。",
        },
        email="Sasaki@GMAIL.com",
        page_language="ja-JP",
        visitor_language="en",
        country="jp",
        fill_seconds=3.2,
    )
    found = features(one)
    assert {"1:営", "2:営業", "3:ご提案", "3:弊社の"} <= set(found)
    assert {"url:example.com", "urls:1", "from:gmail.com", "from-tld:com", "from-kind:free"} <= set(found)
    assert {"script:ja", "page:ja", "accept:en", "country:JP", "fill:<5s"} <= set(found)
    kinds = {
        "a@docomo.ne.jp": "carrier",
        "b@qq.com": "china",
        "c@suzuki-seiki.co.jp": "company",
        "not an address": None,
    }
    for address, kind in kinds.items():
        tokens = features(Sample(fields={"message": "x"}, email=address))
        assert (f"from-kind:{kind}" in tokens) if kind else ("from:none" in tokens)
    assert "script:zh" in features(Sample(fields={"message": "您好，我们是专业的网站推广公司"}))
    assert "script:latin" in features(Sample(fields={"message": "Hello, the lid is cracked."}))
    # NFKC and case: full-width ＳＥＯ is seo.
    assert "3:seo" in features(Sample(fields={"message": "ＳＥＯ対策"}))


# The model as it is kept ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["complement", "multinomial"])
def test_a_round_trip_through_bytes_gives_the_same_scores(kind):
    samples = corpus("train")
    model = _learnt(kind)
    data = model.to_bytes()
    again = NaiveBayes.from_bytes(data)
    assert again.label_counts() == model.label_counts() == {label: len(items) for label, items in samples.items()}
    for one in [*samples[CUSTOMER][:5], *samples[SPAM][:5], Sample()]:
        assert again.scores(one) == model.scores(one)
    assert again.to_bytes() == data
    # A few hundred bytes a sample: the corpus's model fits a database row easily.
    assert len(data) < 400 * sum(len(items) for items in samples.values())


def test_from_bytes_refuses_what_it_did_not_write(monkeypatch):
    monkeypatch.setattr(model_module, "MAX_INFLATED_BYTES", 1_000_000)
    data = _learnt("complement").to_bytes()
    prefix = struct.Struct("<4sBI")
    magic, version, head_length = prefix.unpack_from(data)
    bomb_head = data[prefix.size : prefix.size + head_length]
    body = data[prefix.size + head_length :]

    def with_header(**changes: object) -> bytes:
        head = json.dumps({**json.loads(bomb_head), **changes}).encode()
        return prefix.pack(magic, version, len(head)) + head + body

    forged = [
        b"",
        b"\x80\x04\x95pickle",
        data[:20],
        data[:-10],
        prefix.pack(magic, version + 1, head_length) + data[prefix.size :],
        data[: prefix.size + head_length] + zlib.compress(b"\0" * 2_000_000),
        prefix.pack(magic, version, len(bomb_head) + 5) + data[prefix.size :],
        with_header(buckets=16),  # counts in buckets the model does not have
        with_header(labels=["ham", "spam", "eggs"]),
        with_header(documents=[-1, 0, 0]),
        with_header(entries=[1, 1, 1]),
        with_header(kind="pickle"),
    ]
    for bad in forged:
        with pytest.raises(ValueError):
            NaiveBayes.from_bytes(bad)


def test_decide_only_suggests_below_the_label_minimum():
    samples = corpus()
    model = NaiveBayes()
    for label, items in samples.items():
        for one in items[:19]:
            model.learn(one, label)
    pitch = samples[SALES][0]
    assert decide(model, pitch).label is None  # 19 labels of each: not yet
    assert decide(model, pitch).suggestion == SALES
    model.learn(samples[SALES][19], SALES)
    model.learn(samples[SPAM][19], SPAM)
    assert decide(model, pitch).label is None  # customers still at 19
    model.learn(samples[CUSTOMER][19], CUSTOMER)
    decision = decide(model, pitch)
    assert decision.label == SALES and decision.score == decision.scores[SALES] > 0.5
    assert decide(model, pitch, min_per_class=21).label is None


def test_decide_leans_toward_customer_when_unsure():
    model = learnt()
    unsure = Sample(fields={"message": "x"})
    decision = decide(model, unsure, min_per_class=0, threshold=0.99)
    assert decision.label == CUSTOMER
    assert decide(model, corpus("test")[SALES][0], min_per_class=0, threshold=0.999999).label == CUSTOMER


def test_relabel_is_unlearn_then_learn():
    samples = corpus("train")
    relabelled = learnt()
    one = samples[CUSTOMER][0]
    relabelled.unlearn(one, CUSTOMER)
    relabelled.learn(one, SALES)
    direct = trained({**samples, CUSTOMER: samples[CUSTOMER][1:], SALES: [*samples[SALES], one]})
    assert relabelled.counts == direct.counts
    assert relabelled.label_counts() == direct.label_counts()
    assert relabelled.scores(one) == direct.scores(one)
    # Taking back what was never learnt is refused, and changes nothing.
    before = relabelled.to_bytes()
    with pytest.raises(ValueError):
        relabelled.unlearn(Sample(fields={"message": "これは一度も学習していない文章です"}), SPAM)
    with pytest.raises(ValueError):
        NaiveBayes().unlearn(one, SPAM)
    with pytest.raises(ValueError):
        relabelled.learn(one, "ham")
    assert relabelled.to_bytes() == before


# Odd input -----------------------------------------------------------------------------

ODD = {
    "empty": Sample(),
    "empty fields": Sample(fields={"name": "", "message": ""}, email="", page_language="", country=""),
    "1 MB": Sample(fields={"message": "あ" * 1_000_000}, email="a@" + "b" * 1_000_000),
    "emoji only": Sample(fields={"message": "😀🙏🏻👨‍👩‍👧‍👦" * 50}),
    "NUL bytes": Sample(fields={"name": "\x00" * 100, "message": "お問\x00い合わせ\x00"}, email="\x00@\x00"),
    "lone surrogates": Sample(fields={"message": "\ud800\udfff text"}, email="\udc80@example.jp"),
    "odd languages": Sample(page_language="x" * 1000, visitor_language="../..", country="日本", fill_seconds=-5.0),
    "huge fill time": Sample(fields={"message": "hello"}, fill_seconds=float("inf")),
}


@pytest.mark.parametrize("name", ODD)
def test_odd_input_gets_an_answer(name):
    model = learnt()
    for candidate in (model, NaiveBayes()):
        scores = candidate.scores(ODD[name])
        assert set(scores) == set(LABELS) and abs(sum(scores.values()) - 1) < 1e-9
        assert decide(candidate, ODD[name]).suggestion in LABELS
    model.learn(ODD[name], SPAM)
    model.unlearn(ODD[name], SPAM)
    assert NaiveBayes.from_bytes(model.to_bytes()).scores(ODD[name]) == model.scores(ODD[name])


def test_the_text_read_is_capped():
    # The work per submission is bounded by the text read, not by the text sent: each field's
    # first MAX_FIELD_CHARS characters, MAX_TEXT_CHARS in all.
    head = "お問い合わせです。" * (MAX_FIELD_CHARS // 9 + 1)
    assert features(Sample(fields={"message": head + "x" * 1_000_000})) == features(Sample(fields={"message": head}))
    many = {f"field{i}": "営業" * MAX_FIELD_CHARS for i in range(100)}
    capped = {f"field{i}": "営業" * (MAX_FIELD_CHARS // 2) for i in range(MAX_TEXT_CHARS // MAX_FIELD_CHARS)}
    assert features(Sample(fields=many)) == features(Sample(fields=capped))
    assert len(text_of(Sample(fields=many))) <= MAX_TEXT_CHARS


# How well it does, in plain words -------------------------------------------------------


def test_evaluate_is_cross_validated_and_deterministic():
    pairs = [(one, label) for label, items in corpus().items() for one in items]
    first = evaluate(pairs, folds=5)
    few = [(one, label) for label, items in corpus().items() for one in items[:12]]
    assert evaluate(few, folds=3) == evaluate(few, folds=3)
    for result in first.classes:
        assert result.count == sum(1 for _, label in pairs if label == result.label)
        assert sum(first.confusion[(result.label, judged)] for judged in LABELS) == result.count
        assert 0 <= result.precision <= 1 and 0 <= result.recall <= 1
    # Cross-validated: each sample is judged by a model that never saw it, which gets fewer
    # right than one that learnt them all. Measured when written (353 samples): 146 of 150
    # customers judged customers, 86 of 103 spam and 91 of 100 pitches kept out.
    everything = trained(corpus())
    seen = sum(1 for one, label in pairs if decide(everything, one, min_per_class=0).suggestion == label)
    assert sum(result.right for result in first.classes) < seen
    assert first.of(CUSTOMER).recall >= 0.9
    kept_out = sum(first.confusion[(labelled, judged)] for labelled in (SPAM, SALES) for judged in (SPAM, SALES))
    assert kept_out >= 0.7 * (first.of(SPAM).count + first.of(SALES).count)


def test_the_owner_reads_the_figures_in_japanese_and_english():
    evaluation = Evaluation(
        classes=(ClassResult(SPAM, 0, 0, 1), ClassResult(SALES, 20, 18, 19), ClassResult(CUSTOMER, 40, 39, 40)),
        confusion={},
        folds=5,
    )
    with translation.override("ja"):
        assert describe(evaluation) == [
            "迷惑: まだラベルがありません",
            "営業: 20 件中 18 件を正しく判定",
            "お客様: 40 件中 39 件を正しく判定",
            "受信箱に届かなかったはずのお客様: 40 件中 1 件",
        ]
        assert "迷惑 3 件、営業 20 件、お客様 20 件" in learning_status({SPAM: 3, SALES: 20, CUSTOMER: 20})
        assert learning_status({SPAM: 3, SALES: 20, CUSTOMER: 20}).startswith("学習中")
    with translation.override("en"):
        assert describe(evaluation)[1] == "Sales pitches: 18 of 20 judged right"
        assert learning_status(dict.fromkeys(LABELS, 20)).startswith("Acting on its scores")
