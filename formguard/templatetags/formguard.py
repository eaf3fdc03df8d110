"""``{% load formguard %}``: the captcha script tag, for a page's <head>.

``{% formguard_captcha_script %}`` renders the configured provider's script
(from ``CAPTCHA["SCRIPT_HOST"]``, e.g. www.recaptcha.net for visitors in
mainland China); formguard's widget then leaves it out.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html
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
    context = {**provider.widget_context(""), "script_url": provider.script_url}
    return mark_safe(render_to_string(provider.script_template, context))  # noqa: S308


@register.simple_tag(takes_context=True)
def formguard_verified(context: dict[str, Any], form: Any) -> SafeString:
    """On a two-step form's confirmation page: the hidden "verified" token that lets
    the send step through without a second captcha or count (formguard/confirm.py)."""
    from ..confirm import FIELD, issue

    request = context.get("request")
    token = issue(request, form.fields) if request is not None else ""
    if not token:
        return mark_safe("")  # noqa: S308
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, token)
