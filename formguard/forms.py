"""Form integration: formguard's field, which renders the captcha widget and
the bot traps (honeypot, signed issue time), and turns a refusal into a form
error, keeping what was typed; and ``ConsentField``, an opt-in box that
cannot be pre-ticked.

Verification itself happens once, in the pipeline (captcha tokens are good
once); the field only reads its result from the request.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import captcha, salesnotice, traps
from .submitted import submitted

FIELD_NAME = "formguard"


def _time_token(request: HttpRequest, form_key: str, longest: int, now: float) -> str:
    """The token to render: the visitor's own again when the form comes back
    with an error (the time they started stays theirs), else a fresh one."""
    if request.method == "POST":
        posted = submitted(request).get(traps.TIME_FIELD, "")
        age = traps.token_age(form_key, posted, now)
        if age is not None and 0 <= age <= longest:
            return posted
    return traps.issue_token(form_key)


def render_traps(request: HttpRequest) -> str:
    """The honeypot and the time token, for ``request``'s guarded form ("" when it has none)."""
    attempt = getattr(request, "formguard_attempt", None)
    if attempt is None:
        return ""
    request._formguard_traps_rendered = True
    policy = attempt.policy
    html = ""
    if not getattr(request, "_formguard_css_rendered", False):
        request._formguard_css_rendered = True
        # In the form, not the page's <head>: the site's template needs no
        # change. A stylesheet link is allowed in <body> and blocks rendering
        # of what follows until it is loaded, so the honeypot never flashes.
        html += format_html('<link rel="stylesheet" href="{}">', static("formguard/formguard.css"))
    if policy.honeypot_action != "off":
        html += format_html(
            # Phrasing content only (a span, not a div): {{ form.as_p }} puts the field in a <p>.
            '<span class="fg-trap" aria-hidden="true"><label for="id_{name}">{label}</label>'
            '<input type="text" name="{name}" id="id_{name}" value="" autocomplete="off" tabindex="-1"></span>',
            name=traps.HONEYPOT_FIELD,
            label=_("Leave this field empty"),
        )
    if policy.time_trap_action != "off" or policy.flood_limit != "off":
        # The flood breaker counts only POSTs that carry it (steps.flood.could_be_real).
        token = _time_token(request, attempt.form_key, policy.time_trap_max, attempt.now.timestamp())
        html += format_html('<input type="hidden" name="{}" value="{}">', traps.TIME_FIELD, token)
    return html


class CaptchaWidget(forms.Widget):
    """Renders the bot traps and the provider's widget (when a captcha is wanted)."""

    def __init__(self, request: HttpRequest | None = None, attrs: dict[str, Any] | None = None):
        super().__init__(attrs)
        self.request = request

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        if self.request is None:
            return ""
        html = render_traps(self.request)
        provider = captcha.get_provider()
        attempt = getattr(self.request, "formguard_attempt", None)
        if provider is None or attempt is None or not attempt.wants_captcha:
            return mark_safe(html)  # noqa: S308 (built with format_html)
        context = {**provider.widget_context(attempt.form_key), **provider.page_context(self.request)}
        context["include_script"] = not getattr(self.request, "_formguard_script_rendered", False)
        widget = render_to_string(provider.widget_template, context, request=self.request)
        return mark_safe(html + widget)  # noqa: S308

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        provider = captcha.get_provider()
        return data.get(provider.response_field) if provider else None

    def use_required_attribute(self, initial: Any) -> bool:
        return False

    def id_for_label(self, id_: str) -> str:
        # Nothing to label: a template that writes <label for="{{ field.id_for_label }}"> for
        # every field gets no for= pointing at an element that does not exist.
        return ""


class FormGuardField(forms.Field):
    """Shows formguard's verdict on the POST as a form error."""

    def __init__(self, request: HttpRequest | None = None, **kwargs: Any):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "")
        super().__init__(widget=CaptchaWidget(request), **kwargs)
        self.request = request

    def clean(self, value: Any) -> None:
        if self.request is None:
            return None
        self.request._formguard_field_checked = True
        verdict = getattr(self.request, "formguard", None)
        if verdict is None or not verdict.form_error:
            return None
        error = forms.ValidationError(verdict.form_error, code=verdict.reason or "formguard")
        # A rule about one field (the message, the address) shows its error
        # at that field, where the visitor will fix it.
        target = verdict.detail.get("field")
        form = getattr(self, "form", None)
        if form is not None and target and target in form.fields and target != FIELD_NAME:
            form.add_error(target, error)
            return None
        if form is not None:
            # Any other refusal ("sent too fast", the captcha) is about the whole
            # message: at the top of the form, where the visitor looks first when
            # the page comes back, not at formguard's field below the last one.
            form.add_error(None, error)
            return None
        raise error


