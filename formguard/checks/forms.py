"""Checks of the site's guarded views: a plain ``@guard_form`` view has no bot traps."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.checks import Tags, Warning, register


@register(Tags.compatibility)
def check_plain_form_views(app_configs: Any = None, **kwargs: Any) -> list:
    """The README's shortest example, ``@guard_form("contact")``, marks a view whose form
    formguard never sees: the honeypot, the time trap and the captcha widget need its field,
    so the policy's traps silently do nothing there. Said here once, at start."""
    from ..marks import carries_traps, discover_form_views

    views: dict[str, Any] = {}
    # Django's own URL checks report a broken URLconf.
    with contextlib.suppress(Exception):
        views = discover_form_views()
    plain = sorted(key for key, view in views.items() if not carries_traps(view))
    if not plain:
        return []
    return [
        Warning(
            f"Guarded form(s) {', '.join(repr(k) for k in plain)} are plain @guard_form views: their forms carry "
            "no formguard field, so no honeypot, no time trap and no captcha widget, whatever the policy says.",
            hint="Give the form FormGuardFormMixin and write @guard_form(key, form_errors=True), or use "
            "GuardedFormMixin on a FormView; a JSON endpoint whose page renders the field (fetch.js): "
            "@guard_form(key, traps=True). A view that renders no form of its own (an API, a view you cannot "
            "edit) keeps the other checks: silence this with SILENCED_SYSTEM_CHECKS = ['formguard.W011'].",
            id="formguard.W011",
        )
    ]
