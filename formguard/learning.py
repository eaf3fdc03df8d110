"""Where the owner-taught filter's model lives, how it learns, and what a request reads of it.

The engine (``formguard.classifier``) knows nothing of requests or rows; this
module is its seat in the site:

- **one model for the site**, a ``FilterModel`` row holding the engine's bytes.
  Every process keeps the decoded model in memory behind the ``filter``
  generation (``generations.cached_rows``), as policies are kept: scoring a
  request reads no database row, and a label given in one process reaches the
  others' next score within ``generations.SYNC_INTERVAL``;
- **learning as labels come**: ``labels.give`` sends ``submission_labelled``;
  the receiver here learns the sample (and unlearns the label it had before,
  on a relabel) under the row's lock (``select_for_update``), so two labels
  given at the same moment in two processes both count;
- ``rebuild()`` learns every labelled submission again from scratch
  (``manage.py formguard filter --rebuild``), and ``report()`` cross-validates
  the owner's own labels for the admin, in plain words.

A submission's ``Sample`` is built here from a request (``sample_of_attempt``)
and from a kept row (``sample_of``) the same way, so what the filter learns is
what it scored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from . import facts, generations, signals
from .attempt import Attempt
from .classifier import LABEL_NAMES, LABELS, NaiveBayes, Sample, describe, evaluate, learning_status
from .contacts import preferred_language
from .content import SKIPPED_FIELDS
from .models import SITE_MODEL, FilterModel, Submission
from .policies import get_policy
from .traps import TIME_FIELD, token_age

logger = logging.getLogger("formguard.learning")


def _decode(data: bytes | memoryview | None) -> NaiveBayes:
    if not data:
        return NaiveBayes()
    try:
        return NaiveBayes.from_bytes(bytes(data))
    except ValueError:
        # Another format version or a damaged row: start empty rather than
        # fail every request; --rebuild learns the labels again.
        logger.error("formguard: the filter's stored model could not be read; run manage.py formguard filter --rebuild")
        return NaiveBayes()


def _load() -> NaiveBayes:
    return _decode(FilterModel.objects.filter(name=SITE_MODEL).values_list("model", flat=True).first())


def get_model() -> NaiveBayes:
    """The site's model, as every process keeps it (read-only: learning goes through the row)."""
    return generations.cached_rows("filter", _load)


# --- Samples ---------------------------------------------------------------------------


def typed_fields(attempt: Attempt) -> list[list[str]]:
    """``[[name, value], …]`` a person typed, in the order sent: no CSRF, trap or captcha tokens."""
    post, skipped = attempt.submitted, SKIPPED_FIELDS | facts.token_fields()
    pairs = post.lists() if hasattr(post, "lists") else ((name, [value]) for name, value in post.items())
    return [
        [name, value] for name, values in pairs if name not in skipped for value in values if isinstance(value, str)
    ]


def _sample(
    pairs: list[list[str]], email_field: str, page: str, accept: str, country: str, fill: float | None
) -> Sample:
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name != email_field:
            fields.setdefault(name, value)
    email = next((value for name, value in pairs if name == email_field), "")
    return Sample(
        fields=fields,
        email=email,
        # "en-us" and "en" alike: a row may keep the active language whole.
        page_language=page.split("-")[0].lower(),
        visitor_language=preferred_language(accept).split("-")[0],
        country=country or None,
        fill_seconds=fill,
    )


@dataclass(frozen=True)
class Seen:
    """What the filter read of one request: what a kept ``Submission`` stores, and the ``Sample``."""

    fields: list[list[str]]
    page_language: str
    accept_language: str
    country: str
    fill_seconds: float | None
    sample: Sample


def seen(attempt: Attempt) -> Seen:
    """The request as the filter reads it (once per request, kept on the attempt)."""
    if "filter_seen" not in attempt.facts:
        request = attempt.request
        pairs = typed_fields(attempt)
        page = (getattr(request, "LANGUAGE_CODE", "") or translation.get_language() or "").split("-")[0]
        accept = request.META.get("HTTP_ACCEPT_LANGUAGE", "")[:200]
        country = facts.country(attempt) or ""
        fill = token_age(attempt.form_key, attempt.submitted.get(TIME_FIELD, ""), attempt.now.timestamp())
        sample = _sample(pairs, attempt.policy.email_field, page, accept, country, fill)
        attempt.facts["filter_seen"] = Seen(pairs, page, accept, country, fill, sample)
    return attempt.facts["filter_seen"]


