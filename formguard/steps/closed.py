"""2. Closed: a form switched off (by hand, on a schedule or by the flood breaker) answers 503."""

from __future__ import annotations

from ..attempt import Attempt, Verdict
from ..models import Reason


def check_closed(attempt: Attempt) -> Verdict | None:
    closure = attempt.policy.closure_at(attempt.now)
    if closure is None:
        return None
    return Verdict.refuse(
        "closed",
        Reason.CLOSED,
        503,
        retry_after=closure.retry_after(attempt.now),
        closure=closure,
        detail={"scope": closure.scope},
    )
