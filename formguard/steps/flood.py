"""6a. The flood: a form's plausible submissions from every address together; over, it escalates."""

from __future__ import annotations

from .. import escalation, ratelimits, traps
from ..attempt import Attempt, Verdict
from ..marks import carries_traps
from ..store import StoreUnavailable


def could_be_real(attempt: Attempt) -> bool:
    """Whether this POST could have been a person's submission: the flood counts only these.

    It carries what only a page of the form gives: a CSRF token Django
    accepts and, on a form with formguard's field, a time token issued by a
    GET of this form and not expired. (Addresses refused already never get
    here: the blacklist, country, rate limit and burst come first.) A POST
    forged without loading the form moves nothing, and what replays one
    page's tokens meets the per-address limits first.
    """
    if attempt.csrf_refused:
        return False
    view = attempt.view
    if view is None or not carries_traps(view):
        return True  # a form without formguard's field has no time token
    token = attempt.submitted.get(traps.TIME_FIELD, "")
    age = traps.token_age(attempt.form_key, token, attempt.now.timestamp())
    return age is not None and -60 <= age <= attempt.policy.time_trap_max


def flood_usage(attempt: Attempt, group: str) -> ratelimits.Usage | None:
    # One site-wide counter per form, hit only by what could be real: a
    # second round trip, paid by those POSTs alone.
    try:
        limit = ratelimits.Limit(f"{group}:{attempt.form_key}", "*", attempt.policy.flood_limit)
        return ratelimits.hit([limit], attempt.now.timestamp())[0]
    except StoreUnavailable:
        return None


def check_flood(attempt: Attempt) -> Verdict | None:
    """The site-wide breaker: too many plausible submissions from everyone escalate the form.

    Escalating (escalation.start) raises the bar for everyone, this POST
    included; it never closes the form (see ``check_flood_last_resort``).
    """
    policy = attempt.policy
    if not attempt.is_submission or attempt.verified or policy.flood_limit == "off":
        return None
    if attempt.escalated or not could_be_real(attempt):
        return None
    flood = flood_usage(attempt, "flood")
    if flood is None or not flood.exceeded:
        return None
    started = escalation.start(
        attempt.form_key, posts=flood.count, limit=policy.flood_limit, seconds=policy.flood_escalation, now=attempt.now
    ) or escalation.current(attempt.form_key, attempt.now)
    if started is not None:
        attempt.escalated = True
        attempt.policy = escalation.raised(policy)
    return None
