"""Release: a held submission delivered exactly as if it had passed.

``release(submission, admin_request, by)`` dispatches the stored POST to the
form's own view again, through Django's whole handler (every middleware: the
session, messages and CSRF middleware run as they do for a visitor), so the site's
own code sends the mail it sends for any inquiry. The request carries a *release
mark* (``RELEASE_HEADER``): signed with ``django.core.signing`` under a salt of
its own, good for ``MARK_MAX_AGE`` seconds, for one submission of one form, and
claimed once in formguard's store. The pipeline's first step
(``steps.released``) honours it: allowed, every other check skipped.

A view that cannot be run again (``guard_form(..., release="signal")``) is
delivered by the receivers of ``signals.submission_released``, called with
``response=None`` (docs/review.md has an example that sends the mail).

The row is claimed by a conditional UPDATE (held → released) before anything is
sent, so two owners pressing "release" at once deliver it once; an error from the
view puts it back to held and says so.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from . import signals
from .marks import RELEASE_BY_SIGNAL, form_key_of, json_success_of, release_mode_of
from .models import Submission, SubmissionStatus
from .store import StoreUnavailable, get_store

logger = logging.getLogger("formguard.release")

RELEASE_HEADER = "X-Formguard-Release"
RELEASE_META = "HTTP_X_FORMGUARD_RELEASE"
SALT = "formguard.release"
# Long enough for a slow view on a loaded machine, short enough that a mark
# seen by anyone (a proxy's log) is worthless by the time it is read.
MARK_MAX_AGE = 120


def sign_mark(submission: Submission) -> str:
    nonce = secrets.token_urlsafe(16)
    return signing.dumps({"s": submission.pk, "f": submission.form_key, "n": nonce}, salt=SALT, compress=False)


def redeem_mark(request: HttpRequest, form_key: str) -> int | None:
    """The submission a valid, unused release mark on ``request`` is for; None otherwise.

    A forged, expired, reused or other form's mark is worth nothing: the
    request is then an ordinary POST, which every check judges.
    """
    mark = request.META.get(RELEASE_META, "")
    if not mark or len(mark) > 400:
        return None
    try:
        value = signing.loads(mark, salt=SALT, max_age=MARK_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("f") != form_key or not value.get("n"):
        return None
    try:
        # One use: the first request to show it claims it for as long as it could be valid.
        if not get_store().claim(f"release:{value['n']}", MARK_MAX_AGE + 5):
            return None
    except StoreUnavailable:
        # Nothing can tell a second use from the first: not honoured (the
        # owner is told the release failed, the message stays held).
        return None
    return int(value["s"])


@dataclass(frozen=True)
class Outcome:
    """What a release did, in the owner's words."""

    delivered: bool
    message: str


def _body_for(submission: Submission) -> tuple[bytes, str]:
    """The stored fields as the view reads them: a JSON object for a view that
    answers JSON (``guard_form(json_success=...)``), else form-encoded."""
    if json_success_of(_view_of(submission)) is not None:
        grouped: dict[str, list[str]] = {}
        for name, value in submission.fields:
            grouped.setdefault(name, []).append(value)
        fields = {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}
        return json.dumps(fields, ensure_ascii=False).encode(), "application/json; charset=utf-8"
    return urlencode([(name, value) for name, value in submission.fields]).encode(), (
        "application/x-www-form-urlencoded; charset=utf-8"
    )


