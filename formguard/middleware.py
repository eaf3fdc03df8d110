"""``FormGuardMiddleware``: runs the pipeline for views marked as guarded forms.

Unmarked views (the admin among them) pass untouched. The decision is made in
``process_request``, as soon as the request reaches formguard, for the view
its path resolves to: a refusal then skips every middleware placed after
formguard (CSRF, sessions' users, messages…) and Django's own URL resolving
and view middleware, so that refusing a flood costs well under what serving
the form costs. ``process_view`` decides for a view the path did not lead to
(a URLconf chosen by a later middleware), and answers a fake success: at
the view's place, so that it passes every middleware as the real success
does. Works in sync and async stacks:
Django adapts both hooks to the handler's mode, and the pipeline itself is
sync code (store and ORM calls).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.deprecation import MiddlewareMixin
from django.utils.html import conditional_escape
from django.utils.translation import gettext_lazy

from . import captcha, problems
from .attempt import Verdict
from .captcha.altcha import is_challenge_request
from .conf import conf
from .marks import fakes_success_itself, form_key_of, shows_form_errors
from .models import Reason
from .pipeline import evaluate
from .refusal import fake_success, render_refusal, respond
from .store import StoreUnavailable, get_store
from .submitted import BadBody

logger = logging.getLogger("formguard.middleware")


@lru_cache(maxsize=1024)
def _guarded_view(path: str, urlconf: str | None) -> Callable[..., Any] | None:
    # A site has a few paths; a bot's random ones are forgotten first.
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return None
    return match.func if form_key_of(match.func) is not None else None


# The diagnosis page reads this: a guarded form was last shown without its traps.
MISSING_TRAPS = "traps_missing:{}"
MISSING_TRAPS_TTL = 24 * 3600
# Per process: when each form was last reported, so a broken template logs
# once a minute, not once per visitor.
_reported: dict[str, float] = {}


MISSING_TRAPS_MESSAGE = (
    "formguard: {path} showed form {form!r} without formguard's field, so its visitors' POSTs carry no "
    "time token and are refused. Render {{{{ form.formguard }}}} (or the whole form) in the template."
)


def _report_missing_traps(request: HttpRequest, form_key: str) -> None:
    if settings.DEBUG:
        # The developer learns it at the first GET, on Django's error page, not from a log line.
        raise ImproperlyConfigured(MISSING_TRAPS_MESSAGE.format(path=request.path, form=form_key))
    now = time.monotonic()
    if now - _reported.get(form_key, float("-inf")) < 60:
        return
    _reported[form_key] = now
    logger.error(MISSING_TRAPS_MESSAGE.format(path=request.path, form=form_key))
    with contextlib.suppress(StoreUnavailable):
        get_store().put(MISSING_TRAPS.format(form_key), time.time(), MISSING_TRAPS_TTL)


CANNOT_BE_SENT = gettext_lazy(
    "Your message could not be sent from this page because of a problem on our side. "
    "Please keep a copy of it and reach us another way; we are sorry for the trouble."
)


def _form_lacks_the_field(verdict: Verdict, form_key: str) -> bool:
    """A POST with no time token, to a form last shown without formguard's field."""
    if verdict.reason != Reason.BAD_TOKEN or verdict.detail.get("token") != "missing":
        return False
    try:
        return bool(get_store().get(MISSING_TRAPS.format(form_key)))
    except StoreUnavailable:
        return False


