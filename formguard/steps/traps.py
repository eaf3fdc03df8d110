"""7. Bot traps, content rules and the per-address limit: form error, captcha, hold or fake success."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.utils.translation import gettext_lazy as _

from .. import captcha, facts, traps
from ..attempt import Attempt, Verdict
from ..models import Reason, TrapAction
from .captcha import check_captcha

# Of several findings, the one acted on: a refusal needs the visitor, a
# challenge only the captcha, and a hold or a fake success comes last, only
# where the submission would have been sent without the signal that caught it
# (a bot that compares two submissions, one with the honeypot filled, gets the
# same answer to both). A fake success is a hold underneath: the bot sees the
# thanks page, the owner can still release what it caught. (Plain strings: a
# TextChoices member hashes by its name.)
_ACTION_ORDER = {"refuse": 0, "challenge": 1, "hold": 2, "fake_success": 2}
_PRETENDING = (TrapAction.HOLD, TrapAction.FAKE_SUCCESS)


def _recipient_finding(attempt: Attempt) -> traps.Finding | None:
    """The per-address limit (counted with the other windows, ``facts.usage``)."""
    usage = facts.usage(attempt)
    if usage is None or usage.recipient is None or not usage.recipient.exceeded:
        return None
    return traps.Finding(
        Reason.RECIPIENT_LIMIT,
        TrapAction.REFUSE,
        _("Too many messages were sent for this email address. Please try again later or reach us another way."),
        {"limit": attempt.policy.recipient_limit, "field": attempt.policy.email_field},
    )


def check_traps(attempt: Attempt) -> Verdict | None:
    if not attempt.is_submission:
        return None
    if attempt.verified:
        # The send step of a two-step form: its traps, count and captcha were
        # its confirm step's, but the owner may have added an NG word since.
        # The content rules run again (CPU only); a rule that only asks for the
        # captcha was asked at the confirm step.
        findings = [
            f
            for f in facts.content_findings(attempt.policy, attempt.submitted, facts.Visitor.of(attempt.request))
            if f.action != TrapAction.CHALLENGE
        ]
    else:
        findings = facts.findings(attempt) or [f for f in (_recipient_finding(attempt),) if f is not None]
    if not findings:
        return None
    finding = min(findings, key=lambda f: _ACTION_ORDER.get(f.action, 0))
    action = finding.action
    detail = {**finding.detail, "action": action}
    if len(findings) > 1:
        detail["also"] = [f.reason for f in findings if f is not finding]
    if action == TrapAction.CHALLENGE:
        if captcha.get_provider() is None:
            # No captcha to ask for: refusing is the only safe answer.
            action = detail["action"] = TrapAction.REFUSE
        elif not attempt.policy.monitor_only:
            # Recorded, and the captcha check decides.
            attempt.challenged = True
            challenge = Verdict.allow("traps", reason=finding.reason, detail=detail)
            pretend = next((f for f in findings if f.action in _PRETENDING), None)
            if pretend is None:
                return challenge
            also = [f.reason for f in findings if f is not pretend]
            return _fake_success_verdict(
                attempt, pretend.reason, {**pretend.detail, "action": pretend.action, "also": also}, challenge
            )
    if action in _PRETENDING:
        return _fake_success_verdict(attempt, finding.reason, detail)
    return Verdict.refuse("traps", finding.reason, 200, form_error=str(finding.message), detail=detail)


def _fake_success_verdict(attempt: Attempt, reason: str, detail: dict[str, Any], *noted: Verdict) -> Verdict | None:
    """A hold (the fake success the visitor sees), given only where the real success could have come.

    A bot that compares learns it was caught when a thanks page comes where a
    person's submission in the same state gets none: a POST that Django's
    CSRF check refuses gets that 403 (formguard lets it go on), a missing or
    wrong captcha solution gets the form back with the captcha's error.
    """
    if attempt.csrf_refused:
        return None
    solved = check_captcha(attempt)
    if solved is not None and not solved.allowed:
        return replace(solved, detail={**solved.detail, "also": [reason]}, noted=noted)
    if solved is not None:  # let through on the record (the service was down)
        noted = (*noted, solved)
    return Verdict.hold("traps", reason, detail=detail, noted=noted)
