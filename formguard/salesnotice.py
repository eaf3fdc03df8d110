"""営業お断り: the "no sales pitches" notice at the top of a guarded form (``sales_notice``).

Japanese form-sales tools (フォーム営業) read the page before they fill a form in,
and public ones skip a form whose text says sales pitches are not wanted: they
look in the page's visible text for a word of sales (営業, 宣伝, セールス, 売り込み)
beside a word of refusal (遠慮, 断り, 禁止, 控え) (docs/traps.md, "営業お断り").
So the notice is plain text in the form itself, first in it, never an image, a
CSS ``content`` or a hidden element; the default 「営業・勧誘目的のご連絡はご遠慮
ください。」 has both words. It is a display-only field placed first among the
form's fields, so that every way a site renders its form (``{{ form }}``, a loop
over the fields) shows it on top; it takes no input and cleans to None.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

FIELD_NAME = "formguard_notice"
DEFAULT_TEXT = _("We do not accept sales pitches or solicitations through this form.")


def notice_text(request: HttpRequest | None) -> str:
    """The notice for ``request``'s guarded form; "" when its policy does not show one."""
    attempt = getattr(request, "formguard_attempt", None)
    if attempt is None or not attempt.policy.sales_notice:
        return ""
    return attempt.policy.sales_notice_text.strip() or str(DEFAULT_TEXT)


class SalesNoticeWidget(forms.Widget):
    """Renders the notice (formguard/includes/sales_notice.html); no input."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        return render_to_string("formguard/includes/sales_notice.html", {"text": self.text})

    def value_from_datadict(self, data: Any, files: Any, name: str) -> None:
        return None

    def id_for_label(self, id_: str) -> str:
        return ""

    def use_required_attribute(self, initial: Any) -> bool:
        return False


class SalesNoticeField(forms.Field):
    """Display only: the notice, and nothing in ``cleaned_data`` but None."""

    def __init__(self, text: str):
        super().__init__(widget=SalesNoticeWidget(text), required=False, label="")

    def clean(self, value: Any) -> None:
        return None


def install(form: forms.BaseForm, request: HttpRequest | None) -> None:
    """Put the notice first among ``form``'s fields when its policy shows one (once)."""
    text = notice_text(request)
    if text and FIELD_NAME not in form.fields:
        form.fields = {FIELD_NAME: SalesNoticeField(text), **form.fields}
