"""Wagtail form pages guarded as a view is: ``GuardedFormPageMixin``.

Wagtail serves every page through one view of its own (``wagtail.views.serve``),
so the URL resolver never sees a form page and ``FormGuardMiddleware`` cannot
decide for it before the view. The page decides in its own ``serve()`` instead,
with the middleware's own hooks (``process_view`` and ``process_response``) run
around Wagtail's ``FormMixin.serve``: the same pipeline, refusal pages, captcha
challenge and form errors as a guarded Django view. formguard's field (traps and
captcha) is installed into the form Wagtail's form builder generates, and taken
out of what the form hands to ``process_form_submission``, so neither the stored
``FormSubmission`` nor the mail shows it.

A held or fake-success submission shows the page's landing page with nothing
stored and nothing mailed. Released from the review inbox, the stored POST runs
through the page's ``serve()`` again (``release.py``) and is stored and mailed
as Wagtail does with any submission.

Nothing here imports Wagtail: the mixin is put before ``AbstractEmailForm`` or
``AbstractForm`` in the site's own page class (docs/wagtail.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .. import salesnotice
from ..conf import conf
from ..forms import FIELD_NAME, install_field
from ..marks import FAKES_SUCCESS_ATTRIBUTE, guard_form
from ..middleware import FormGuardMiddleware
from ..policies import ensure_row

__all__ = ["GuardedFormPageMixin"]

# formguard's own fields in a guarded form: never stored or mailed as the visitor's answers.
OWN_FORM_FIELDS = (FIELD_NAME, salesnotice.FIELD_NAME)


def _no_next_handler(request: HttpRequest) -> HttpResponse:
    # The middleware's hooks are called one by one around the page's serve(), never its __call__.
    raise AssertionError("not called")


class GuardedFormPageMixin:
    """Put it first in a Wagtail form page class::

        class ContactFormPage(GuardedFormPageMixin, AbstractEmailForm):
            formguard_form = "contact"   # optional: the page's slug by default

    The page's form key (``formguard_form``, or else the page's slug) names its
    policy row in formguard's admin, created when the page is published.
    """

    formguard_form: str = ""

    def formguard_form_key(self) -> str:
        return self.formguard_form or self.slug  # type: ignore[attr-defined]

    def save(self, *args: Any, **kwargs: Any) -> Any:
        result = super().save(*args, **kwargs)  # type: ignore[misc]
        if self.live:  # type: ignore[attr-defined]
            # The owner finds the form's policy in the admin before its first visitor.
            ensure_row(self.formguard_form_key())
        return result

    def _formguard_view(self, serve: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        # The pipeline and the refusal pages read a view's marks (marks.py): the page's
        # serve, marked as a form view that shows formguard's errors in its form and
        # answers a fake success itself (with the landing page).
        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return serve(request, *args, **kwargs)

        guard_form(self.formguard_form_key(), form_errors=True)(view)
        setattr(view, FAKES_SUCCESS_ATTRIBUTE, True)
        return view

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not conf.ENABLED:
            return super().serve(request, *args, **kwargs)  # type: ignore[misc]
        view = self._formguard_view(self._formguard_serve)
        guard = FormGuardMiddleware(_no_next_handler)
        response = guard.process_view(request, view, args, kwargs)
        if response is not None:
            return guard.process_response(request, response)
        response = view(request, *args, **kwargs)
        if isinstance(response, TemplateResponse) and not response.is_rendered:
            # What the middleware checks (formguard's error shown in the form) is
            # in the rendered page: checked once Django has rendered it.
            response.add_post_render_callback(lambda rendered: guard.process_response(request, rendered))
            return response
        return guard.process_response(request, response)

    def _formguard_serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        verdict = request.formguard  # type: ignore[attr-defined]
        self._formguard_request = request
        if verdict.fake_success:
            # Held or caught: the landing page a sent form shows, with nothing
            # stored or mailed. On the instance, so that it wins over a
            # process_form_submission of the site's own page class.
            self.process_form_submission = _stored_nothing
        try:
            return super().serve(request, *args, **kwargs)  # type: ignore[misc]
        finally:
            self.__dict__.pop("process_form_submission", None)
            self._formguard_request = None

    def get_form(self, *args: Any, **kwargs: Any) -> Any:
        form = super().get_form(*args, **kwargs)  # type: ignore[misc]
        request = getattr(self, "_formguard_request", None)
        if request is None:
            return form  # built outside serve() (Wagtail's preview context): no visitor to judge
        install_field(form, request)
        _leave_out_own_fields(form)
        return form


def _stored_nothing(form: Any) -> None:
    return None


def _leave_out_own_fields(form: Any) -> None:
    """formguard's fields out of ``cleaned_data``: what Wagtail stores and mails is the visitor's answers."""
    clean = form.clean

    def clean_without_own_fields() -> Any:
        cleaned = clean()
        data = form.cleaned_data if cleaned is None else cleaned
        for name in OWN_FORM_FIELDS:
            data.pop(name, None)
        return data

    form.clean = clean_without_own_fields
