"""One verify protocol for every captcha provider.

reCAPTCHA, hCaptcha and Turnstile share the siteverify protocol: the server
POSTs ``secret``, ``response`` (the token) and optionally ``remoteip`` to the
provider and gets JSON with ``success``, ``hostname``, ``challenge_ts`` and
``error-codes`` back. ``CaptchaProvider.verify`` does that with requests, a
deadline, and strict parsing; subclasses name their endpoints, widgets and
extra checks (reCAPTCHA v3's score and action).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
from django.utils.translation import gettext_lazy as _

from .deadline import post_by_deadline

logger = logging.getLogger("formguard.captcha")

MAX_TOKEN_LENGTH = 2048

# Error codes and what the visitor is told. Codes that mean the site is
# misconfigured are in MISCONFIGURED and always fail closed.
MESSAGES = {
    "missing-input-response": _("Please complete the captcha (the “I am not a robot” check)."),
    "invalid-input-response": _("The captcha answer was not accepted. Please try again."),
    "invalid-or-already-seen-response": _("The captcha has expired or was already used. Please try again."),
    "timeout-or-duplicate": _("The captcha has expired or was already used. Please try again."),
    "score-too-low": _("We could not confirm that you are not a robot. Please try again, or contact us another way."),
    "unavailable": _("The captcha service did not answer. Please try again in a moment."),
    "misconfigured": _(
        "The form cannot check the captcha right now. Please try again later or contact us another way."
    ),
}
DEFAULT_MESSAGE = MESSAGES["invalid-input-response"]
MISCONFIGURED = frozenset(
    {
        "missing-input-secret",
        "invalid-input-secret",
        "bad-request",
        "invalid-keys",
        "sitekey-secret-mismatch",
        "invalid-sitekey",
        "not-using-dummy-passcode",
        "http-429",
    }
)
TRANSIENT = frozenset({"timeout", "connection-error"})


@dataclass(frozen=True)
class CaptchaResult:
    """The outcome of one verification."""

    passed: bool
    error_codes: tuple[str, ...] = ()
    score: float | None = None
    action: str = ""
    hostname: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def unavailable(self) -> bool:
        """The provider could not be reached: the fail policy decides."""
        return bool(self.error_codes) and all(code in TRANSIENT for code in self.error_codes)

    @property
    def misconfigured(self) -> bool:
        return any(code in MISCONFIGURED for code in self.error_codes)

    def message(self) -> str:
        if self.unavailable:
            return str(MESSAGES["unavailable"])
        if self.misconfigured:
            return str(MESSAGES["misconfigured"])
        for code in self.error_codes:
            if code in MESSAGES:
                return str(MESSAGES[code])
        return str(DEFAULT_MESSAGE)


@dataclass(frozen=True)
class Expected:
    """What a passing token must show: one of the site's hostnames, the form's action, a score."""

    hostnames: frozenset[str]
    allow_test_hostnames: bool
    action: str = ""
    min_score: float | None = None


def fail(*codes: str, **detail: Any) -> CaptchaResult:
    return CaptchaResult(passed=False, error_codes=codes, detail=detail)


def precheck_token(token: object) -> CaptchaResult | None:
    """Refuse tokens no provider would accept, before any outbound call."""
    if not isinstance(token, str) or not token.strip():
        return fail("missing-input-response")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
        return fail("invalid-input-response", reason="malformed token")
    return None


class CaptchaProvider:
    """A captcha service. Subclass it and point ``FORMGUARD["CAPTCHA"]["PROVIDER"]`` at it.

    Class attributes name the service; ``verify()`` runs the shared protocol;
    ``check_payload()`` is where a provider adds its own rules.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    # The POST field the widget puts its token in.
    response_field: ClassVar[str] = ""
    default_script_host: ClassVar[str] = ""
    script_path: ClassVar[str] = ""
    default_verify_url: ClassVar[str] = ""
    widget_template: ClassVar[str] = ""
    # What {% formguard_captcha_script %} and the widget put in the page to load the script.
    script_template: ClassVar[str] = "formguard/captcha/script.html"
    # A provider with only a secret (a self-hosted one) says False.
    needs_site_key: ClassVar[bool] = True
    # Verified on this server, no round trip: the replay ledger is consulted
    # after verification, so garbage payloads cannot fill it.
    verifies_locally: ClassVar[bool] = False
    # Published test keys: accepted in DEBUG, an error with DEBUG = False.
    test_site_keys: ClassVar[frozenset[str]] = frozenset()
    test_secret_keys: ClassVar[frozenset[str]] = frozenset()
    # Hostnames the provider reports for test keys.
    test_hostnames: ClassVar[frozenset[str]] = frozenset()
    # The widget names the form it was solved on (reCAPTCHA v3, Turnstile):
    # the answer's action must be ``action_name(form key)``.
    checks_action: ClassVar[bool] = False
    # Retrying a transient failure is safe only where the provider
    # deduplicates by an idempotency key (Turnstile).
    retries: ClassVar[int] = 0

    def __init__(self, config: dict[str, Any]):
        self.site_key: str = config["SITE_KEY"]
        self._secret_key: str = config["SECRET_KEY"]
        self.script_host: str = (config.get("SCRIPT_HOST") or self.default_script_host).rstrip("/")
        self.verify_url: str = config.get("VERIFY_URL") or self.default_verify_url
        self.timeout: float = float(config["TIMEOUT"])
        self.send_remote_ip: bool = bool(config["SEND_REMOTE_IP"])
        self.max_token_age: int = int(config["MAX_TOKEN_AGE"])

    def __repr__(self) -> str:  # never the secret
        return f"<{type(self).__name__} site_key={self.site_key!r} verify_url={self.verify_url!r}>"

    @property
    def script_url(self) -> str:
        return self.script_host + self.script_path

    @staticmethod
    def action_name(form_key: str) -> str:
        """The action the widget is given for ``form_key`` (the provider's allowed characters)."""
        return form_key

    def action_mismatch(
        self, payload: dict[str, Any], expected_action: str, score: float | None = None
    ) -> CaptchaResult | None:
        """A failed result when the answer was solved for another form (or site)."""
        if not self.checks_action or not expected_action:
            return None
        action = payload.get("action")
        if action == self.action_name(expected_action):
            return None
        return CaptchaResult(passed=False, error_codes=("action-mismatch",), score=score, action=str(action))

    def replay_key(self, token: str) -> str:
        """What the replay ledger remembers: a token is good once."""
        return token

    @property
    def uses_test_keys(self) -> bool:
        return self.site_key in self.test_site_keys or self._secret_key in self.test_secret_keys

    def widget_context(self, form_key: str) -> dict[str, Any]:
        return {"provider": self, "site_key": self.site_key, "script_url": self.script_url, "form_key": form_key}

    def page_context(self, request: Any) -> dict[str, Any]:
        """What the widget needs from the page's request (ALTCHA: where to ask for a challenge)."""
        return {}

    def request_data(self, token: str, remote_ip: str | None, idempotency_key: str | None) -> dict[str, str]:
        data = {"secret": self._secret_key, "response": token}
        if remote_ip and self.send_remote_ip:
            data["remoteip"] = remote_ip
        return data

    def verify(
        self,
        token: str,
        *,
        remote_ip: str | None,
        hostnames: set[str],
        allow_test_hostnames: bool,
        expected_action: str = "",
        min_score: float | None = None,
        idempotency_key: str | None = None,
    ) -> CaptchaResult:
        """Whether ``token`` passes: the checks every provider shares, then its own (``judge``)."""
        early = precheck_token(token)
        if early is not None:
            return early
        expected = Expected(frozenset(hostnames), allow_test_hostnames, expected_action, min_score)
        return self.judge(token, expected, remote_ip=remote_ip, idempotency_key=idempotency_key)

    def judge(
        self, token: str, expected: Expected, *, remote_ip: str | None, idempotency_key: str | None
    ) -> CaptchaResult:
        """POST the token to the provider and judge its answer."""
        deadline = time.monotonic() + self.timeout
        data = self.request_data(token, remote_ip, idempotency_key)
        attempts = 1 + self.retries
        result = fail("timeout")
        for attempt in range(attempts):
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                break
            payload_or_result = self._post(data, remaining)
            if isinstance(payload_or_result, CaptchaResult):
                result = payload_or_result
                if result.unavailable and attempt + 1 < attempts:
                    continue
                return result
            return self.check_payload(payload_or_result, expected)
        return result

    def _post(self, data: dict[str, str], timeout: float) -> dict[str, Any] | CaptchaResult:
        try:
            response = post_by_deadline(self.verify_url, data=data, seconds=timeout)
        except requests.Timeout:
            return fail("timeout")
        except requests.ConnectionError:  # refused, reset, DNS failure
            return fail("connection-error")
        except requests.RequestException as exc:
            return fail("bad-response", error=type(exc).__name__)
        if response.status_code == 429:
            logger.error("formguard: captcha provider %s answered HTTP 429 (quota exceeded?)", self.name)
            return fail("http-429")
        if response.status_code != 200:
            return fail(f"http-{response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            return fail("bad-response", reason="not JSON")
        if not isinstance(payload, dict):
            return fail("bad-response", reason="not a JSON object")
        return payload

    def check_payload(self, payload: dict[str, Any], expected: Expected) -> CaptchaResult:
        codes = payload.get("error-codes") or []
        codes = tuple(str(c) for c in codes) if isinstance(codes, list) else ("bad-response",)
        hostname = payload.get("hostname") if isinstance(payload.get("hostname"), str) else ""
        # Only the JSON boolean true passes: not "true", not 1, not a missing key.
        if payload.get("success") is not True:
            if set(codes) & MISCONFIGURED:
                logger.error("formguard: captcha provider %s rejected the site's keys: %s", self.name, codes)
            return CaptchaResult(passed=False, error_codes=codes or ("not-success",), hostname=hostname)
        if not hostname:
            return fail("hostname-missing")
        if hostname not in expected.hostnames and not (
            expected.allow_test_hostnames and hostname in self.test_hostnames
        ):
            return fail("hostname-mismatch", hostname=hostname)
        too_old = self._token_too_old(payload.get("challenge_ts"))
        if too_old is not None:
            return too_old
        mismatch = self.action_mismatch(payload, expected.action)
        if mismatch is not None:
            return mismatch
        return CaptchaResult(passed=True, hostname=hostname, action=str(payload.get("action") or ""))

    def _token_too_old(self, challenge_ts: object) -> CaptchaResult | None:
        if challenge_ts is None:
            return None
        if not isinstance(challenge_ts, str):
            return fail("bad-response", reason="challenge_ts")
        try:
            issued = datetime.fromisoformat(challenge_ts.replace("Z", "+00:00"))
        except ValueError:
            return fail("bad-response", reason="challenge_ts")
        if issued.tzinfo is None:
            issued = issued.replace(tzinfo=UTC)
        age = (datetime.now(UTC) - issued).total_seconds()
        if age > self.max_token_age:
            return fail("timeout-or-duplicate", age=int(age))
        return None
