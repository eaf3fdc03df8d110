"""The decision: one ordered list of checks, ``evaluate(request, form_key)``.

Cheap checks first; each returns ``None`` ("go on") or a ``Verdict``; the
first verdict wins. The middleware, decorator and mixin are thin shells around
``evaluate``; they never decide anything themselves.

| order | check        | GET                  | POST                        |
|-------|--------------|----------------------|-----------------------------|
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
|       | per-recipient|                      | fake success (302, only     |
|       |              |                      | after CSRF and captcha pass)|
| 8     | captcha      | —                    | form error, input kept      |
| 8a    | last resort  | —                    | opted in, escalated and     |
|       |              |                      | still over: closes, 503     |

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
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from . import captcha, confirm, escalation, ratelimits, traps
from .attempt import Attempt, Check, Usage, Verdict, content_findings

__all__ = ["CHECKS", "Attempt", "Check", "Usage", "Verdict", "evaluate", "make_attempt", "run_checks"]
from .conf import conf
from .ip import bucket, client_ip, network_text
from .marks import shows_form_errors
from .models import BlockRule, CountryMode, Reason, TrapAction
from .policies import get_policy
from .store import StoreUnavailable

logger = logging.getLogger("formguard.pipeline")


def check_allowlist(attempt: Attempt) -> Verdict | None:
    match = attempt.rule_index.first(attempt.ip, BlockRule.Kind.ALLOW, attempt.now)
    if match is not None:
        return Verdict.allow("allowlist", rule_id=match.rule_id)
    return None


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


def check_blacklist(attempt: Attempt) -> Verdict | None:
    match = attempt.rule_index.first(attempt.ip, BlockRule.Kind.BLOCK, attempt.now)
    if match is None:
        return None
    reason = Reason.AUTO_BANNED if match.source == BlockRule.Source.AUTOMATIC else Reason.BLACKLISTED
    # No Retry-After: a bot should not learn when its ban ends.
    return Verdict.refuse("blacklist", reason, 403, rule_id=match.rule_id, detail={"rule": match.network})


def check_country(attempt: Attempt) -> Verdict | None:
    mode = attempt.policy.country_mode
    if mode == CountryMode.OFF or not mode:
        return None
    country = attempt.country
    if attempt.policy.admits_country(country):
        return None
    detail = {"country": country, "mode": mode}
    if mode == CountryMode.CHALLENGE:
        attempt.challenged = True
        return None
    if mode == CountryMode.HIDE and not attempt.is_submission:
        # The page, without the form, with other ways to reach the business.
        return Verdict.refuse("country", Reason.COUNTRY, 200, detail=detail)
    return Verdict.refuse("country", Reason.COUNTRY, 403, detail=detail)


def check_verified(attempt: Attempt) -> Verdict | None:
    if attempt.is_submission and confirm.redeem(attempt.request, attempt.form_key):
        attempt.verified = True
    return None


def _cache_down_verdict(check: str) -> Verdict | None:
    if conf.CACHE_FAILURE == "closed":
        return Verdict.refuse(check, Reason.CACHE_UNAVAILABLE, 503, retry_after=60)
    return None


def _burst_verdict(attempt: Attempt, usage: Usage) -> Verdict | None:
    # A whole IPv6 network bursting is banned as one; else the client.
    if usage.network_burst is not None and usage.network_burst.exceeded:
        network, burst = attempt.network, usage.network_burst
    elif usage.burst.exceeded:
        network, burst = bucket(attempt.ip), usage.burst
    else:
        return None
    policy = attempt.policy
    return Verdict.refuse(
        "burst",
        Reason.BURST,
        403,
        ban={
            "network": network,
            "form_key": attempt.form_key,
            "first": policy.ban_duration,
            "growth": policy.ban_growth,
            "cap": policy.ban_max,
            "lookback": policy.ban_lookback,
        },
        detail={"posts": burst.count, "window": policy.burst_window, "network": network_text(network)},
    )


def _shared_ip_verdict(attempt: Attempt, usage: Usage, exceeded: list[ratelimits.Usage]) -> Verdict | None:
    """Over the rate limit, in shared-IP mode and under the ceiling: the
    captcha instead of 429 (many people behind one school's, office's or
    carrier's address), recorded on its own."""
    policy = attempt.policy
    if not policy.shared_ip_challenge or captcha.get_provider() is None:
        return None
    if any(u.count > policy.shared_ip_ceiling for u in exceeded):
        return None
    attempt.challenged = True
    attempt.shared_ip_retry_after = max(u.seconds_left for u in exceeded)
    return Verdict.allow(
        "rate_limit",
        reason=Reason.SHARED_IP,
        detail={"posts": max(u.count for u in exceeded), "ceiling": policy.shared_ip_ceiling},
    )


def check_rate_limit(attempt: Attempt) -> Verdict | None:
    if not attempt.is_submission or attempt.verified:
        return None
    usage = attempt.usage
    if usage is None:
        return _cache_down_verdict("rate_limit")
    exceeded = [u for u in (usage.rate, usage.network_rate) if u is not None and u.exceeded]
    if not exceeded:
        return None
    shared = _shared_ip_verdict(attempt, usage, exceeded)
    if shared is not None:
        return shared
    # A refused POST still counts towards a burst: an IP that keeps
    # hitting the rate limit is the one to ban.
    return _burst_verdict(attempt, usage) or Verdict.refuse(
        "rate_limit",
        Reason.RATE_LIMITED,
        429,
        retry_after=max(u.seconds_left for u in exceeded),
        detail={"rate": attempt.policy.rate_limit if usage.rate.exceeded else attempt.policy.ipv6_network_rate_limit},
    )


def check_burst(attempt: Attempt) -> Verdict | None:
    if not attempt.is_submission or attempt.verified:
        return None
    usage = attempt.usage
    if usage is None:
        return _cache_down_verdict("burst")
    if attempt.shared_ip_retry_after is not None:
        # Under the shared-address ceiling, many people are expected at
        # once; bursts are banned past the ceiling, as the rate limit is.
        return None
    return _burst_verdict(attempt, usage)


def check_escalated(attempt: Attempt) -> Verdict | None:
    """Under a flood the form's policy is raised for every request (escalation.raised):
    its page shows the captcha, every POST must pass it, the traps are strict."""
    found = escalation.current(attempt.form_key, attempt.now)
    if found is not None:
        attempt.escalation = found
        attempt.policy = escalation.raised(attempt.policy)
    return None


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
    if view is None or not shows_form_errors(view):
        return True  # a form without formguard's field has no time token
    token = attempt.submitted.get(traps.TIME_FIELD, "")
    age = traps.token_age(attempt.form_key, token, attempt.now.timestamp())
    return age is not None and -60 <= age <= attempt.policy.time_trap_max


def _flood_usage(attempt: Attempt, group: str) -> ratelimits.Usage | None:
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
    if attempt.escalation is not None or not could_be_real(attempt):
        return None
    flood = _flood_usage(attempt, "flood")
    if flood is None or not flood.exceeded:
        return None
    started = escalation.start(
        attempt.form_key, posts=flood.count, limit=policy.flood_limit, seconds=policy.flood_escalation, now=attempt.now
    ) or escalation.current(attempt.form_key, attempt.now)
    if started is not None:
        attempt.escalation = started
        attempt.policy = escalation.raised(policy)
    return None


def check_flood_last_resort(attempt: Attempt) -> Verdict | None:
    """Closing by itself, only where the owner opted in (``flood_close``): under a
    flood, more submissions than the flood limit still passed every check, the
    captcha included."""
    policy = attempt.policy
    if attempt.escalation is None or not policy.flood_close or not attempt.is_submission or attempt.verified:
        return None
    passed = _flood_usage(attempt, "flood-passed")
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


# Of several findings, the one acted on: a refusal needs the visitor, a
# challenge only the captcha, and a fake success comes last, only where the
# submission would have been sent without the signal that caught it (a bot
# that compares two submissions, one with the honeypot filled, gets the same
# answer to both). (Plain strings: a TextChoices member hashes by its name.)
_ACTION_ORDER = {"refuse": 0, "challenge": 1, "fake_success": 2}


def _recipient_finding(attempt: Attempt) -> traps.Finding | None:
    """The per-address limit (counted with the other windows, ``Attempt.usage``)."""
    usage = attempt.usage
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
        findings = [f for f in content_findings(attempt.policy, attempt.submitted) if f.action != TrapAction.CHALLENGE]
    else:
        findings = attempt.findings or [f for f in (_recipient_finding(attempt),) if f is not None]
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
            pretend = next((f for f in findings if f.action == TrapAction.FAKE_SUCCESS), None)
            if pretend is None:
                return challenge
            also = [f.reason for f in findings if f is not pretend]
            return _fake_success_verdict(
                attempt, pretend.reason, {**pretend.detail, "action": pretend.action, "also": also}, challenge
            )
    if action == TrapAction.FAKE_SUCCESS:
        return _fake_success_verdict(attempt, finding.reason, detail)
    return Verdict.refuse("traps", finding.reason, 200, form_error=str(finding.message), detail=detail)


def _fake_success_verdict(attempt: Attempt, reason: str, detail: dict[str, Any], *noted: Verdict) -> Verdict | None:
    """A fake success, given only where the real success could have come.

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
    return Verdict.refuse("traps", reason, 302, fake_success=True, detail=detail, noted=noted)


SHARED_IP_MESSAGE = gettext_lazy(
    "Many messages have just come from your network (a school, an office or a mobile carrier, perhaps). "
    "Please complete the captcha below, and your message will be sent."
)


def check_captcha(attempt: Attempt) -> Verdict | None:
    if not attempt.is_submission or not attempt.wants_captcha or attempt.verified or attempt.captcha_checked:
        return None
    provider = captcha.get_provider()
    if provider is None:  # not configured: the admin and check --deploy say so
        return None
    if attempt.csrf_refused:
        # Django's CSRF check, further down the middleware, refuses this POST
        # anyway; asking the provider first would let anyone spend the site's
        # captcha quota with forged POSTs.
        return None
    attempt.captcha_checked = True
    result = captcha.verify_attempt(attempt, provider)
    if result.passed:
        return None
    detail = {"provider": provider.name, "error_codes": list(result.error_codes), **result.detail}
    if result.score is not None:
        detail["score"] = result.score
    if result.unavailable:
        if conf.CAPTCHA["ON_UNAVAILABLE"] == "open":
            # Let the visitor through, but on the record.
            return Verdict.allow("captcha", reason=Reason.CAPTCHA_UNAVAILABLE, detail=detail)
        reason = Reason.CAPTCHA_UNAVAILABLE
    else:
        reason = Reason.CAPTCHA
    if attempt.shared_ip_retry_after is not None:
        # The form comes back with the captcha and what was typed, but as a
        # 429: to a client that does not solve, it is the rate limit.
        message = result.message()
        if "missing-input-response" in result.error_codes:
            message = str(SHARED_IP_MESSAGE)
        return Verdict.refuse(
            "captcha", reason, 429, retry_after=attempt.shared_ip_retry_after, form_error=message, detail=detail
        )
    return Verdict.refuse("captcha", reason, 200, form_error=result.message(), detail=detail)


CHECKS: tuple[Check, ...] = (
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
)

# Checks that still run when a form's protection is switched off.
ALWAYS_ON: frozenset[Check] = frozenset({check_allowlist, check_closed})


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
            return replace(verdict, monitored=tuple(monitored), noted=tuple(noted))
        # A verdict may carry what its check let through on the record (a
        # fake success, the captcha it asked first).
        noted.extend(verdict.noted)
        if policy.monitor_only:
            monitored.append(replace(verdict, noted=()))
            continue
        return replace(verdict, noted=tuple(noted))
    return Verdict.allow("", monitored=tuple(monitored), noted=tuple(noted))


def evaluate(
    request: HttpRequest, form_key: str, now: datetime | None = None, view: Callable[..., Any] | None = None
) -> tuple[Attempt, Verdict]:
    """Decide ``request`` to the form ``form_key`` (served by ``view``)."""
    attempt = make_attempt(request, form_key, now, view)
    return attempt, run_checks(attempt)
