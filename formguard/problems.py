"""Refusals as JSON: RFC 9457 problem details, for the requests that ask for JSON.

A page's own script (``fetch()``) or an API client cannot read formguard's
HTML refusal pages; a request that asks for JSON (``Accept`` preferring
``application/json`` or ``application/problem+json`` to HTML, or a JSON body)
gets ``application/problem+json`` instead, with what the page says::

    {"type": "https://formguard.invalid/problems/rate-limited", "code": "rate-limited",
     "title": "Too many submissions", "status": 429, "detail": "…", "retry_after": 600,
     "contacts": [...], "fields": {"name": "…", "message": "…"}}

``type`` is one stable URI per reason (``PROBLEM_BASE`` + ``code``; the
``.invalid`` host never resolves, it only names the problem), ``title`` and
``detail`` are in the visitor's language, ``retry_after`` (and the
``Retry-After`` header) where waiting helps, ``contacts`` the other ways to
reach the business the HTML page shows, ``fields`` what was typed (secrets and
tokens left out), so that the script can keep it. docs/json.md lists the codes.

A flood is refused with the same problem many times: the part that depends on
the language and the verdict is built once and kept (as ``refusal`` keeps its
pages); only ``fields`` is added per request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import http_date
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from . import rules
from .attempt import Attempt, Verdict
from .models import Reason
from .submitted import BadBody, is_json

CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://formguard.invalid/problems/"
JSON_TYPES = ("application/json", CONTENT_TYPE)
# Refusals are never cached by browsers or proxies.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"
_OFFERED = ["text/html", *JSON_TYPES]


_expires: tuple[int, str] = (0, "")


def now_http_date() -> str:
    """``http_date()`` of now, formatted once per second (the header's resolution)."""
    global _expires
    second = int(time.time())
    if _expires[0] != second:
        _expires = (second, http_date(second))
    return _expires[1]


# What an unreadable JSON body gets (``submitted.BadBody.problem``): its code is "bad-request".
BAD_REQUEST = "bad-request"


def wants_json(request: HttpRequest) -> bool:
    """Whether to answer with JSON: a JSON body, or an ``Accept`` that prefers JSON to HTML."""
    if is_json(request):
        return True
    accept = request.META.get("HTTP_ACCEPT", "")
    if "json" not in accept:  # the usual browser request, without parsing its Accept
        return False
    return request.get_preferred_type(_OFFERED) in JSON_TYPES


def code_of(reason: str) -> str:
    """The stable ``code`` of a refusal reason: ``rate_limited`` → ``rate-limited``."""
    return str(reason).replace("_", "-")


def _title_and_detail(verdict: Verdict, status: int) -> tuple[str, str]:
    reason = verdict.reason
    if reason == Reason.CLOSED:
        closure = verdict.closure
        message = str(closure.message() if closure else "") or _(
            "We have closed this form for a while because of a flood of unwanted messages. "
            "We are sorry for the inconvenience."
        )
        if closure and closure.until:
            until = date_format(timezone.localtime(closure.until), "Y-m-d H:i T")
            # Japanese sentences follow each other without a space.
            message += ("" if message.endswith("。") else " ") + _("It is expected to reopen at %(until)s.") % {
                "until": until
            }
        return _("This form is closed for now"), message
    if reason == Reason.COUNTRY:
        return _("Access refused"), _("Our inquiry form is not available from your country or region.")
    if status == 403:
        return _("Access refused"), _("This form cannot be used from your network.")
    if status == 429:
        detail = _(
            "We received several messages from your network in a short time. Please wait a little and try again."
        )
        if verdict.retry_after:
            minutes = -(-verdict.retry_after // 60)
            detail += " " + ngettext(
                "Please try again in about %(minutes)s minute.",
                "Please try again in about %(minutes)s minutes.",
                minutes,
            ) % {"minutes": minutes}
        return _("Too many submissions"), detail
    return _("Your message could not be sent"), str(verdict.form_error) or _("Please try again later.")


_problems: dict[tuple[Any, ...], dict[str, Any]] = {}
MAX_PROBLEMS = 512


def forget_problems() -> None:
    """Drop the kept problems (translations or contacts changed: tests)."""
    _problems.clear()


def _contact(channel: Mapping[str, str]) -> dict[str, str]:
    return {k: channel[k] for k in ("kind", "label", "value", "href", "hours", "qr_url") if channel.get(k)}


def problem_data(
    verdict: Verdict,
    status: int,
    *,
    retry_after: int | None,
    contacts: list[dict[str, str]],
    fields: list[tuple[str, str]],
) -> dict[str, Any]:
    """The refusal's problem details (see the module docstring)."""
    key = (
        get_language(),
        status,
        verdict.reason,
        retry_after,
        str(verdict.form_error),
        verdict.closure.message() if verdict.closure else "",
        verdict.closure.until if verdict.closure else None,
        # The reopening time is shown in the active time zone.
        timezone.get_current_timezone_name(),
        tuple(tuple(c.values()) for c in contacts),
    )
    problem = _problems.get(key)
    if problem is None:
        if len(_problems) >= MAX_PROBLEMS:
            _problems.clear()
        title, detail = _title_and_detail(verdict, status)
        code = code_of(verdict.reason)
        problem = _problems[key] = {
            "type": PROBLEM_BASE + code,
            "code": code,
            "title": str(title),
            "status": status,
            "detail": str(detail),
            **({"retry_after": retry_after} if retry_after else {}),
            **({"contacts": [_contact(c) for c in contacts]} if contacts else {}),
        }
    return {**problem, "fields": dict(fields)}


def problem_response(problem: dict[str, Any]) -> HttpResponse:
    """``problem`` as ``application/problem+json``, with ``Retry-After`` when it has one."""
    response = _response(problem, problem["status"])
    if problem.get("retry_after"):
        response["Retry-After"] = str(problem["retry_after"])
    return response


def ban_seconds(attempt: Attempt, verdict: Verdict) -> float | None:
    """How long the client's ban still lasts (None: not banned, or for ever)."""
    if verdict.reason not in (Reason.BLACKLISTED, Reason.AUTO_BANNED, Reason.BURST):
        return None
    match = rules.get_index().first(attempt.ip, "block", attempt.now)
    if match is None or match.expires_at is None:
        return None
    return (match.expires_at - attempt.now).total_seconds()


def ban_retry_after(attempt: Attempt, verdict: Verdict) -> int | None:
    """A JSON client's ``Retry-After`` for a ban: rounded up as the page's "about N hours"
    is (``durations.about``), so that a bot learns no more than a person reads."""
    seconds = ban_seconds(attempt, verdict)
    if seconds is None:
        return None
    unit = 3600 if seconds <= 20 * 3600 else 86400
    return int(-(-seconds // unit) * unit)


def bad_body_problem(error: BadBody) -> dict[str, Any]:
    """The 400 problem for a JSON body that is not one object of fields (``submitted.BadBody``)."""
    details = {
        "too-large": _("The request body is too large."),
        "too-many-fields": _("The request has too many fields."),
        "nested": _("Each field must be text, a number, true, false or null (or a list of them)."),
        "not-an-object": _("The request body must be a JSON object of fields."),
    }
    detail = details.get(error.problem, _("The request body is not valid JSON."))
    return {
        "type": PROBLEM_BASE + BAD_REQUEST,
        "code": BAD_REQUEST,
        "title": _("The request could not be read"),
        "status": 400,
        "detail": str(detail),
        "reason": error.problem,
    }


def bad_body(error: BadBody) -> HttpResponse:
    return problem_response(bad_body_problem(error))


def _response(problem: dict[str, Any], status: int) -> HttpResponse:
    response = HttpResponse(
        json.dumps(problem, ensure_ascii=False), status=status, content_type=CONTENT_TYPE + "; charset=utf-8"
    )
    response["Cache-Control"] = NEVER_CACHE
    response["Vary"] = "Accept, Accept-Language"
    # Aggregated in the incident log instead (refusal.render_refusal says why).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
