"""Captcha providers behind one interface, chosen in settings.

``get_provider()`` returns the configured provider, or None when captcha is
not configured (no keys): then the captcha check lets requests through and
the admin says so.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from ..conf import conf
from ..store import StoreUnavailable, get_store
from ..submitted import submitted
from .altcha import Altcha
from .base import CaptchaProvider, CaptchaResult, fail, precheck_token
from .hcaptcha import HCaptcha
from .recaptcha import RecaptchaV2, RecaptchaV2Invisible, RecaptchaV3
from .turnstile import Turnstile

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ..addresses import IPAddress

__all__ = ["PROVIDERS", "CaptchaProvider", "CaptchaResult", "get_provider", "verify_attempt"]

logger = logging.getLogger("formguard.captcha")


class _MinScore(Protocol):
    captcha_min_score: float


class CaptchaAttempt(Protocol):
    """What verifying reads of a request to a guarded form: ``attempt.Attempt`` is one.

    A protocol, so that the providers know nothing of the pipeline that asks them.
    """

    request: HttpRequest
    ip: IPAddress
    form_key: str
    policy: _MinScore


PROVIDERS: dict[str, type[CaptchaProvider]] = {
    cls.name: cls for cls in (RecaptchaV2, RecaptchaV2Invisible, RecaptchaV3, HCaptcha, Turnstile, Altcha)
}


def provider_class(name: str) -> type[CaptchaProvider]:
    if name in PROVIDERS:
        return PROVIDERS[name]
    cls = import_string(name)
    if not (isinstance(cls, type) and issubclass(cls, CaptchaProvider)):
        raise TypeError(f"{name} is not a CaptchaProvider subclass")
    return cls


@lru_cache(maxsize=8)
def _build(frozen: tuple) -> CaptchaProvider:
    config = dict(frozen)
    return provider_class(config["PROVIDER"])(config)


def get_provider() -> CaptchaProvider | None:
    """The configured provider, or None when no keys are set."""
    config = conf.CAPTCHA
    if not config["SECRET_KEY"]:
        return None
    if not config["SITE_KEY"]:
        try:
            if provider_class(config["PROVIDER"]).needs_site_key:
                return None
        except (ImportError, TypeError):  # formguard.E008 says so
            return None
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in config.items()))
    return _build(frozen)


def _hostnames(attempt: CaptchaAttempt) -> set[str]:
    configured = conf.CAPTCHA["HOSTNAMES"]
    if configured:
        return {h.lower() for h in configured}
    try:
        host = attempt.request.get_host()
    except Exception:  # DisallowedHost: nothing to match a token against
        return set()
    return {host.rsplit(":", 1)[0].strip("[]").lower()}


def _token_key(token: str) -> str:
    return "captcha:used:" + hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _first_use(provider: CaptchaProvider, token: str) -> bool:
    try:
        return get_store().claim(_token_key(provider.replay_key(token)), provider.max_token_age + 60)
    except StoreUnavailable:
        return True


def verify_attempt(attempt: CaptchaAttempt, provider: CaptchaProvider) -> CaptchaResult:
    """Verify the token of ``attempt``'s POST; a token is good once."""
    token = submitted(attempt.request).get(provider.response_field, "")
    early = precheck_token(token)
    if early is not None:
        return early
    if not provider.verifies_locally and not _first_use(provider, token):
        # A token seen before is refused here, without asking the provider
        # (which would refuse it too, after a round trip).
        return fail("timeout-or-duplicate", reason="token seen before")
    result = provider.verify(
        token,
        remote_ip=str(attempt.ip),
        hostnames=_hostnames(attempt),
        allow_test_hostnames=settings.DEBUG,
        expected_action=attempt.form_key,
        min_score=attempt.policy.captcha_min_score,
        idempotency_key=str(uuid.uuid4()),
    )
    if result.passed and provider.verifies_locally and not _first_use(provider, token):
        return fail("timeout-or-duplicate", reason="solution seen before")
    return result
