"""9. The owner-taught filter: a POST that passed every other check is scored, and, once the
filter has enough labels of each kind, the policy says what a spam or sales-pitch judgement does.

Last, because it judges what no rule can (a polite pitch from a person who
solved the captcha), and because only a submission that would otherwise be
delivered needs its judgement. While any kind has fewer labels than the
policy's ``filter_min_labels`` it only suggests: the scores are kept on the
request (and on the submission the staff's mail keeps for labelling), nothing
is acted on. It leans toward the customer (``classifier.decide``): a message is
judged spam or a pitch only when those two together are very likely, or spam
when spam alone is likely.

What a judgement does (``filter_spam_action`` / ``filter_sales_action``):
deliver; tag (``request.formguard_tag``, read by ``formguard.mail.subject`` and
``recipients``); hold for review; refuse (the form again with an error, the
text kept).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy

from ..attempt import Attempt, Verdict
from ..classifier import SALES, SPAM, decide
from ..learning import get_model, seen
from ..models import FilterAction, Reason

REFUSED_MESSAGE = gettext_lazy(
    "Your message could not be sent as it is. If you are a customer, please reword it or reach us another way."
)


@dataclass(frozen=True)
class Judgement:
    """What the filter said of one request (``request.formguard_filter``)."""

    label: str | None  # acted on; None while it only suggests
    suggestion: str
    scores: dict[str, float]


def check_filter(attempt: Attempt) -> Verdict | None:
    policy = attempt.policy
    if not attempt.is_submission or not policy.filter_enabled:
        return None
    decision = decide(get_model(), seen(attempt).sample, policy.filter_min_labels)
    scores = {label: round(score, 4) for label, score in decision.scores.items()}
    attempt.request.formguard_filter = Judgement(decision.label, decision.suggestion, scores)
    if decision.label not in (SPAM, SALES):
        return None
    action = policy.filter_spam_action if decision.label == SPAM else policy.filter_sales_action
    detail = {"label": decision.label, "scores": scores}
    if action == FilterAction.HOLD:
        return Verdict.hold("filter", Reason.FILTER, detail=detail)
    if action == FilterAction.REFUSE:
        return Verdict.refuse("filter", Reason.FILTER, 200, form_error=str(REFUSED_MESSAGE), detail=detail)
    if action == FilterAction.TAG:
        attempt.request.formguard_tag = decision.label
    return None