def _request_for(submission: Submission, admin_request: HttpRequest) -> WSGIRequest:
    body, content_type = _body_for(submission)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": submission.path,
        "SCRIPT_NAME": admin_request.META.get("SCRIPT_NAME", ""),
        "QUERY_STRING": "",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": admin_request.META.get("SERVER_NAME", "localhost"),
        "SERVER_PORT": admin_request.META.get("SERVER_PORT", "80"),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": admin_request.get_host(),
        "REMOTE_ADDR": submission.ip or "127.0.0.1",
        "HTTP_ACCEPT_LANGUAGE": submission.accept_language or submission.page_language,
        "HTTP_USER_AGENT": submission.user_agent,
        RELEASE_META: sign_mark(submission),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": admin_request.scheme or "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    request = WSGIRequest(environ)
    # A visitor's words: if the view fails, Django's error report shows none of them.
    request.sensitive_post_parameters = "__ALL__"  # type: ignore[attr-defined]
    if _decided_in_the_view(submission):
        # A page that runs the pipeline in its own serve() (a Wagtail form page:
        # Wagtail routes every page through one view) meets the CSRF middleware
        # before its release mark is read. The mark is what the CSRF check is
        # for and more (steps.released): this request is built here, never sent
        # by a browser, so no other site can make one.
        request.csrf_processing_done = True  # type: ignore[attr-defined]
    return request


def _dispatch(request: WSGIRequest) -> HttpResponse:
    """The request through the site's whole middleware stack and view, as a visitor's POST goes.

    ``BaseHandler.get_response`` (what the WSGI handler calls), without the
    request_started/finished signals that would close this request's own
    database connection; the active language is the visitor's while the view
    runs, the owner's again after.
    """
    handler = BaseHandler()
    handler.load_middleware()
    with translation.override(translation.get_language()):
        return handler.get_response(request)


def _view_of(submission: Submission) -> Callable[..., Any] | None:
    try:
        return resolve(submission.path).func
    except Resolver404:
        return None


def _replayable(submission: Submission) -> bool:
    view = _view_of(submission)
    return view is not None and release_mode_of(view) != RELEASE_BY_SIGNAL


def _decided_in_the_view(submission: Submission) -> bool:
    """The form's path is served by a view with no formguard mark: the page decides in its serve()."""
    view = _view_of(submission)
    return view is not None and form_key_of(view) is None


def _back_to_held(submission: Submission) -> None:
    Submission.objects.filter(pk=submission.pk, status=SubmissionStatus.RELEASED).update(
        status=SubmissionStatus.HELD, released_at=None
    )
    submission.status, submission.released_at = SubmissionStatus.HELD, None


def release(submission: Submission, admin_request: HttpRequest) -> Outcome:
    """Deliver a held submission once; the second call does nothing and says so."""
    now = timezone.now()
    claimed = Submission.objects.filter(pk=submission.pk, status=SubmissionStatus.HELD).update(
        status=SubmissionStatus.RELEASED, released_at=now
    )
    if not claimed:
        return Outcome(False, str(_("Not sent again: it was already released or is no longer held.")))
    submission.status, submission.released_at = SubmissionStatus.RELEASED, now
    if not _replayable(submission):
        receivers = signals.submission_released.send(sender=Submission, submission=submission, response=None)
        if not receivers:
            _back_to_held(submission)
            return Outcome(
                False,
                str(_("Not sent: this form's view cannot be run again and nothing receives submission_released.")),
            )
        return Outcome(True, str(_("Released: handed to the site's delivery hook.")))
    request = _request_for(submission, admin_request)
    try:
        response = _dispatch(request)
    except Exception:  # the view raised past Django's own handling: still the owner's to know
        logger.exception("formguard: releasing submission %s failed in the form's view.", submission.pk)
        response = None
    verdict = getattr(request, "formguard", None)
    if response is not None and (verdict is None or verdict.check != "released"):
        # The mark was not honoured (formguard's middleware missing, the store
        # down): the request was judged as any POST and did not get through.
        _back_to_held(submission)
        return Outcome(False, str(_("Not sent: the release could not be confirmed. The message is still held.")))
    if response is None or response.status_code >= 400:
        _back_to_held(submission)
        status = response.status_code if response is not None else 500
        return Outcome(
            False,
            str(_("Not sent: the form's view answered %(status)s. The message is still held.") % {"status": status}),
        )
    signals.submission_released.send(sender=Submission, submission=submission, response=response)
    return Outcome(True, str(_("Released: the form's view ran on it and sent it.")))
