"""``inherited``: a policy value that a form's row may leave empty, to take the site-wide row's.

Most of ``FormPolicy``'s fields are such values (``policies.INHERITED_FIELDS``):
blank in the admin, empty in the database (NULL, or "" for text), filled in
from the ``*`` row, then from ``FORMGUARD["DEFAULT_POLICY"]``, when the policy
is built. One factory says so once, and a field reads as what it holds; the
kinds that recur (a trap's action, a rate, a country's outside answer, the
filter's action, the name of one of the guarded form's fields) are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .choices import RULE_ACTIONS, FilterAction, OutsideCountry, validate_optional_rate, validate_rate

F = TypeVar("F", bound=models.Field)


def inherited(
    field_class: type[F],
    verbose_name: Any,
    help_text: Any = "",
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    validators: Sequence[Any] = (),
    **options: Any,
) -> F:
    """A ``field_class`` field the owner may leave empty: it then takes the site-wide value.

    ``minimum`` and ``maximum`` bound a number (validators, checked in the admin).
    """
    bounds: list[Any] = list(validators)
    if minimum is not None:
        bounds.append(MinValueValidator(minimum))
    if maximum is not None:
        bounds.append(MaxValueValidator(maximum))
    if not issubclass(field_class, models.CharField | models.TextField):
        # Text left empty is ""; a number or a switch left empty is NULL.
        options["null"] = True
    return field_class(verbose_name, blank=True, validators=bounds, help_text=help_text, **options)


def action(verbose_name: Any, help_text: Any = "", *, choices: Any = RULE_ACTIONS) -> models.CharField:
    """What a bot trap or content rule does to a submission it catches (``TrapAction``)."""
    return inherited(models.CharField, verbose_name, help_text, max_length=12, choices=choices)


def rate(verbose_name: Any, help_text: Any, *, optional: bool = False) -> models.CharField:
    """A rate such as “5/10m” (``ratelimits``); ``optional``: “off” too."""
    validator = validate_optional_rate if optional else validate_rate
    return inherited(models.CharField, verbose_name, help_text, max_length=20, validators=[validator])


def outside_country(verbose_name: Any, help_text: Any = "") -> models.CharField:
    """What a visitor gets whose address no country can be named for (``OutsideCountry``)."""
    return inherited(models.CharField, verbose_name, help_text, max_length=10, choices=OutsideCountry.choices)


def filter_action(verbose_name: Any) -> models.CharField:
    """What the owner-taught filter does with a submission of one kind (``FilterAction``)."""
    return inherited(models.CharField, verbose_name, max_length=10, choices=FilterAction.choices)


def form_field(verbose_name: Any, help_text: Any) -> models.CharField:
    """The name of one of the guarded form's own fields, which a content rule reads."""
    return inherited(models.CharField, verbose_name, help_text, max_length=100)
