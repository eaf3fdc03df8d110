"""Google reCAPTCHA v2 (checkbox and invisible) and v3 (score and action)."""

from __future__ import annotations

import re
from typing import Any

from .base import CaptchaProvider, CaptchaResult, Expected, fail

GOOGLE_TEST_SITE_KEY = "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"
GOOGLE_TEST_SECRET_KEY = "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe"  # noqa: S105 (published test key)


class RecaptchaV2(CaptchaProvider):
    name = "recaptcha_v2"
    label = "reCAPTCHA v2"
    response_field = "g-recaptcha-response"
    # www.recaptcha.net serves the same script where www.google.com is blocked.
    default_script_host = "https://www.google.com"
    script_path = "/recaptcha/api.js"
    default_verify_url = "https://www.google.com/recaptcha/api/siteverify"
    widget_template = "formguard/captcha/recaptcha_v2.html"
    test_site_keys = frozenset({GOOGLE_TEST_SITE_KEY})
    test_secret_keys = frozenset({GOOGLE_TEST_SECRET_KEY})
    test_hostnames = frozenset({"testkey.google.com"})
    invisible = False

    def widget_context(self, form_key: str) -> dict[str, Any]:
        return {**super().widget_context(form_key), "invisible": self.invisible}


class RecaptchaV2Invisible(RecaptchaV2):
    name = "recaptcha_v2_invisible"
    label = "reCAPTCHA v2 (invisible)"
    invisible = True


def action_name(form_key: str) -> str:
    """reCAPTCHA actions may hold only letters, digits, slashes and underscores."""
    return re.sub(r"[^A-Za-z0-9/_]", "_", form_key) or "submit"


class RecaptchaV3(RecaptchaV2):
    name = "recaptcha_v3"
    label = "reCAPTCHA v3"
    widget_template = "formguard/captcha/recaptcha_v3.html"
    checks_action = True
    action_name = staticmethod(action_name)

    @property
    def script_url(self) -> str:
        return f"{self.script_host}{self.script_path}?render={self.site_key}"

    def widget_context(self, form_key: str) -> dict[str, Any]:
        return {**super().widget_context(form_key), "action": action_name(form_key)}

    def check_payload(self, payload: dict[str, Any], expected: Expected) -> CaptchaResult:
        # The shared checks, without the action: v3 checks it below, with the score.
        result = super().check_payload(payload, Expected(expected.hostnames, expected.allow_test_hostnames))
        if not result.passed:
            return result
        score = payload.get("score")
        action = payload.get("action")
        if isinstance(score, bool) or not isinstance(score, int | float):
            return fail("bad-response", reason="score")
        mismatch = self.action_mismatch(payload, expected.action, score=score)
        if mismatch is not None:
            return mismatch
        if expected.min_score is not None and score < expected.min_score:
            return CaptchaResult(passed=False, error_codes=("score-too-low",), score=score, action=str(action))
        return CaptchaResult(passed=True, score=float(score), action=str(action), hostname=result.hostname)
