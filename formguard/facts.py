"""What is learnt of an attempt from formguard's state, once per request.

The block-rule index, the client's country, the submission's counts in every
window and what the traps and content rules find in it: each step that needs
one asks here, and the first to ask pays for it (a store round trip, a GeoIP
lookup); the answer is kept on the attempt (``Attempt.facts``). The attempt
itself stays below all of this: it knows the request, not the state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import TypeVar

from . import captcha, confirm, geo, ratelimits, rules, traps
from .attempt import Attempt
from .content import ContentRules, Visitor, recipient_key
from .ip import network_text
from .marks import carries_traps
from .policies import Policy
from .policy_values import PolicyValues
from .store import StoreUnavailable

T = TypeVar("T")


def _once(compute: Callable[[Attempt], T]) -> Callable[[Attempt], T]:
    """``compute(attempt)``, kept on the attempt under the function's name."""
    name = compute.__name__

    @wraps(compute)
    def fact(attempt: Attempt) -> T:
        if name not in attempt.facts:
            attempt.facts[name] = compute(attempt)
        return attempt.facts[name]

    return fact


@dataclass(frozen=True)
class Usage:
    """A submission's counts: its client's, and for IPv6 its wider network's."""

    rate: ratelimits.Usage
    burst: ratelimits.Usage
    network_rate: ratelimits.Usage | None = None
    network_burst: ratelimits.Usage | None = None
    recipient: ratelimits.Usage | None = None


@_once
def rule_index(attempt: Attempt) -> rules.RuleIndex:
    """The block-rule index, read once per request."""
    return rules.get_index()


@_once
def rule_matches(attempt: Attempt) -> list[rules.Match]:
    """Every active rule over the client, narrowest first: the allowlist and the blacklist
    both read it, from one walk of the index."""
    return rule_index(attempt).matches(attempt.ip, attempt.now)


def first_rule(attempt: Attempt, kind: str) -> rules.Match | None:
    """``RuleIndex.first()`` of the client, from ``rule_matches``."""
    return next((match for match in rule_matches(attempt) if match.kind == kind), None)


@_once
def country(attempt: Attempt) -> str:
    return geo.country_of(attempt.ip)


@_once
def recipient(attempt: Attempt) -> str | None:
    """The typed email address, as a keyed hash (``content.recipient_key``)."""
    policy = attempt.policy
    if policy.recipient_limit == "off":
        return None
    return recipient_key(attempt.submitted.get(policy.email_field, "") or "")


@_once
def findings(attempt: Attempt) -> list[traps.Finding]:
    """What the bot traps and content rules found in this submission (CPU only, no I/O)."""
    policy, post = attempt.policy, attempt.submitted
    found: list[traps.Finding | None] = []
    if attempt.view is not None and carries_traps(attempt.view):
        # Only forms that render formguard's field carry the traps.
        found += [
            traps.check_honeypot(policy.honeypot_action, post),
            traps.check_time(
                policy.time_trap_action,
                attempt.form_key,
                post,
                attempt.now.timestamp(),
                policy.time_trap_min,
                policy.time_trap_max,
            ),
        ]
    found += content_findings(policy, post, Visitor.of(attempt.request))
    return [f for f in found if f is not None]


@_once
def usage(attempt: Attempt) -> Usage | None:
    """This submission counted in every window that applies, in one round
    trip; None when the store cannot count."""
    policy, form_key = attempt.policy, attempt.form_key
    limits = {
        "rate": ratelimits.Limit(f"rate:{form_key}", attempt.bucket, policy.rate_limit),
        "burst": ratelimits.Limit(f"burst:{form_key}", attempt.bucket, policy.burst_rate),
    }
    network = attempt.network
    if network is not None:
        wide = network_text(network)
        limits["network_rate"] = ratelimits.Limit(f"rate:{form_key}", wide, policy.ipv6_network_rate_limit)
        limits["network_burst"] = ratelimits.Limit(f"burst:{form_key}", wide, policy.ipv6_network_burst_rate)
    address = recipient(attempt)
    if address is not None and not findings(attempt):
        # Only a submission no trap or rule caught counts for its address:
        # a customer whose form came back with an error and who sends it
        # again does not use up the allowance with each try.
        limits["recipient"] = ratelimits.Limit(f"recipient:{form_key}", address, policy.recipient_limit)
    try:
        counts = ratelimits.hit(list(limits.values()), attempt.now.timestamp())
    except StoreUnavailable:
        return None
    return Usage(**dict(zip(limits, counts, strict=True)))


def content_rules(policy: PolicyValues) -> ContentRules:
    """The policy's content rules, as ``Policy`` compiled them (once per policy).

    An attempt's policy is always a ``policies.Policy``: ``get_policy`` builds
    it, and a flood raises it with ``dataclasses.replace``, which keeps its class.
    """
    assert isinstance(policy, Policy), type(policy)
    return policy.content_rules


def token_fields() -> set[str]:
    """The fields the pipeline adds beside the site's: the captcha's answer, the confirm step's token."""
    provider = captcha.get_provider()
    return {confirm.FIELD, provider.response_field} if provider is not None else {confirm.FIELD}


def content_findings(
    policy: PolicyValues, post: Mapping[str, str], visitor: Visitor | None = None
) -> list[traps.Finding]:
    # The captcha's answer and the confirm step's token are random text, which
    # can spell a short NG word.
    return content_rules(policy).check(post, token_fields(), visitor)
