"""3. The blacklist: a banned address gets 403."""

from __future__ import annotations

from .. import facts
from ..attempt import Attempt, Verdict
from ..models import BlockRule, Reason


def check_blacklist(attempt: Attempt) -> Verdict | None:
    match = facts.first_rule(attempt, BlockRule.Kind.BLOCK)
    if match is None:
        return None
    reason = Reason.AUTO_BANNED if match.source == BlockRule.Source.AUTOMATIC else Reason.BLACKLISTED
    # No Retry-After: a bot should not learn when its ban ends.
    return Verdict.refuse("blacklist", reason, 403, rule_id=match.rule_id, detail={"rule": match.network})
