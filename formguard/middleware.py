"""``FormGuardMiddleware``: runs the pipeline for views marked as guarded forms.

Unmarked views (the admin among them) pass untouched. Works in sync and async
stacks: Django adapts ``process_view`` to the handler's mode, and the pipeline
itself is sync code (cache and ORM calls).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from .conf import conf
from .decorators import form_key_of, shows_form_errors
from .pipeline import evaluate
from .refusal import respond

logger = logging.getLogger("formguard.middleware")


class FormGuardMiddleware(MiddlewareMixin):
    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        form_key = form_key_of(view_func)
        if form_key is None or not conf.ENABLED:
            return None
        attempt, verdict = evaluate(request, form_key, view=view_func)
        # formguard's form field reads these: whether to show the captcha,
        # and the error to show.
        request.formguard = verdict
        request.formguard_attempt = attempt
        return respond(attempt, verdict, view_shows_form_errors=shows_form_errors(view_func))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        verdict = getattr(request, "formguard", None)
        if verdict is not None and verdict.form_error and not getattr(request, "_formguard_field_checked", False):
            # The view promised to show formguard's errors but its form never
            # asked: the POST may have gone through unchecked.
            logger.error(
                "formguard: %s refused (%s) but the view of form %r did not check it; give its form "
                "FormGuardFormMixin, or drop form_errors=True from guard_form().",
                request.path,
                verdict.reason,
                request.formguard_attempt.form_key,
            )
        return response
