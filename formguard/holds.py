"""Held submissions: kept when a check holds one, and forgotten when their time is up.

A hold is the third outcome (deliver, refuse, hold): the visitor sees what a
delivered message shows, nothing reaches the staff, and the message waits here,
whole, for the owner to release, discard or label it (``release.py``, the review
inbox ``admin/review.py``). A held row holds a visitor's words: it is written to
the database only, never logged, and deleted after the policy's retention.

A flood of bots filling the honeypot must not become a flood of rows: at most
``HELD_PER_HOUR`` rows per client (its bucket: an address, or an IPv6 /64) per
form per hour; past that only the incident counts them.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import get_language

from . import facts, signals
from .attempt import Attempt, Verdict
from .models import Incident, Submission, SubmissionStatus
from .policies import get_policy
from .store import StoreUnavailable, WindowCounter, get_store
from .traps import OWN_FIELDS, TIME_FIELD, token_age

logger = logging.getLogger("formguard.holds")

HELD_PER_HOUR = 3
# A held message is kept whole, within reason: as many fields and characters as
# a real inquiry form has, not a bot's megabyte.
MAX_FIELDS = 100
MAX_CHARS = 20000
# Expired rows are deleted on the write path at most this often per process,
# so a site that never runs ``formguard purge`` still forgets them.
PURGE_EVERY = 3600.0
_last_purge = float("-inf")


def _within_bound(attempt: Attempt) -> bool:
    hour = int(attempt.now.timestamp() // 3600)
    counter = WindowCounter(f"held:{attempt.form_key}:{attempt.bucket}", hour, 3600 + 60)
    try:
        (count,) = get_store().hit([counter])
    except StoreUnavailable:
        # No shared count: keep it (a row is cheaper than a lost customer);
        # the incident log is bounded on its own.
        return True
    return count <= HELD_PER_HOUR


def _fill_seconds(attempt: Attempt) -> float | None:
    age = token_age(attempt.form_key, attempt.submitted.get(TIME_FIELD, ""), attempt.now.timestamp())
    return round(age, 1) if age is not None else None


def keep(attempt: Attempt, verdict: Verdict, fields: list[tuple[str, str]]) -> Submission | None:
    """Keep a held submission (``fields``: what the visitor typed, secrets left out).

    None when the client is past its bound for the hour (the incident still
    counts it).
    """
    if not _within_bound(attempt):
        return None
    request = attempt.request
    now = attempt.now
    submission = Submission.objects.create(
        created=now,
        expires_at=now + timedelta(days=attempt.policy.hold_retention_days),
        form_key=attempt.form_key,
        path=request.path_info[:300],
        status=SubmissionStatus.HELD,
        reason=verdict.reason,
        detail=verdict.detail,
        fields=[[name, value] for name, value in fields if name not in OWN_FIELDS],
        ip=str(attempt.ip),
        country=facts.country(attempt)[:2],
        page_language=(get_language() or "")[:20],
        accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", "")[:200],
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        fill_seconds=_fill_seconds(attempt),
    )
    signals.submission_held.send(sender=Submission, submission=submission, request=request)
    purge_now_and_then(now)
    return submission


def from_incident(incident: Incident) -> Submission | None:
    """The submission an incident's sample is, to label from the incident's page (None: no sample).

    A refused message was not kept whole; its sample is what the incident log
    kept of it. Labelled, it teaches the owner-taught filter as a held one does;
    its status is "discarded", since nothing can deliver it. Made once per incident.
    """
    if not incident.sample:
        return None
    existing = Submission.objects.filter(detail__incident=incident.pk).first()
    if existing is not None:
        return existing
    return Submission.objects.create(
        created=incident.last_seen,
        expires_at=timezone.now() + timedelta(days=get_policy(incident.form_key).hold_retention_days),
        form_key=incident.form_key,
        path=incident.path,
        status=SubmissionStatus.DISCARDED,
        reason=incident.reason,
        detail={**(incident.detail or {}), "incident": incident.pk},
        fields=[[str(name), str(value)] for name, value in incident.sample.items()],
        ip=incident.ip,
        country=incident.country,
        user_agent=incident.user_agent,
    )


def held_count() -> int:
    """How many messages wait in the review inbox (the dashboard and the app index show it)."""
    return Submission.objects.filter(status=SubmissionStatus.HELD, expires_at__gt=timezone.now()).count()


def purge_expired(now: datetime | None = None) -> int:
    """Delete the submissions kept past their ``expires_at``; how many."""
    removed, _by_model = Submission.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return removed


def expired_count(now: datetime | None = None) -> int:
    return Submission.objects.filter(expires_at__lt=now or timezone.now()).count()


def purge_now_and_then(now: datetime) -> None:
    """``purge_expired``, at most once every ``PURGE_EVERY`` seconds in this process."""
    global _last_purge
    moment = time.monotonic()
    if moment - _last_purge < PURGE_EVERY:
        return
    _last_purge = moment
    removed = purge_expired(now)
    if removed:
        logger.info("formguard: deleted %d held or kept submissions past their retention.", removed)


def forget_purge_time() -> None:
    """Purge again on the next write (tests)."""
    global _last_purge
    _last_purge = float("-inf")