def _error_not_shown(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether the form the view answered with lacks formguard's error (an HTML page only)."""
    verdict = request.formguard
    if response.status_code not in (200, verdict.status) or response.streaming:
        return False
    if not response.get("Content-Type", "").startswith("text/html"):
        return False
    if not getattr(request, "_formguard_field_checked", False):
        return False  # the form never asked formguard: logged below, the POST may have gone through
    return str(conditional_escape(str(verdict.form_error))).encode(response.charset) not in response.content


def forget_paths() -> None:
    """Resolve paths again (the URLconf changed: tests)."""
    _guarded_view.cache_clear()


def forget_reports() -> None:
    """Report a form shown without formguard's field again at once (tests)."""
    _reported.clear()


class FormGuardMiddleware(MiddlewareMixin):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if not conf.ENABLED:
            return None
        view = _guarded_view(request.path_info, getattr(request, "urlconf", None))
        if view is None:
            return None
        return self._decide(request, view)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        verdict = getattr(request, "formguard", None)
        if verdict is None:
            if not conf.ENABLED or form_key_of(view_func) is None:
                return None
            response = self._decide(request, view_func)
            if response is not None:
                return response
            verdict = request.formguard
        attempt = request.formguard_attempt
        if verdict.fake_success and not fakes_success_itself(attempt.view):
            # At the view's place, not in process_request: the response
            # goes out through every middleware, as the real success does.
            return fake_success(attempt)
        return None

    def _decide(self, request: HttpRequest, view_func: Callable[..., Any]) -> HttpResponse | None:
        form_key = form_key_of(view_func)
        assert form_key is not None
        try:
            attempt, verdict = evaluate(request, form_key, view=view_func)
        except BadBody as error:
            # A JSON body that is not an object of fields, met by the first
            # step that reads a field (a closed form refuses it first, as it
            # does a form body too big to read): a 400 problem, not a 500.
            return problems.bad_body(error)
        # formguard's form field reads these: whether to show the captcha,
        # and the error to show.
        request.formguard = verdict
        request.formguard_attempt = attempt
        if verdict.allowed and is_challenge_request(request):
            challenge = self._challenge(attempt)
            if challenge is not None:
                return challenge
        response = respond(attempt, verdict, view_shows_form_errors=shows_form_errors(view_func))
        if response is None and verdict.form_error:
            # The view is to show formguard's error in its form (checked in process_response).
            request._formguard_error_for_view = True
        return response

    @staticmethod
    def _challenge(attempt: Any) -> HttpResponse | None:
        # The self-hosted captcha's widget asks the form's own URL for a fresh
        # challenge when it starts solving, so a visitor who takes ten minutes
        # to type does not submit an expired one; served here, after the
        # pipeline let the GET through, so the site adds no URL for it.
        provider = captcha.get_provider()
        if not hasattr(provider, "challenge"):
            return None
        body = provider.challenge(form_key=attempt.form_key, difficulty=attempt.policy.captcha_difficulty)
        response = JsonResponse(body)
        response["Cache-Control"] = "no-store"
        return response

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        attempt = getattr(request, "formguard_attempt", None)
        if (
            attempt is not None
            and getattr(request, "_formguard_field_installed", False)
            and not getattr(request, "_formguard_traps_rendered", False)
            and request.method == "GET"
            and response.status_code == 200
            and attempt.policy.enabled
            and attempt.policy.time_trap_action != "off"
        ):
            # The view built a form with formguard's field but the template
            # rendered the fields one by one and left it out.
            _report_missing_traps(request, attempt.form_key)
        verdict = getattr(request, "formguard", None)
        if verdict is not None and verdict.form_error and verdict.status != 200 and response.status_code == 200:
            # The view showed the form again with formguard's error (the
            # shared-address captcha); the status says what it is to a bot.
            response.status_code = verdict.status
            if verdict.retry_after:
                response["Retry-After"] = str(verdict.retry_after)
        if getattr(request, "_formguard_error_for_view", False):
            if _form_lacks_the_field(verdict, attempt.form_key):
                # Sending again cannot help: the site's template leaves out
                # formguard's field, so its form carries no time token at all.
                # The visitor is told so, with the text and the other contacts.
                return render_refusal(attempt, dataclasses.replace(verdict, form_error=str(CANNOT_BE_SENT)))
            if _error_not_shown(request, response):
                # The view showed the form again, but nowhere on it the reason
                # (a template without {{ form.non_field_errors }}): formguard's
                # own page instead, with the reason and the text.
                return render_refusal(attempt, verdict)
        if (
            getattr(request, "_formguard_error_for_view", False)
            and not getattr(request, "_formguard_field_checked", False)
            and not attempt.csrf_refused
        ):
            # The view promised to show formguard's errors but its form never
            # asked: the POST may have gone through unchecked. (Not when the
            # view never ran: Django's CSRF check refused the POST first, or
            # formguard answered with its own page.)
            logger.error(
                "formguard: %s refused (%s) but the view of form %r did not check it; give its form "
                "FormGuardFormMixin, or drop form_errors=True from guard_form().",
                request.path,
                verdict.reason,
                request.formguard_attempt.form_key,
            )
        return response
