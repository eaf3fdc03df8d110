"""How a site marks its inquiry views: ``guard_form`` and ``GuardedFormMixin``.

Both only attach the form key to the view; ``FormGuardMiddleware`` reads it
in ``process_view`` and decides, for sync and async views alike (as Django's
``csrf_exempt`` marks and ``CsrfViewMiddleware`` acts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

ATTRIBUTE = "formguard_form_key"
FORM_ERRORS_ATTRIBUTE = "formguard_form_errors"

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., Any])


def guard_form(form_key: str, *, form_errors: bool = False) -> Callable[[ViewFunc], ViewFunc]:
    """Mark a view (function, async function or ``as_view()``) as a guarded form.

    ::

        @guard_form("contact", form_errors=True)
        def contact(request):
            form = ContactForm(request.POST or None, request=request)  # with FormGuardFormMixin
            ...

        path("inquiry/", guard_form("inquiry")(ThirdPartyView.as_view()))

    ``form_errors=True`` promises that the view's form uses
    ``FormGuardFormMixin``, which shows a failed captcha as a form error with
    the visitor's input kept. Without it formguard refuses such a POST with
    its own page, so a view that does not check can never send the mail.
    """
    if not form_key or not isinstance(form_key, str) or form_key == "*":
        raise ValueError("guard_form() needs a form key such as 'contact' ('*' is the site-wide policy).")

    def mark(view: ViewFunc) -> ViewFunc:
        setattr(view, ATTRIBUTE, form_key)
        setattr(view, FORM_ERRORS_ATTRIBUTE, form_errors)
        return view

    return mark


class GuardedFormMixin:
    """Mixin for class-based views: set ``formguard_form_key = "contact"``.

    On a ``FormView`` (any ``FormMixin``) it also adds formguard's field
    (the captcha widget) to the form, so a failed captcha comes back as a
    form error with everything the visitor typed; and it looks at the
    address in the field named ``formguard_email_field`` ("email"; None:
    not at all): the template context gets ``formguard_reply_hint`` when
    the form comes back, and a valid form is noted with
    ``replyhints.note_inquiry`` (hint kind kept for the thanks page,
    counted for the dashboard, ``reply_hint`` signal, and
    ``request.formguard_reply_hint`` for the view's own ``form_valid``).
    """

    formguard_form_key: str = ""
    formguard_email_field: str | None = "email"

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., Any]:
        from django.views.generic.edit import FormMixin

        view = super().as_view(**initkwargs)  # type: ignore[misc]
        form_key = initkwargs.get(ATTRIBUTE) or cls.formguard_form_key
        if not form_key:
            raise ValueError(f"{cls.__name__} needs formguard_form_key.")
        return guard_form(form_key, form_errors=issubclass(cls, FormMixin))(view)

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

        name = self.formguard_email_field
        if name and name in form.cleaned_data:
            request = self.request  # type: ignore[attr-defined]
            request.formguard_reply_hint = note_inquiry(
                request, form.cleaned_data[name] or "", form_key=self.formguard_form_key
            )
        return super().form_valid(form)  # type: ignore[misc]


def form_key_of(view: Callable[..., Any]) -> str | None:
    return getattr(view, ATTRIBUTE, None)


def shows_form_errors(view: Callable[..., Any]) -> bool:
    return bool(getattr(view, FORM_ERRORS_ATTRIBUTE, False))


def discover_form_keys(urlconf: str | None = None) -> list[str]:
    """Form keys of the guarded views reachable in the URLconf, sorted."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: set[str] = set()

    def walk(patterns: list) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                key = form_key_of(pattern.callback)
                if key:
                    found.add(key)

    walk(get_resolver(urlconf).url_patterns)
    return sorted(found)
