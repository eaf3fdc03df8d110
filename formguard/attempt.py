"""A request to a guarded form as the pipeline's steps see it, and what a step decides.

``Attempt`` (the request, its form's policy values, its client's address),
``Verdict`` and ``Check``: the lowest module of the pipeline. The steps, the
pipeline that runs them, the refusal pages, the middleware and the captcha check
all build on it; it imports nothing of formguard's but the settings and the
client address (``conf``, ``ip``) and the policy's values (``policy_values``).
What is learnt of an attempt from the state above it (rule index, country,
counts, trap findings) is ``formguard.facts``, computed once per request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware

from .conf import conf
from .ip import IPAddress, IPNetwork, bucket_key
from .policy_values import Closure, PolicyValues
from .submitted import submitted

CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"


class _CsrfProbe(CsrfViewMiddleware):
    """Django's own CSRF check, asked in advance: a refusal is only noted here.

    The CSRF middleware itself refuses (and logs) the request later, once;
    the probe renders no failure page and logs nothing, so a flood of forged
    POSTs costs no page and no second log line each.
    """

    def _reject(self, request: HttpRequest, reason: str) -> str:  # type: ignore[override]
        return reason or "rejected"


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass
class Attempt:
    """One request to a guarded form, as the checks see it."""

    request: HttpRequest
    form_key: str
    # Always a ``policies.Policy`` (values and what is compiled from them).
    policy: PolicyValues
    ip: IPAddress
    now: datetime
    # Set by the country check (or the shared-address rate limit): this
    # visitor must pass the captcha.
    challenged: bool = False
    # Over the rate limit, let on if it passes the captcha (shared-IP mode):
    # the Retry-After of the 429 it gets otherwise.
    shared_ip_retry_after: int | None = None
    # The send step of a two-step form, confirmed by a token (confirm.py):
    # counted and captcha-checked at its confirm step already.
    verified: bool = False
    # The view the request is for (the middleware knows it; tests may not).
    view: Callable[..., Any] | None = None
    # The captcha was verified already (a fake success asks it first): a
    # solution is good once, and its verdict was acted on where it was asked.
    captcha_checked: bool = False
    # The form is under a flood (escalation.py); ``policy`` is then raised.
    escalated: bool = False
    # What ``formguard.facts`` learnt of this request, by name: each fact once.
    facts: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_submission(self) -> bool:
        return self.request.method not in SAFE_METHODS

    @cached_property
    def bucket(self) -> str:
        return bucket_key(self.ip)

    @cached_property
    def network(self) -> IPNetwork | None:
        """An IPv6 client's wider network (a /48), counted as one besides its /64."""
        prefix = self.policy.ipv6_network_prefix
        if self.ip.version != 6 or not prefix or prefix >= conf.IPV6_PREFIX:
            return None
        return ipaddress.ip_network((self.ip, prefix), strict=False)

    @property
    def submitted(self) -> Mapping[str, str]:
        """The POST's fields, from a form or a JSON body (``formguard.submitted``).
        A body Django cannot read (too big, too many fields, broken multipart,
        malformed JSON) raises here as it would in the view: 400."""
        return submitted(self.request)

    @property
    def wants_captcha(self) -> bool:
        return bool(self.policy.captcha_required) or self.challenged

    @cached_property
    def csrf_refused(self) -> bool:
        """Django's CSRF check, further down the middleware, will refuse this POST.

        Asked once, in advance, the way the CSRF middleware asks (it honours
        ``csrf_exempt``); a POST it accepts is marked done, so it is not
        checked twice.
        """
        request = self.request
        if getattr(request, "csrf_processing_done", False) or self.view is None:
            return False
        if CSRF_MIDDLEWARE not in settings.MIDDLEWARE:
            return False
        return _CsrfProbe(lambda r: None).process_view(request, self.view, (), {}) is not None


@dataclass(frozen=True)
class Verdict:
    """What a check decided. ``allowed`` verdicts let the site's view run."""

    allowed: bool
    check: str
    reason: str = ""
    status: int = 200
    retry_after: int | None = None
    closure: Closure | None = None
    rule_id: int | None = None
    ban: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    # A refusal the site's form shows as an error, keeping what was typed.
    form_error: str = ""
    # Answer as if the form had been sent (302 to its success URL).
    fake_success: bool = False
    # Held for review: answered as a fake success is, and the submission kept
    # (``models.Submission``) for the owner to release, discard or label.
    held: bool = False
    # The flood breaker: close the form until this time.
    close_until: datetime | None = None
    # In monitor-only mode: the refusals that were not carried out.
    monitored: tuple[Verdict, ...] = ()
    # Requests let through on the record (see the module docstring).
    noted: tuple[Verdict, ...] = ()

    @classmethod
    def allow(cls, check: str = "", **kwargs: Any) -> Verdict:
        return cls(allowed=True, check=check, **kwargs)

    @classmethod
    def refuse(cls, check: str, reason: str, status: int, **kwargs: Any) -> Verdict:
        return cls(allowed=False, check=check, reason=reason, status=status, **kwargs)

    @classmethod
    def hold(cls, check: str, reason: str, **kwargs: Any) -> Verdict:
        """Hold for review: the visitor sees what a sent form shows, nothing reaches the staff."""
        return cls(allowed=False, check=check, reason=reason, status=302, fake_success=True, held=True, **kwargs)


Check = Callable[[Attempt], "Verdict | None"]
