"""5 and 6. The rate limit (429, or the captcha in shared-IP mode) and the burst ban.

Both read the same counts (``facts.usage``, one round trip to the store)."""

from __future__ import annotations

from .. import captcha, facts, ratelimits
from ..attempt import Attempt, Verdict
from ..conf import conf
from ..facts import Usage
from ..ip import bucket, network_text
from ..models import Reason


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


def _counts(attempt: Attempt, check: str) -> Usage | Verdict | None:
    """The POST's counts, or the answer without them: none for a GET or a
    two-step form's verified send step, ``CACHE_FAILURE``'s when the store cannot count."""
    if not attempt.is_submission or attempt.verified:
        return None
    usage = facts.usage(attempt)
    if usage is None:
        return _cache_down_verdict(check)
    return usage


def check_rate_limit(attempt: Attempt) -> Verdict | None:
    usage = _counts(attempt, "rate_limit")
    if not isinstance(usage, Usage):
        return usage
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
    usage = _counts(attempt, "burst")
    if not isinstance(usage, Usage):
        return usage
    if attempt.shared_ip_retry_after is not None:
        # Under the shared-address ceiling, many people are expected at
        # once; bursts are banned past the ceiling, as the rate limit is.
        return None
    return _burst_verdict(attempt, usage)
