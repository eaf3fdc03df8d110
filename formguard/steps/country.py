"""4. Country: the policy's countries hidden from, refused, or asked for the captcha."""

from __future__ import annotations

from .. import facts
from ..attempt import Attempt, Verdict
from ..geo import PRIVATE, UNKNOWN
from ..models import CountryMode, Reason, parse_countries
from ..policy_values import PolicyValues


def check_country(attempt: Attempt) -> Verdict | None:
    mode = attempt.policy.country_mode
    if mode == CountryMode.OFF or not mode:
        return None
    country = facts.country(attempt)
    if admits(attempt.policy, country):
        return None
    detail = {"country": country, "mode": mode}
    if mode == CountryMode.CHALLENGE:
        attempt.challenged = True
        return None
    if mode == CountryMode.HIDE and not attempt.is_submission:
        # The page, without the form, with other ways to reach the business.
        return Verdict.refuse("country", Reason.COUNTRY, 200, detail=detail)
    return Verdict.refuse("country", Reason.COUNTRY, 403, detail=detail)


def admits(policy: PolicyValues, country: str) -> bool:
    """Whether a visitor from ``country`` (ISO code, ZZ or XX) gets the form."""
    if country == PRIVATE and policy.private_country == "allow":
        return True
    if country == UNKNOWN and policy.unknown_country == "allow":
        return True
    return country in parse_countries(policy.allowed_countries)