def install_field(form: forms.BaseForm, request: HttpRequest | None) -> None:
    """Add formguard's field to a form instance (once)."""
    if FIELD_NAME not in form.fields:
        field = form.fields[FIELD_NAME] = FormGuardField(request=request)
        field.form = form
    if request is not None:
        request._formguard_field_installed = True
    attempt = getattr(request, "formguard_attempt", None)
    if attempt is not None:
        remember_form(attempt.form_key, form)
    # 営業お断り: the policy's notice first in the form (after remember_form:
    # it is no field a visitor fills in).
    salesnotice.install(form, request)


class FormGuardFormMixin:
    """For forms of function views: ``ContactForm(request.POST, request=request)``.

    Pair it with ``guard_form("contact", form_errors=True)``.
    """

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        install_field(self, request)  # type: ignore[arg-type]


# Consent fields constructed pre-ticked (``initial`` given and truthy), and
# where: the system check formguard.E015 reports them. A field is built when
# its form class is defined, so every form of a module that the URLconf
# imports is here by the time checks run (the check imports the URLconf).
PRE_TICKED_CONSENT: list[str] = []


class _ConsentBoundField(forms.BoundField):
    # Unticked whatever the form or view passes as initial data: only the
    # visitor's own tick (the submitted data) can tick it.
    @property
    def initial(self) -> Any:
        return False


class ConsentField(forms.BooleanField):
    """An opt-in box ("send me news") that cannot be pre-ticked.

    Never required (consent must be free), shown unticked even when the form
    or the view passes ``initial=True`` (and a pre-ticked declaration is a
    system-check error, formguard.E015). ``cleaned_data[name]`` is the time
    consent was given (an aware ``datetime``) or ``None``: store it with the
    inquiry, as Japan's 特定電子メール法 asks a sender to keep a record of
    consent.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        if kwargs.get("initial"):
            import traceback

            caller = traceback.extract_stack(limit=2)[0]
            PRE_TICKED_CONSENT.append(f"{caller.filename}:{caller.lineno}")
        kwargs["initial"] = False
        kwargs["required"] = False
        super().__init__(*args, **kwargs)

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> forms.BoundField:
        return _ConsentBoundField(form, self, field_name)

    def clean(self, value: Any) -> Any:
        from django.utils import timezone

        return timezone.now() if super().clean(value) else None

    def has_changed(self, initial: Any, data: Any) -> bool:
        return bool(self.to_python(data))


# formguard refuses before the site's form exists, so it cannot ask the form
# for its labels. A guarded view that builds its form (``GuardedFormMixin``,
# ``FormGuardFormMixin``) tells them here; until it has in this process, the
# usual field names get a label in the visitor's language and any other
# shows its name.
FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "email": gettext_lazy("Email"),
    "mail": gettext_lazy("Email"),
    "phone": gettext_lazy("Telephone"),
    "tel": gettext_lazy("Telephone"),
    "company": gettext_lazy("Company"),
    "subject": gettext_lazy("Subject"),
    "message": gettext_lazy("Message"),
    "body": gettext_lazy("Message"),
    "inquiry": gettext_lazy("Message"),
}

# Each guarded form's fields: label (lazy, so in each visitor's language) and
# whether it is a text area. Learnt from the form classes, which are the same
# in every process: not shared state, one small entry per form key.
_forms: dict[str, dict[str, tuple[Any, bool]]] = {}


def remember_form(form_key: str, form: Any) -> None:
    """Note a form's labels and text areas, for the refusal pages of ``form_key``."""
    fields = {
        name: (field.label or name, isinstance(field.widget, forms.Textarea))
        for name, field in form.fields.items()
        if name != FIELD_NAME
    }
    if _forms.get(form_key) != fields:
        _forms[form_key] = fields


def label_for(name: str, form_key: str = "") -> Any:
    """A submitted field's label: the form's own, else the usual one for its name, else the name."""
    known = _forms.get(form_key, {}).get(name)
    return known[0] if known else FIELD_LABELS.get(name.lower(), name)


def known_fields(form_key: str) -> dict[str, tuple[Any, bool]]:
    """The labels and text areas noted for ``form_key``'s form (``remember_form``), by field name."""
    return _forms.get(form_key, {})
