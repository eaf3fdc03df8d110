"""Between 4 and 5: the send step of a two-step form carrying its confirm step's token."""

from __future__ import annotations

from .. import confirm
from ..attempt import Attempt, Verdict


def check_verified(attempt: Attempt) -> Verdict | None:
    if attempt.is_submission and confirm.redeem(attempt.request, attempt.form_key):
        attempt.verified = True
    return None
