"""``FormGuardMiddleware``: runs the pipeline for views marked as guarded forms.

Unmarked views (the admin among them) pass untouched. Works in sync and async
stacks: Django adapts ``process_view`` to the handler's mode, and the pipeline
itself is sync code (cache and ORM calls).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from .decorators import form_key_of
from .pipeline import evaluate
from .refusal import respond


class FormGuardMiddleware(MiddlewareMixin):
    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        form_key = form_key_of(view_func)
        if form_key is None:
            return None
        attempt, verdict = evaluate(request, form_key)
        # The site's form reads this to show captcha errors and the like.
        request.formguard = verdict
        return respond(attempt, verdict)
