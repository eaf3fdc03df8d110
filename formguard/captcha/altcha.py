"""ALTCHA: a self-hosted proof-of-work captcha, no outside service.

The server issues a signed challenge; the visitor's browser spends about a
second finding the counter that derives a key with the challenge's prefix
(PBKDF2, ALTCHA's proof-of-work v2); the server checks the HMAC signatures.
Nothing leaves the site, so it works where Google and Cloudflare are blocked
(mainland China) and needs no disclosure of an outside transmission
(外部送信). Challenges are created and verified with the ``altcha`` library
(pinned ``>=2,<3``: its major versions change the protocol); the widget is the
vendored ``altcha`` web component (``static/formguard/vendor/altcha``).

The HMAC key is ``FORMGUARD["CAPTCHA"]["SECRET_KEY"]`` (or the environment's
``FORMGUARD_CAPTCHA_SECRET_KEY``); ``SITE_KEY`` is not used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import altcha
from django.utils.translation import get_language

from .base import CaptchaProvider, CaptchaResult, Expected, fail

ALGORITHM = "PBKDF2/SHA-256"
# PBKDF2 iterations per try. At 1000 a browser's WebCrypto try costs about
# what a native one does (chromium 2,840 tries/s, CPython's hashlib 2,260/s on
# the same core), so a bot farm saves little by leaving the browser; the
# server pays one derivation per challenge issued.
COST = 1000
# A challenge asked for with GET <form url>?formguard=altcha-challenge.
CHALLENGE_PARAMETER = "formguard"
CHALLENGE_VALUE = "altcha-challenge"
# The widget's language files shipped (vendor/altcha/i18n-*.js); English is built in.
WIDGET_LANGUAGES = {"ja": "ja", "zh-hans": "zh-cn", "zh-cn": "zh-cn", "zh-hant": "zh-tw", "zh-tw": "zh-tw"}
MIN_KEY_LENGTH = 32


def is_challenge_request(request: Any) -> bool:
    return request.method == "GET" and request.GET.get(CHALLENGE_PARAMETER) == CHALLENGE_VALUE


def widget_language(language: str | None) -> str:
    language = (language or "").lower()
    return WIDGET_LANGUAGES.get(language) or WIDGET_LANGUAGES.get(language.split("-")[0], "")


class Altcha(CaptchaProvider):
    name = "altcha"
    label = "ALTCHA (self-hosted proof of work)"
    response_field = "altcha"
    widget_template = "formguard/captcha/altcha.html"
    script_template = "formguard/captcha/altcha_script.html"
    needs_site_key = False
    verifies_locally = True

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        # A second key, derived, signs each challenge's expected derived key:
        # verification is then two HMACs, not a PBKDF2 run (altcha's "fast path").
        self._key_signing_key = hmac.new(
            self._secret_key.encode(), b"formguard-altcha-key-signature", hashlib.sha256
        ).hexdigest()

    @property
    def script_url(self) -> str:
        return ""

    def challenge(self, *, form_key: str, difficulty: int) -> dict[str, Any]:
        """A signed challenge for ``form_key``, as the widget reads it (JSON)."""
        difficulty = max(2, int(difficulty))
        # ALTCHA's deterministic mode: the server picks the counter, and the
        # solver counts up from 0 until it finds it. Drawn uniformly over the
        # whole range 1..difficulty, so that no starting point saves a solver
        # anything: a browser and a bot alike try difficulty / 2 counters on
        # average. (Drawn from the upper half only, a bot that started
        # counting at half the difficulty did a third of a browser's work.)
        # altcha's create_challenge takes the counter; it draws none itself.
        counter = 1 + secrets.randbelow(difficulty)
        challenge = altcha.create_challenge(
            ALGORITHM,
            COST,
            counter=counter,
            expires_at=int(time.time()) + self.max_token_age,
            data={"form": form_key},
            hmac_secret=self._secret_key,
            hmac_key_secret=self._key_signing_key,
        )
        return challenge.to_dict()

    def replay_key(self, token: str) -> str:
        """One use per challenge, whatever else the payload says (its ``time``, say)."""
        try:
            payload = json.loads(base64.b64decode(token, validate=True))
            return "altcha:" + str(payload["challenge"]["signature"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return token

    def judge(
        self, token: str, expected: Expected, *, remote_ip: str | None, idempotency_key: str | None
    ) -> CaptchaResult:
        """Check the signatures and expiry locally: no outside call, no secret sent anywhere."""
        try:
            result = altcha.verify_solution(token, self._secret_key, hmac_key_secret=self._key_signing_key)
        except (ValueError, TypeError, KeyError, AttributeError):  # a payload the library cannot read
            return fail("invalid-input-response", reason="malformed payload")
        if result.error:
            return fail("invalid-input-response", reason="malformed payload")
        if result.expired:
            return fail("timeout-or-duplicate", reason="expired")
        if result.invalid_signature:
            return fail("invalid-input-response", reason="forged challenge")
        if not result.verified:
            return fail("invalid-input-response", reason="wrong solution")
        form = self._signed_form(token)
        if expected.action and form != expected.action:
            # A challenge issued for another form of the site.
            return CaptchaResult(passed=False, error_codes=("action-mismatch",), action=form)
        return CaptchaResult(passed=True, action=form)

    @staticmethod
    def _signed_form(token: str) -> str:
        # Read after verify_solution checked the signature over these parameters.
        data = json.loads(base64.b64decode(token))["challenge"]["parameters"].get("data") or {}
        return str(data.get("form", "")) if isinstance(data, dict) else ""

    def page_context(self, request: Any) -> dict[str, Any]:
        return {"challenge_url": f"{request.path}?{CHALLENGE_PARAMETER}={CHALLENGE_VALUE}"}

    def widget_context(self, form_key: str) -> dict[str, Any]:
        return {**super().widget_context(form_key), "language": widget_language(get_language())}
