"""``{% load formguard %}``: the captcha script tag, for a page's <head>.

``{% formguard_captcha_script %}`` renders the configured provider's script
(from ``CAPTCHA["SCRIPT_HOST"]``, e.g. www.recaptcha.net for visitors in
mainland China); formguard's widget then leaves it out.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from .. import captcha

register = template.Library()


@register.simple_tag(takes_context=True)
def formguard_captcha_script(context: dict[str, Any]) -> SafeString:
    provider = captcha.get_provider()
    if provider is None:
        return mark_safe("")  # noqa: S308
    request = context.get("request")
    if request is not None:
        request._formguard_script_rendered = True
    return mark_safe(render_to_string("formguard/captcha/script.html", {"script_url": provider.script_url}))  # noqa: S308


@register.filter
def country(code: str) -> str:
    """``{{ row.country|country }}``: "中国 (CN)", with formguard's words for ZZ and XX."""
    from ..geo import country_label

    return country_label(code)


@register.filter
def duration(seconds: int) -> str:
    """``{{ seconds|duration }}``: "1時間", "30日"."""
    from ..durations import format_duration

    return format_duration(seconds) if seconds is not None else ""


@register.filter
def rule_kind(value: str) -> str:
    """A block rule's kind in words: "ブラックリスト", not "block"."""
    from ..models import BlockRule

    return str(dict(BlockRule.Kind.choices).get(value, value))


@register.filter
def rule_source(value: str) -> str:
    from ..models import BlockRule

    return str(dict(BlockRule.Source.choices).get(value, value))


@register.filter
def rule_reason(value: str) -> str:
    from ..models import describe_reason

    return describe_reason(value)


@register.filter
def field_label(name: str, form_key: str = "") -> str:
    """A submitted field's label (``{{ name|field_label:sample.form_key }}``), not its raw name."""
    from ..refusal import label_for

    return str(label_for(name, form_key))


@register.filter
def action_target(target: str) -> str:
    """An action log entry's target: "*" in words."""
    from django.utils.translation import gettext

    from ..models import SITE_WIDE

    return gettext("every form (site-wide)") if target == SITE_WIDE else target
