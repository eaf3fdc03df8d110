"""8a. The last resort: opted in, escalated and still over the limit, the form closes (503)."""

from __future__ import annotations

from datetime import timedelta

from ..attempt import Attempt, Verdict
from ..models import Reason
from .flood import flood_usage


def check_flood_last_resort(attempt: Attempt) -> Verdict | None:
    """Closing by itself, only where the owner opted in (``flood_close``): under a
    flood, more submissions than the flood limit still passed every check, the
    captcha included."""
    policy = attempt.policy
    if not attempt.escalated or not policy.flood_close or not attempt.is_submission or attempt.verified:
        return None
    passed = flood_usage(attempt, "flood-passed")
    if passed is None or not passed.exceeded:
        return None
    # The form itself is closed (refusal.respond), once, by whichever process
    # claims it first; the POSTs that reach here before every process sees
    # the closure are refused the same way.
    seconds = policy.flood_close_minutes * 60
    return Verdict.refuse(
        "flood",
        Reason.FLOOD,
        503,
        retry_after=seconds,
        close_until=attempt.now + timedelta(seconds=seconds),
        detail={"posts": passed.count, "limit": policy.flood_limit, "minutes": policy.flood_close_minutes},
    )
