"""Checks of the owner's policies, read from the database: hidden forms and flood limits."""

from __future__ import annotations

from typing import Any

from django.core.checks import Tags, Warning, register

from ..conf import conf
from .rows import read_rows


@register(Tags.database)
def check_hidden_without_contacts(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """A database check: ``migrate`` and ``check --database default`` run it (it reads rows)."""
    from .. import policies

    hiding = read_rows(databases, policies.forms_hiding_without_contacts)
    if not hiding:
        return []
    return [
        Warning(
            f"Form(s) {', '.join(hiding)} hide the form from visitors of other countries, "
            "but there is no alternative contact: those visitors have no way to reach you.",
            hint="Add an alternative contact (telephone, email, WeChat...) in the admin, or set the country "
            "filter to “block” or “off”.",
            id="formguard.W007",
        )
    ]


@register(Tags.database)
def check_flood_without_captcha(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Under a flood formguard asks everyone for the captcha (escalation.py); without one it can
    only make the traps strict. A database check, as W007: the flood limit is a policy row."""
    from ..captcha import get_provider
    from ..models import SITE_WIDE, FormPolicy

    def flood_limits() -> dict[str, str] | None:
        # The provider is looked at only when the database is asked for, as before (E008 says
        # when it cannot be loaded).
        if get_provider() is not None:
            return None
        return dict(FormPolicy.objects.values_list("form_key", "flood_limit"))

    rows = read_rows(databases, flood_limits)
    if rows is None:
        return []
    site = rows.get(SITE_WIDE) or conf.DEFAULT_POLICY["flood_limit"]
    flooding = sorted(key for key, limit in rows.items() if (limit or site) != "off")
    if not flooding and site == "off":
        return []
    return [
        Warning(
            f"The flood breaker is on ({', '.join(flooding) or 'DEFAULT_POLICY'}) but no captcha is configured: "
            "under a flood formguard can only make the bot traps strict, and a flood that passes them reaches "
            "the staff.",
            hint="Set FORMGUARD['CAPTCHA'] (the self-hosted ALTCHA needs no outside service), or set the "
            "flood breaker to “off”.",
            id="formguard.W009",
        )
    ]
