"""``{% load formguard_review %}``: how many messages wait in the review inbox, for the admin's pages."""

from __future__ import annotations

from django import template

from .. import holds

register = template.Library()


@register.simple_tag
def held_count() -> int:
    return holds.held_count()
