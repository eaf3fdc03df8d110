"""The form policy's admin form: durations typed as 30m or 2h, rates checked, inherited values shown."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import durations, geo, policies
from ..models import SITE_WIDE, FormPolicy
from ..ratelimits import format_rate, parse_rate

DURATION_FIELDS = (
    "burst_window",
    "ban_duration",
    "ban_max",
    "ban_lookback",
    "time_trap_min",
    "time_trap_max",
    "flood_escalation",
)
RATE_FIELDS = ("rate_limit", "ipv6_network_rate_limit", "recipient_limit", "flood_limit")


def describe_value(field: str, value: Any) -> str:
    """A policy value as the owner reads it."""
    if value in ("", None, "off"):
        # Never an empty “(now: )” nor the stored word “off”.
        return gettext("none")
    if field in RATE_FIELDS:
        return format_rate(value)
    if field in DURATION_FIELDS:
        return durations.format_duration(value)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    model_field = FormPolicy._meta.get_field(field)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if field == "allowed_countries":
        from ..models import parse_countries

        return ", ".join(geo.country_label(c) for c in parse_countries(value))
    return str(value)


def inherited_text(field: str) -> str:
    return gettext("Follows the site-wide setting (now: %(value)s)") % {
        "value": describe_value(field, policies.site_value(field))
    }


class DurationSecondsField(forms.CharField):
    """Seconds in the database, "1時間" / "30日" / "2h" in the form (``durations.parse``)."""

    def __init__(self, *, label: Any = None, **kwargs: Any) -> None:
        # Labelled like the model's own fields, which Django capitalises.
        super().__init__(label=capfirst(label) if label else label, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return durations.format_duration(value)
        return value

    def to_python(self, value: Any) -> int | None:
        text = super().to_python(value)
        if not text:
            return None
        try:
            return int(durations.parse(text).total_seconds())
        except ValueError:
            raise forms.ValidationError(
                _("Not a duration: “%(text)s”. Write it like 30分, 2時間, 30日 (or 30m, 2h, 30d)."),
                params={"text": text},
            ) from None


# "5回/10分", "5 per 10 minutes", "5/10m": a count, then a period in words (``durations``).
RATE_WORDS_RE = re.compile(r"^\s*(\d{1,9})\s*(?:回|件|times?)?\s*(?:/|per|／)\s*(\d*)\s*(\S+?)\s*$", re.IGNORECASE)
OFF_WORDS = ("off", "なし", "オフ", "無し", "none")


def parse_rate_words(text: str) -> str:
    """A rate as the owner types it → the stored form (“5/10m”); ``ValueError`` otherwise."""
    text = unicodedata.normalize("NFKC", text).strip()
    if text.lower() in OFF_WORDS:
        return "off"
    match = RATE_WORDS_RE.match(text)
    if not match:
        raise ValueError(text)
    count, number, unit = match.groups()
    seconds = int(durations.parse(f"{number or 1}{unit}").total_seconds())
    for letter in "dhm":
        size = durations.UNITS[letter][0]
        if seconds % size == 0:
            return f"{count}/{seconds // size if seconds != size else ''}{letter}"
    return f"{count}/{seconds}s"


class RateField(forms.CharField):
    """A rate in the database (“5/10m”), “5回/10分” / “5 per 10 minutes” in the form."""

    def __init__(self, *, optional: bool = False, label: Any = None, **kwargs: Any) -> None:
        self.optional = optional
        # Labelled like the model's own fields, which Django capitalises.
        super().__init__(label=capfirst(label) if label else label, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "off":
            return gettext("none")
        return format_rate(value) if value else value

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if not text:
            return ""
        try:
            rate = parse_rate_words(text)
            if rate == "off" and not self.optional:
                raise ValueError(text)
            if rate != "off":
                parse_rate(rate)
            return rate
        except ValueError:
            raise forms.ValidationError(
                _("Not a rate: “%(text)s”. Write it like 5回/10分, 20回/1時間 or 100回/1日."),
                params={"text": text},
            ) from None


class FormPolicyForm(forms.ModelForm):
    class Meta:
        model = FormPolicy
        # Every editable field; the admin's fieldsets choose and order them.
        fields = [f.name for f in FormPolicy._meta.fields if f.editable and not f.auto_created]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Durations and rates are typed in words; what they are called and why is the model's.
        for name in (*DURATION_FIELDS, *RATE_FIELDS):
            model_field = FormPolicy._meta.get_field(name)
            said = {"label": model_field.verbose_name, "help_text": model_field.help_text, "required": False}
            if name in DURATION_FIELDS:
                widget = forms.TextInput(attrs={"class": "fg-duration", "placeholder": "2時間 / 30日"})
                self.fields[name] = DurationSecondsField(widget=widget, **said)
                continue
            widget = forms.TextInput(attrs={"class": "fg-duration", "placeholder": "5回/10分"})
            self.fields[name] = RateField(optional=name in ("recipient_limit", "flood_limit"), widget=widget, **said)
        if (self.instance.form_key or "") == SITE_WIDE:
            return
        # On a form's row an empty value inherits: say what it inherits now.
        for name in policies.INHERITED_FIELDS:
            field = self.fields.get(name)
            if field is None:
                continue
            text = inherited_text(name)
            widget = field.widget
            if isinstance(widget, forms.NullBooleanSelect):
                widget.choices = [("unknown", text), ("true", gettext("Yes")), ("false", gettext("No"))]
            elif isinstance(widget, forms.Select):
                widget.choices = [("", text), *[c for c in widget.choices if c[0] != ""]]
            else:
                widget.attrs["placeholder"] = text
                widget.attrs["class"] = (widget.attrs.get("class", "") + " fg-inherits").strip()
                field.help_text = format_html('{}<br><span class="fg-inherited">{}</span>', field.help_text or "", text)
