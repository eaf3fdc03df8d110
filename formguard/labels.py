"""The one way a label reaches a submission: ``give(submission, label, by)``.

The owner labels a submission 迷惑 (spam), 営業 (sales pitch) or お客様 (customer)
from the review inbox, an incident's page, or a link in the staff's mail; each
of those calls ``give``, so a label is written once, the action log says who gave
it, and the owner-taught filter learns from it (a receiver of
``signals.submission_labelled``, which gets the label it had before, to unlearn
it on a relabel).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import signals
from .models import Label, Submission


def give(submission: Submission, label: str, by: str) -> bool:
    """Label ``submission``; False when it already had that label (nothing done)."""
    label = Label(label)
    with transaction.atomic():
        # A write first (that changes nothing): SQLite ignores FOR UPDATE, and after a
        # read it refuses the transaction's write at once ("database is locked") while
        # another process writes, where a first write waits its turn.
        Submission.objects.filter(pk=submission.pk).update(labelled_by=F("labelled_by"))
        row = Submission.objects.select_for_update().get(pk=submission.pk)
        previous = row.label
        if previous == label:
            return False
        row.label = label
        row.labelled_at = timezone.now()
        row.labelled_by = by[:150]
        row.save(update_fields=["label", "labelled_at", "labelled_by"])
    submission.label, submission.labelled_at, submission.labelled_by = row.label, row.labelled_at, row.labelled_by
    signals.submission_labelled.send(sender=Submission, submission=row, label=label, previous=previous, by=by)
    return True
