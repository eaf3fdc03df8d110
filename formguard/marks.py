"""What a guarded view carries: the marks ``guard_form`` sets, and the functions that read them.

The lowest of formguard's modules about views: the pipeline, the refusal pages and
the middleware read a view's marks here, and ``decorators`` (the mixin for
class-based views, which installs formguard's field) builds on it. It imports
nothing of formguard's, so reading a mark never pulls the forms or the pipeline in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

ATTRIBUTE = "formguard_form_key"
FORM_ERRORS_ATTRIBUTE = "formguard_form_errors"
SUCCESS_URL_ATTRIBUTE = "formguard_success_url"
FAKES_SUCCESS_ATTRIBUTE = "formguard_fakes_success"
RELEASE_ATTRIBUTE = "formguard_release"
JSON_SUCCESS_ATTRIBUTE = "formguard_json_success"
TRAPS_ATTRIBUTE = "formguard_traps"
# What a fake success (or a hold) answers a JSON request to a view without ``json_success``.
DEFAULT_JSON_SUCCESS = {"ok": True}
# How a held submission of the view is delivered when the owner releases it:
# its POST run through the view again, or handed to ``submission_released``'s
# receivers (docs/review.md).
RELEASE_BY_REPLAY = "replay"
RELEASE_BY_SIGNAL = "signal"

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., Any])


def guard_form(
    form_key: str,
    *,
    form_errors: bool = False,
    success_url: Any = None,
    release: str = RELEASE_BY_REPLAY,
    json_success: Any = None,
    traps: bool | None = None,
) -> Callable[[ViewFunc], ViewFunc]:
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

    ``success_url`` (a path or ``reverse_lazy(...)``) is where a "fake
    success" sends a caught bot, as the view's own redirect after sending
    does; without it, back to the form's own path.

    ``release="signal"``: a held submission of this view is not run through it
    again when the owner releases it (the view cannot take the same POST
    twice); the receivers of ``formguard.signals.submission_released`` get it
    with ``response=None`` and deliver it.

    ``json_success``: what the view answers a JSON request it accepted (a dict
    or list, answered with status 200, or a callable taking the request and
    returning the response), so that a fake success or a hold answers a
    JSON request the same (docs/json.md); a held submission of the view is
    released as a JSON body too. Without it, a JSON request's fake success is
    ``{"ok": true}``.

    ``traps``: whether the view's POSTs carry formguard's bot traps (the
    honeypot and the time token), so that they are checked; by default when
    ``form_errors`` (the view renders formguard's field). ``traps=True`` for
    an endpoint whose page renders the field elsewhere (a ``fetch()`` form).
    """
    if release not in (RELEASE_BY_REPLAY, RELEASE_BY_SIGNAL):
        raise ValueError("guard_form(release=...) is 'replay' or 'signal'.")
    if not form_key or not isinstance(form_key, str) or form_key == "*":
        raise ValueError("guard_form() needs a form key such as 'contact' ('*' is the site-wide policy).")

    def mark(view: ViewFunc) -> ViewFunc:
        setattr(view, ATTRIBUTE, form_key)
        setattr(view, FORM_ERRORS_ATTRIBUTE, form_errors)
        setattr(view, SUCCESS_URL_ATTRIBUTE, success_url)
        setattr(view, RELEASE_ATTRIBUTE, release)
        setattr(view, JSON_SUCCESS_ATTRIBUTE, json_success)
        setattr(view, TRAPS_ATTRIBUTE, form_errors if traps is None else traps)
        return view

    return mark


def form_key_of(view: Callable[..., Any]) -> str | None:
    return getattr(view, ATTRIBUTE, None)


def shows_form_errors(view: Callable[..., Any]) -> bool:
    return bool(getattr(view, FORM_ERRORS_ATTRIBUTE, False))


def carries_traps(view: Callable[..., Any]) -> bool:
    """Whether the view's POSTs carry formguard's traps (``guard_form(traps=...)``)."""
    return bool(getattr(view, TRAPS_ATTRIBUTE, shows_form_errors(view)))


def fakes_success_itself(view: Callable[..., Any] | None) -> bool:
    """Whether the view answers a fake success itself (``GuardedFormMixin`` on a form view)."""
    return bool(getattr(view, FAKES_SUCCESS_ATTRIBUTE, False))


def release_mode_of(view: Callable[..., Any] | None) -> str:
    return getattr(view, RELEASE_ATTRIBUTE, RELEASE_BY_REPLAY)


def json_success_of(view: Callable[..., Any] | None) -> Any:
    """The view's ``json_success`` (None: the view did not say; ``DEFAULT_JSON_SUCCESS`` applies)."""
    return getattr(view, JSON_SUCCESS_ATTRIBUTE, None)


def success_url_of(view: Callable[..., Any] | None) -> str | None:
    url = getattr(view, SUCCESS_URL_ATTRIBUTE, None)
    return str(url) if url else None


def discover_form_views(urlconf: str | None = None) -> dict[str, Callable[..., Any]]:
    """The guarded views reachable in the URLconf, by form key."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: dict[str, Callable[..., Any]] = {}

    def walk(patterns: list) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                key = form_key_of(pattern.callback)
                if key:
                    found.setdefault(key, pattern.callback)

    walk(get_resolver(urlconf).url_patterns)
    return found


def discover_form_keys(urlconf: str | None = None) -> list[str]:
    """Form keys of the guarded views reachable in the URLconf, sorted."""
    return sorted(discover_form_views(urlconf))
