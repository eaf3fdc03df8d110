"""What a report holds: refusals with evidence of spam, and the submissions the owner labelled.

The report for the spam consultation center is for spam, and says nothing it
cannot back: only refusals with evidence (``SPAM_EVIDENCE``: a honeypot, an NG
word, link spam, a burst and its ban) and the submissions the owner labelled
spam. Not "sent too fast", a bad time token or a rate limit alone, which
people meet too (docs/incidents.md). The owner's own exports (CSV, JSON) hold
every refusal and list the submissions labelled spam or sales pitch apart,
each with its label. Every row has a key (``key``), by which the owner leaves
rows out before sending (the admin's report page).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .conf import conf
from .models import SPAM_EVIDENCE, ActionLog, Incident, Label, Submission
from .requesttext import shown_data


@dataclass
class Sender:
    ip_bucket: str
    ip: str
    country: str
    first_seen: datetime
    last_seen: datetime
    count: int
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    site: str
    since: datetime
    until: datetime
    generated: datetime
    form_key: str | None
    include_personal: bool
    spam_only: bool
    total: int
    totals: list[tuple[str, Any, int]]  # (reason, its label, translated when rendered, count)
    senders: list[Sender]
    samples: list[dict[str, Any]]
    measures: list[ActionLog]
    rows: list[Incident]
    # Refusals not yet in the rows (0: exact; None: unknown, the store does not answer).
    uncounted: int | None = 0
    # Submissions the owner labelled spam, and sales pitch in the owner's own exports.
    labelled: list[Submission] = field(default_factory=list)


def period_for_day(day: date) -> tuple[datetime, datetime]:
    """A whole local day as an aware [since, until) pair."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def uncounted_message(uncounted: int | None) -> str | None:
    """What a reader is told when the counts it shows are not complete; None when they are."""
    if uncounted == 0:
        return None
    if uncounted is None:
        return str(
            _(
                "formguard's state store does not answer: refusals still waiting in it are not in these counts "
                "(refusals meanwhile are counted straight into the log)."
            )
        )
    return ngettext(
        "%(count)d refusal is not in these counts yet: another process is still moving it into the log.",
        "%(count)d refusals are not in these counts yet: another process is still moving them into the log.",
        uncounted,
    ) % {"count": uncounted}


def local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def is_personal(field_name: str) -> bool:
    lowered = field_name.lower()
    return any(marker.lower() in lowered for marker in conf.REPORT_PERSONAL_FIELDS)


def sample(fields: dict[str, Any], include_personal: bool) -> dict[str, Any]:
    """The fields of a sample that a report shows, as it shows them."""
    return shown_data({k: v for k, v in fields.items() if include_personal or not is_personal(k)}, multiline=True)


def submitted(submission: Submission) -> dict[str, Any]:
    """A submission's fields as an incident's sample holds them: the first value of each name."""
    fields: dict[str, Any] = {}
    for name, value in submission.fields or []:
        fields.setdefault(name, value)
    return fields


def has_spam_evidence(row: Incident) -> bool:
    """Whether the refusal, or another finding on the same submission, is evidence of spam."""
    also = (row.detail or {}).get("also")
    return row.reason in SPAM_EVIDENCE or (isinstance(also, list) and any(r in SPAM_EVIDENCE for r in also))


def key(row: Incident | Submission) -> str:
    """The row's key on the admin's report page: "i<pk>" for an incident, "s<pk>" for a submission."""
    return f"{'i' if isinstance(row, Incident) else 's'}{row.pk}"


def incidents(
    since: datetime, until: datetime, form_key: str | None, spam_only: bool, leave_out: Collection[str] = ()
) -> list[Incident]:
    """The refusals seen in [since, until), oldest first; with evidence of spam only when ``spam_only``."""
    rows = Incident.objects.filter(last_seen__gte=since, first_seen__lt=until, monitor_only=False)
    if spam_only:
        # Page views are not spam; a row whose own reason is not evidence
        # may carry evidence among its other findings (checked below).
        rows = rows.filter(method="POST").filter(Q(reason__in=SPAM_EVIDENCE) | Q(detail__has_key="also"))
    if form_key:
        rows = rows.filter(form_key=form_key)
    return [
        row
        for row in rows.order_by("first_seen", "pk")
        if (not spam_only or has_spam_evidence(row)) and key(row) not in leave_out
    ]


def labelled(
    since: datetime, until: datetime, form_key: str | None, spam_only: bool, leave_out: Collection[str] = ()
) -> list[Submission]:
    """Submissions received in [since, until) that the owner labelled spam (and sales pitch, unless ``spam_only``)."""
    wanted = [Label.SPAM] if spam_only else [Label.SPAM, Label.SALES]
    rows = Submission.objects.filter(label__in=wanted, created__gte=since, created__lt=until)
    if form_key:
        rows = rows.filter(form_key=form_key)
    return [row for row in rows.order_by("created", "pk") if key(row) not in leave_out]
