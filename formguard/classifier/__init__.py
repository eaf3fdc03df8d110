"""The owner-taught filter (迷惑・営業・お客様): a per-site text classifier, as a pure library.

The pipeline, the admin and the mail call it; it knows nothing of them (no models, no
requests, no settings). The whole API::

    from formguard.classifier import Sample, NaiveBayes, decide, evaluate, describe

    model = NaiveBayes()                      # or NaiveBayes.from_bytes(row.model)
    model.learn(sample, "sales")              # one label at a time, as the owner gives it
    model.unlearn(sample, "sales")            # a relabel: unlearn, then learn the new label
    model.scores(sample)                      # {"spam": 0.1, "sales": 0.8, "customer": 0.1}
    decision = decide(model, sample)          # .label (None while learning), .suggestion, .score
    row.model = model.to_bytes()              # compact, versioned, never pickle
    describe(evaluate(labelled_pairs))        # 「営業: 20 件中 18 件を正しく判定」…

Modules: ``samples`` (what a submission says: ``Sample``, ``features()``), ``model`` (naive Bayes over hashed features),
``evaluation`` (the decision rule and cross-validation), ``words`` (the figures in plain words).
Why these choices, and what they were measured against: docs/filter.md.
"""

from __future__ import annotations

from .evaluation import MIN_PER_CLASS, ClassResult, Decision, Evaluation, choose, decide, evaluate, thresholds_for
from .model import CUSTOMER, LABELS, SALES, SPAM, NaiveBayes
from .samples import MAX_TEXT_CHARS, Sample, features
from .words import LABEL_NAMES, describe, learning_status

__all__ = [
    "CUSTOMER",
    "LABELS",
    "LABEL_NAMES",
    "MAX_TEXT_CHARS",
    "MIN_PER_CLASS",
    "SALES",
    "SPAM",
    "ClassResult",
    "Decision",
    "Evaluation",
    "NaiveBayes",
    "Sample",
    "choose",
    "decide",
    "describe",
    "evaluate",
    "features",
    "learning_status",
    "thresholds_for",
]
