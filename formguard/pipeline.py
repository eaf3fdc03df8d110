"""The decision: one ordered list of steps (``formguard.steps``), ``evaluate(request, form_key)``.

Cheap checks first; each returns ``None`` ("go on") or a ``Verdict``; the
first verdict wins. The middleware, decorator and mixin are thin shells around
``evaluate``; they never decide anything themselves.

| order | check        | GET                  | POST                        |
|-------|--------------|----------------------|-----------------------------|
| 0     | released     | —                    | a signed, one-use release   |
|       |              |                      | mark (release.py): allow,   |
|       |              |                      | skip the rest, CSRF passed  |
| 1     | allowlist    | allow, skip the rest | allow, skip the rest        |
| 2     | closed       | 503                  | 503                         |
| 2a    | under a flood| the captcha shown    | the policy raised: captcha  |
|       | (escalated)  |                      | for all, strict traps       |
| 3     | blacklist    | 403                  | 403                         |
| 4     | country      | hide: page without   | 403 (challenge: captcha     |
|       |              | the form; block: 403 | required instead)           |
| 5     | rate limit   | —                    | 429, Retry-After (shared-IP |
|       |              |                      | mode: captcha, up to a cap) |
| 6     | burst        | —                    | ban, 403                    |
| 6a    | flood        | —                    | counted if it could be a    |
|       |              |                      | person's; over: escalate    |
| 7     | bot traps,   | —                    | per trap and rule: form     |
|       | content rules|                      | error, captcha required, or |
|       | per-recipient|                      | hold or fake success (302,  |
|       |              |                      | only after CSRF and captcha |
|       |              |                      | pass; the message is kept)  |
| 8     | captcha      | —                    | form error, input kept      |
| 8a    | last resort  | —                    | opted in, escalated and     |
|       |              |                      | still over: closes, 503     |
| 9     | the filter   | —                    | scored; with enough labels, |
|       | the owner    |                      | per policy: deliver, tag,   |
|       | teaches      |                      | hold, or form error         |

Between 4 and 5, the send step of a two-step form that carries its confirm
step's token (``confirm.py``) is marked ``verified``: the rate limit, burst,
flood count, traps and captcha let it through, since its confirm step was
counted and checked; the content rules run again (the owner may have changed
them in between).

A check may also let a request through "on the record" (an allowing verdict
with a reason, e.g. the captcha service was down and the policy fails open):
the incident is recorded and the next checks run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from .attempt import Attempt, Check, Verdict
from .facts import Usage
from .ip import client_ip
from .policies import get_policy
from .steps.allowlist import check_allowlist
from .steps.blacklist import check_blacklist
from .steps.captcha import check_captcha
from .steps.closed import check_closed
from .steps.country import check_country
from .steps.escalated import check_escalated
from .steps.filter import check_filter
from .steps.flood import check_flood
from .steps.last_resort import check_flood_last_resort
from .steps.rate_limit import check_burst, check_rate_limit
from .steps.released import check_released
from .steps.traps import check_traps
from .steps.verified import check_verified

# The steps and the types are imported from here by sites and tests, as before the
# steps had modules of their own.
__all__ = [
    "ALWAYS_ON",
    "Attempt",
    "CHECKS",
    "Check",
    "Usage",
    "Verdict",
    "check_allowlist",
    "check_blacklist",
    "check_burst",
    "check_captcha",
    "check_closed",
    "check_country",
    "check_escalated",
    "check_filter",
    "check_flood",
    "check_flood_last_resort",
    "check_rate_limit",
    "check_released",
    "check_traps",
    "check_verified",
    "evaluate",
    "make_attempt",
    "run_checks",
]

logger = logging.getLogger("formguard.pipeline")


CHECKS: tuple[Check, ...] = (
    check_released,
    check_allowlist,
    check_closed,
    check_escalated,
    check_blacklist,
    check_country,
    check_verified,
    check_rate_limit,
    check_burst,
    check_flood,
    check_traps,
    check_captcha,
    check_flood_last_resort,
    check_filter,
)

# Checks that still run when a form's protection is switched off.
ALWAYS_ON: frozenset[Check] = frozenset({check_released, check_allowlist, check_closed})


def make_attempt(
    request: HttpRequest, form_key: str, now: datetime | None = None, view: Callable[..., Any] | None = None
) -> Attempt:
    return Attempt(
        request=request,
        form_key=form_key,
        policy=get_policy(form_key),
        ip=client_ip(request),
        now=now or timezone.now(),
        view=view,
    )


def run_checks(attempt: Attempt, checks: tuple[Check, ...] = CHECKS) -> Verdict:
    """The pure decision over an ``Attempt``: first verdict wins.

    In monitor-only mode every check runs, and the refusals they would have
    made are returned in ``monitored`` of an allowing verdict.
    """
    policy = attempt.policy
    monitored: list[Verdict] = []
    noted: list[Verdict] = []
    for check in checks:
        if not policy.enabled and check not in ALWAYS_ON:
            continue
        verdict = check(attempt)
        if verdict is None:
            continue
        if verdict.allowed and verdict.reason:
            noted.append(verdict)
            continue
        if verdict.allowed:
            if not monitored and not noted and not verdict.monitored and not verdict.noted:
                return verdict  # (nothing to add: no copy)
            return replace(verdict, monitored=tuple(monitored), noted=tuple(noted))
        if verdict.held and attempt.csrf_refused:
            # A hold answers the thanks page, which only a POST Django's CSRF
            # check accepts can earn (as a fake success, steps.traps): this
            # one goes on, to the 403 a person's forged POST gets.
            continue
        # A verdict may carry what its check let through on the record (a
        # fake success, the captcha it asked first).
        noted.extend(verdict.noted)
        if policy.monitor_only:
            monitored.append(replace(verdict, noted=()))
            continue
        if not noted and not verdict.noted:
            return verdict
        return replace(verdict, noted=tuple(noted))
    return Verdict.allow("", monitored=tuple(monitored), noted=tuple(noted))


def evaluate(
    request: HttpRequest, form_key: str, now: datetime | None = None, view: Callable[..., Any] | None = None
) -> tuple[Attempt, Verdict]:
    """Decide ``request`` to the form ``form_key`` (served by ``view``)."""
    attempt = make_attempt(request, form_key, now, view)
    return attempt, run_checks(attempt)
