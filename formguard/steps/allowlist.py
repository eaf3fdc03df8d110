"""1. The allowlist: an allowed address skips every other step, even a closed form's."""

from __future__ import annotations

from .. import facts
from ..attempt import Attempt, Verdict
from ..models import BlockRule


def check_allowlist(attempt: Attempt) -> Verdict | None:
    match = facts.first_rule(attempt, BlockRule.Kind.ALLOW)
    if match is not None:
        return Verdict.allow("allowlist", rule_id=match.rule_id)
    return None