def sample_of(submission: Submission) -> Sample:
    """A kept submission as the filter read it when it came."""
    return _sample(
        submission.fields,
        get_policy(submission.form_key).email_field,
        submission.page_language,
        submission.accept_language,
        submission.country,
        submission.fill_seconds,
    )


# --- Learning --------------------------------------------------------------------------


def _locked_row() -> FilterModel:
    """The site's row (``learn`` creates it first), locked until the transaction ends."""
    # SQLite ignores SELECT … FOR UPDATE and reads without a lock: a write first
    # takes its database lock (PostgreSQL's: the row's), so a second learner
    # waits here until the first commits, then reads its counts. The write is
    # the transaction's first statement: after a read, SQLite refuses the write
    # at once ("database is locked") while another learner writes, not waiting.
    FilterModel.objects.filter(name=SITE_MODEL).update(updated=timezone.now())
    return FilterModel.objects.select_for_update().get(name=SITE_MODEL)


def _save(row: FilterModel, model: NaiveBayes) -> None:
    row.model = model.to_bytes()
    row.label_counts = model.label_counts()
    row.updated = timezone.now()
    row.save(update_fields=["model", "label_counts", "updated"])
    # Every process reads the new bytes on its next score.
    generations.changed("filter")


@receiver(signals.submission_labelled, dispatch_uid="formguard.learning.learn")
def learn(sender: Any, submission: Submission, label: str, previous: str = "", **kwargs: Any) -> None:
    """Learn a label as it is given; on a relabel, unlearn the one it had."""
    sample = sample_of(submission)
    # The row exists before the transaction, whose first statement must be the write.
    FilterModel.objects.get_or_create(name=SITE_MODEL)
    with transaction.atomic():
        row = _locked_row()
        model = _decode(row.model)
        if previous in LABELS:
            model.unlearn(sample, previous)
        model.learn(sample, label)
        _save(row, model)


def labelled() -> list[tuple[Sample, str]]:
    """Every labelled submission still kept, as ``(sample, label)``, oldest first."""
    rows = Submission.objects.exclude(label="").order_by("created")
    return [(sample_of(row), row.label) for row in rows.iterator()]


def rebuild() -> dict[str, int]:
    """Learn every labelled submission again, from an empty model; the labels per class."""
    pairs = labelled()
    FilterModel.objects.get_or_create(name=SITE_MODEL)
    with transaction.atomic():
        row = _locked_row()
        model = NaiveBayes()
        for sample, label in pairs:
            model.learn(sample, label)
        _save(row, model)
    return model.label_counts()


# --- What the owner reads --------------------------------------------------------------

# Cross-validating takes a second or so at a few hundred labels: once per
# model change per process, not once per page view.
_reports: dict[tuple[str, int], tuple[float, list[str]]] = {}
_REPORT_MAX_AGE = 600.0
_MORE = _("It only suggests until %(count)d more labels of %(label)s.")


def report(min_labels: int) -> list[str]:
    """How the filter does, in plain words (active language): whether it acts, then per class,
    cross-validated on the owner's own labels."""
    row = FilterModel.objects.filter(name=SITE_MODEL).values_list("label_counts", "updated").first()
    counts, updated = row if row is not None else ({}, None)
    lines = [learning_status(counts, min_labels)]
    lines += [
        str(_MORE) % {"count": min_labels - counts.get(label, 0), "label": LABEL_NAMES[label]}
        for label in LABELS
        if counts.get(label, 0) < min_labels
    ]
    if not any(counts.values()):
        return lines
    key = (translation.get_language() or "", int(updated.timestamp() * 1000) if updated else 0)
    kept = _reports.get(key)
    if kept is None or time.monotonic() - kept[0] > _REPORT_MAX_AGE:
        kept = (time.monotonic(), describe(evaluate(labelled())))
        _reports.clear()
        _reports[key] = kept
    return lines + kept[1]
