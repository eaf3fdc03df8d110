"""The choices and validators a form policy's fields use: trap and filter actions, country
modes, rates and country lists as the owner types them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

SITE_WIDE = "*"


def validate_rate(value: str) -> None:
    from ..ratelimits import parse_rate

    try:
        parse_rate(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def validate_optional_rate(value: str) -> None:
    if (value or "").strip().lower() != "off":
        validate_rate(value)


class TrapAction(models.TextChoices):
    """What a trap or rule does to a submission it catches."""

    OFF = "off", _("off")
    REFUSE = "refuse", _("refuse: show the form again with an error")
    CHALLENGE = "challenge", _("require the captcha")
    # Only for signals no person sends (honeypot, the owner's NG words): the
    # bot is told "sent" and learns nothing, and nobody sees an error.
    FAKE_SUCCESS = "fake_success", _("fake success: pretend it was sent")
    # The visitor sees what a sent form shows; the message waits in the
    # review inbox for the owner to release, discard or label.
    HOLD = "hold", _("hold for review")


# Rules a real customer can trip by accident never pretend success.
RULE_ACTIONS = [c for c in TrapAction.choices if c[0] != TrapAction.FAKE_SUCCESS]


# The same outcome is named in the same words wherever the owner picks it:
# the filter's and the country filter's choices borrow the traps' labels.


class FilterAction(models.TextChoices):
    """What the owner-taught filter does with a submission it judges spam or a sales pitch."""

    DELIVER = "deliver", _("deliver as usual")
    TAG = "tag", _("deliver marked (【営業】/【迷惑】 in the subject, or to the other address)")
    HOLD = "hold", TrapAction.HOLD.label
    REFUSE = "refuse", TrapAction.REFUSE.label


class CountryMode(models.TextChoices):
    OFF = "off", TrapAction.OFF.label
    HIDE = "hide", _("hide the form")
    BLOCK = "block", _("block (a refusal page)")
    CHALLENGE = "challenge", TrapAction.CHALLENGE.label


class OutsideCountry(models.TextChoices):
    ALLOW = "allow", _("allow")
    FOREIGN = "foreign", _("treat as another country")


def parse_countries(value: str) -> list[str]:
    return [c.strip().upper() for c in (value or "").replace(" ", ",").split(",") if c.strip()]


# Codes people type for a country that are not its ISO code (JA is the
# language code of Japanese; UK is Britain's domain, its ISO code is GB).
COUNTRY_MISTAKES = {"JA": "JP", "UK": "GB", "EN": "GB", "CH": "CN", "KO": "KR", "ZH": "CN"}


def validate_countries(value: str) -> None:
    from django_countries import countries

    for code in parse_countries(value):
        if code in countries:
            continue
        if code in COUNTRY_MISTAKES:
            raise ValidationError(
                _("“%(code)s” is not a country code. Did you mean %(suggestion)s (%(name)s)?")
                % {
                    "code": code,
                    "suggestion": COUNTRY_MISTAKES[code],
                    "name": countries.name(COUNTRY_MISTAKES[code]),
                }
            )
        raise ValidationError(_("“%(code)s” is not an ISO country code (e.g. JP, TW, KR).") % {"code": code})


def validate_country(value: str) -> None:
    validate_countries(value)
    if len(parse_countries(value)) > 1:
        raise ValidationError(_("One country code only."))
