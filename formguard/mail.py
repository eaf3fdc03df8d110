"""Helpers for the site's own mail to its staff: the filter's mark, and the label links.

formguard never sends the site's inquiry mail; the site's view does. Three
helpers let that mail carry what the owner-taught filter needs, for the owner
who never opens the admin:

- ``subject(request, subject)``: 【営業】/【迷惑】 before the subject when the
  filter tagged the submission (the policy's action "tag");
- ``recipients(request, default)``: the policy's other address for a tagged
  submission, when it has one;
- ``label_links(request)``: ``{label: URL}``, "this was spam / a sales pitch /
  a customer", signed, expiring (``LABEL_LINK_DAYS``) and good once
  (``formguard.views.label``); ``{% formguard_label_links %}`` renders them in
  a mail template.

While the filter is on, the first of them called keeps the delivered
submission (``Submission``, status delivered, its fields and scores) so that a
label given later has the text to learn from; once per request, kept for the
policy's ``hold_retention_days``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from . import learning
from .classifier import LABELS, SALES, SPAM
from .conf import conf
from .models import Submission, SubmissionStatus
from .requesttext import storable, storable_data

# The marks are Japanese whatever the page's language: they are for the
# shop's staff, who sort their mail by them.
PREFIXES = {SPAM: "【迷惑】", SALES: "【営業】"}
LINK_SALT = "formguard.label-link"


def tag(request: HttpRequest) -> str:
    """ "spam" or "sales" when the filter tagged this submission, else ""."""
    return getattr(request, "formguard_tag", "") or ""


def subject(request: HttpRequest, subject: str) -> str:
    """The staff mail's subject, marked 【営業】/【迷惑】 when the filter tagged the submission."""
    delivered(request)
    prefix = PREFIXES.get(tag(request), "")
    return f"{prefix}{subject}"


def recipients(request: HttpRequest, default: Iterable[str]) -> list[str]:
    """Where the staff mail goes: the policy's address for tagged submissions, when set."""
    delivered(request)
    attempt = getattr(request, "formguard_attempt", None)
    if tag(request) and attempt is not None and attempt.policy.filter_tag_address:
        return [attempt.policy.filter_tag_address]
    return list(default)


def delivered(request: HttpRequest) -> Submission | None:
    """The delivered submission kept for labelling (created on the first call, once per request).

    None when the filter did not score this request (off, not a POST, not guarded).
    """
    if hasattr(request, "_formguard_delivered"):
        return request._formguard_delivered
    attempt = getattr(request, "formguard_attempt", None)
    judgement = getattr(request, "formguard_filter", None)
    verdict = getattr(request, "formguard", None)
    submission = None
    if verdict is not None and verdict.check == "released":
        # A held message the owner released: its links label the row it was
        # kept in, not a copy.
        submission = Submission.objects.filter(pk=verdict.detail.get("submission")).first()
    elif attempt is not None and judgement is not None and verdict is not None and verdict.allowed:
        seen = learning.seen(attempt)
        submission = Submission.objects.create(
            created=attempt.now,
            expires_at=attempt.now + timedelta(days=attempt.policy.hold_retention_days),
            form_key=attempt.form_key,
            path=storable(request.path)[:300],
            status=SubmissionStatus.DELIVERED,
            detail={"suggestion": judgement.suggestion, "tag": tag(request)},
            fields=storable_data(seen.fields, multiline=True),
            ip=str(attempt.ip),
            country=seen.country[:2],
            page_language=seen.page_language[:20],
            accept_language=storable(seen.accept_language)[:200],
            user_agent=storable(request.META.get("HTTP_USER_AGENT", ""))[:300],
            fill_seconds=seen.fill_seconds,
            scores=judgement.scores,
        )
    request._formguard_delivered = submission
    return submission


def make_token(submission_id: int, label: str) -> str:
    return signing.TimestampSigner(salt=LINK_SALT).sign_object([submission_id, label], compress=True)


def read_token(token: str) -> tuple[int, str]:
    """The submission and label a link names. Raises ``signing.SignatureExpired`` after
    ``LABEL_LINK_DAYS``, ``signing.BadSignature`` for anything formguard did not sign."""
    value: Any = signing.TimestampSigner(salt=LINK_SALT).unsign_object(
        token[:500], max_age=timedelta(days=conf.LABEL_LINK_DAYS)
    )
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and value[1] in LABELS):
        raise signing.BadSignature("not a label link")
    return value[0], value[1]


def label_links(request: HttpRequest) -> dict[str, str]:
    """``{label: absolute URL}`` for spam, sales pitch and customer; {} when the filter did not score it."""
    submission = delivered(request)
    if submission is None:
        return {}
    return {
        label: request.build_absolute_uri(reverse("formguard:label", args=[make_token(submission.pk, label)]))
        for label in LABELS
    }
