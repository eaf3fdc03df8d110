"""4. Country: the policy's countries hidden from, refused, or asked for the captcha."""

from __future__ import annotations

from ..attempt import Attempt, Verdict
from ..models import CountryMode, Reason


def check_country(attempt: Attempt) -> Verdict | None:
    mode = attempt.policy.country_mode
    if mode == CountryMode.OFF or not mode:
        return None
    country = attempt.country
    if attempt.policy.admits_country(country):
        return None
    detail = {"country": country, "mode": mode}
    if mode == CountryMode.CHALLENGE:
        attempt.challenged = True
        return None
    if mode == CountryMode.HIDE and not attempt.is_submission:
        # The page, without the form, with other ways to reach the business.
        return Verdict.refuse("country", Reason.COUNTRY, 200, detail=detail)
    return Verdict.refuse("country", Reason.COUNTRY, 403, detail=detail)
