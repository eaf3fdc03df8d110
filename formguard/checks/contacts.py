"""Refusal pages with no other way to reach the business: the dead end the admin warns of too."""

from __future__ import annotations

from typing import Any

from django.core.checks import Tags, Warning, register

from .rows import read_rows


@register(Tags.database)
def check_refusals_without_contacts(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """A database check, as W007: ``migrate`` and ``check --database default`` run it (it reads rows)."""
    from .. import contacts

    if not read_rows(databases, contacts.refusals_without_contacts):
        return []
    return [
        Warning(
            "No alternative contact is shown to visitors of every country (a row with no country): a visitor "
            "who is banned, sends too many messages or finds the form closed is asked to reach you another "
            "way and is shown none.",
            hint="Add one in the admin under formguard → “Alternative contacts” (ja: 「別の連絡方法」), its country "
            "left empty: a telephone number or an email address.",
            id="formguard.W010",
        )
    ]
