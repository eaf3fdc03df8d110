"""``{% load formguard %}``: the captcha script tag and the reply hint.

``{% formguard_captcha_script %}`` renders the configured provider's script
(from ``CAPTCHA["SCRIPT_HOST"]``, e.g. www.recaptcha.net for visitors in
mainland China); formguard's widget then leaves it out.

``{% formguard_reply_hint form.email %}`` (beside the form's email field) and
``{% formguard_reply_hint %}`` (on the thanks page): see ``replyhints.py``.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from django import template
from django.forms import BoundField
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from .. import captcha, contacts, replyhints, requesttext

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
    from ..forms import label_for

    return str(label_for(name, form_key))


@register.filter
def quoted(value: str, prefix: str = "> ") -> str:
    """``{{ value|quoted:"   > " }}``: each line of submitted text after ``prefix`` (plain-text reports)."""
    return requesttext.quoted(str(value), prefix)


@register.filter
def action_target(target: str) -> str:
    """An action log entry's target: "*" in words."""
    from django.utils.translation import gettext

    from ..models import SITE_WIDE

    return gettext("every form (site-wide)") if target == SITE_WIDE else target


def _reply_hint_html(hint: replyhints.ReplyHint, request: HttpRequest | None) -> str:
    context: dict[str, Any] = {
        "hint": hint,
        "from_domain": replyhints.sending_domain(),
        "carrier_name": hint.carrier_name,
        "instructions_url": hint.instructions_url,
    }
    if hint.kind == replyhints.CHINA and request is not None:
        context["contacts"] = contacts.for_visitor(request, "CN")
    return render_to_string("formguard/includes/reply_hint.html", context).strip()


@register.simple_tag(takes_context=True)
def formguard_reply_hint(context: template.Context, field: BoundField | None = None) -> SafeString:
    """The reply hint: ``{% formguard_reply_hint form.email %}`` on the form, ``{% formguard_reply_hint %}`` after it.

    With the form's email field: the hint for the value sent (when the form
    comes back with errors) and what the static script needs to show the
    hint as the visitor leaves the field (data attributes and <template>s: no
    extra request, no inline script). Without: the hint that the view kept
    for this visitor (``formguard_reply_hint`` in the context, else the
    session), for the thanks page. Texts in the visitor's language, Chinese
    included (contacts.chinese_variant).
    """
    request = context.get("request")
    variant = contacts.chinese_variant(request) if request is not None else ""
    with translation.override(variant) if variant else contextlib.nullcontext():
        stylesheet = format_html('<link rel="stylesheet" href="{}">', static("formguard/reply-hint.css"))
        if field is None:
            hint = context.get("formguard_reply_hint")
            if not isinstance(hint, replyhints.ReplyHint):
                hint = replyhints.remembered(request) if request is not None else replyhints.ReplyHint()
            if not hint:
                return mark_safe("")  # noqa: S308
            return format_html("{}\n{}", stylesheet, mark_safe(_reply_hint_html(hint, request)))  # noqa: S308
        hint = replyhints.hint_for(str(field.value() or "")) if field.form.is_bound else replyhints.ReplyHint()
        shown = hint.carrier if hint.kind == replyhints.CARRIER else ("china" if hint else "")
        templates = format_html(
            '<template data-fg-template="carrier">{}</template><template data-fg-template="china">{}</template>',
            mark_safe(_reply_hint_html(replyhints.ReplyHint(replyhints.CARRIER), request)),  # noqa: S308
            mark_safe(_reply_hint_html(replyhints.ReplyHint(replyhints.CHINA), request)),  # noqa: S308
        )
        return format_html(
            '{}\n<div class="fg-reply-hints" data-fg-reply-hints data-fg-for="{}" data-fg-data="{}">'
            '<div data-fg-hint-slot data-fg-shown="{}" aria-live="polite">{}</div>{}</div>\n'
            '<script src="{}" defer></script>',
            stylesheet,
            field.id_for_label,
            json.dumps(replyhints.client_data(), ensure_ascii=False, separators=(",", ":")),
            shown,
            mark_safe(_reply_hint_html(hint, request)),  # noqa: S308
            templates,
            static("formguard/reply-hint.js"),
        )


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


@register.simple_tag(takes_context=True)
def formguard_label_links(context: dict[str, Any]) -> SafeString:
    """``{% formguard_label_links %}`` in the staff mail's template: the label links
    (``formguard.mail.label_links``), one a line; nothing when the filter did not score it."""
    from ..mail import label_links
    from ..models import Label

    request = context.get("request")
    links = label_links(request) if request is not None else {}
    if not links:
        return mark_safe("")  # noqa: S308
    rows = [(Label(label).label, url) for label, url in links.items()]
    return mark_safe(render_to_string("formguard/label/links.txt", {"rows": rows}))  # noqa: S308
