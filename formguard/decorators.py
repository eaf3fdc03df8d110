"""How a site marks its inquiry views: ``guard_form`` (from ``marks``) and ``GuardedFormMixin``.

Both only attach the form key to the view; ``FormGuardMiddleware`` reads it
in ``process_view`` and decides, for sync and async views alike (as Django's
``csrf_exempt`` marks and ``CsrfViewMiddleware`` acts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The marks live in ``marks`` (read by the pipeline and the refusal pages, below the
# forms); re-exported here, the import path the README shows.
from .marks import ATTRIBUTE, FAKES_SUCCESS_ATTRIBUTE, guard_form
from .marks import discover_form_keys as discover_form_keys
from .marks import discover_form_views as discover_form_views
from .marks import fakes_success_itself as fakes_success_itself
from .marks import form_key_of as form_key_of
from .marks import shows_form_errors as shows_form_errors
from .marks import success_url_of as success_url_of


class GuardedFormMixin:
    """Mixin for class-based views: set ``formguard_form_key = "contact"``.

    On a ``FormView`` (any ``FormMixin``) it also adds formguard's field
    (the captcha widget, the honeypot and the time trap) to the form, so a
    failed check comes back as a form error with everything the visitor
    typed. A "fake success" runs the view as a real submission does: the
    form is validated (an invalid one comes back with its errors) and a
    valid one gets what ``FormMixin.form_valid`` answers — the redirect to
    ``get_success_url()``, the reply hint kept, ``SuccessMessageMixin``'s
    message — while the class's own ``form_valid`` (which sends) is never
    called.
    It also looks at the address in the field named ``formguard_email_field``
    ("email"; None: not at all): the template context gets
    ``formguard_reply_hint`` when the form comes back, and a valid form is
    noted with ``replyhints.note_inquiry`` (hint kind kept for the thanks
    page, counted for the dashboard, ``reply_hint`` signal, and
    ``request.formguard_reply_hint`` for the view's own ``form_valid``).
    """

    formguard_form_key: str = ""
    formguard_success_url: Any = None
    formguard_email_field: str | None = "email"

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., Any]:
        from django.views.generic.edit import FormMixin

        view = super().as_view(**initkwargs)  # type: ignore[misc]
        form_key = initkwargs.get(ATTRIBUTE) or cls.formguard_form_key
        if not form_key:
            raise ValueError(f"{cls.__name__} needs formguard_form_key.")
        success_url = cls.formguard_success_url or getattr(cls, "success_url", None)
        guarded = guard_form(form_key, form_errors=issubclass(cls, FormMixin), success_url=success_url)(view)
        # The view answers a fake success itself when its POST reaches
        # sending only through form_valid (Django's own post()); a class
        # with a post() of its own may send there, so formguard answers
        # for it without running it.
        post = getattr(cls, "post", None)
        setattr(
            guarded,
            FAKES_SUCCESS_ATTRIBUTE,
            issubclass(cls, FormMixin) and getattr(post, "__module__", "") == "django.views.generic.edit",
        )
        return guarded

    def setup(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)  # type: ignore[misc]
        verdict = getattr(request, "formguard", None)
        if verdict is not None and verdict.fake_success:
            # On the instance: it wins over a form_valid anywhere in the
            # site's class, which sends the message.
            self.form_valid = self._formguard_pretend_sent

    def _formguard_address(self, form: Any) -> str | None:
        name = self.formguard_email_field
        return (form.cleaned_data[name] or "") if name and name in form.cleaned_data else None

    def _formguard_pretend_sent(self, form: Any) -> Any:
        """What a sent form answers (``FormMixin.form_valid``, the hint kept as
        ``form_valid`` keeps it), with nothing sent, saved or counted."""
        from django.contrib import messages
        from django.contrib.messages.views import SuccessMessageMixin
        from django.http import HttpResponseRedirect
        from django.views.generic.edit import ModelFormMixin

        from .replyhints import hint_for, remember

        address = self._formguard_address(form)
        if address is not None:
            request = self.request  # type: ignore[attr-defined]
            request.formguard_reply_hint = hint_for(address)
            remember(request, request.formguard_reply_hint)
        if isinstance(self, ModelFormMixin):
            self.object = form.instance  # unsaved: for a success_url formatted with its fields
        response = HttpResponseRedirect(self.get_success_url())  # type: ignore[attr-defined]
        if isinstance(self, SuccessMessageMixin):
            # Django's own thanks message (its cookie, the next page).
            message = self.get_success_message(form.cleaned_data)
            if message:
                messages.success(self.request, message)  # type: ignore[attr-defined]
        return response

    def get_form(self, form_class: Any = None) -> Any:
        from .forms import install_field

        form = super().get_form(form_class)  # type: ignore[misc]
        install_field(form, self.request)  # type: ignore[attr-defined]
        return form

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from .replyhints import hint_for

        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        form = context.get("form")
        name = self.formguard_email_field
        if name and form is not None and form.is_bound and name in form.fields:
            context["formguard_reply_hint"] = hint_for(str(form[name].value() or ""))
        return context

    def form_valid(self, form: Any) -> Any:
        from .replyhints import note_inquiry

        address = self._formguard_address(form)
        if address is not None:
            request = self.request  # type: ignore[attr-defined]
            request.formguard_reply_hint = note_inquiry(request, address, form_key=self.formguard_form_key)
        return super().form_valid(form)  # type: ignore[misc]
