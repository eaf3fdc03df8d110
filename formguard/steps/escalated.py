"""2a. Under a flood: the form's policy raised for every request while the escalation lasts."""

from __future__ import annotations

from .. import escalation
from ..attempt import Attempt, Verdict


def check_escalated(attempt: Attempt) -> Verdict | None:
    """Under a flood the form's policy is raised for every request (escalation.raised):
    its page shows the captcha, every POST must pass it, the traps are strict."""
    found = escalation.current(attempt.form_key, attempt.now)
    if found is not None:
        attempt.escalated = True
        attempt.policy = escalation.raised(attempt.policy)
    return None
