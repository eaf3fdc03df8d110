"""hCaptcha: reCAPTCHA's protocol at its own endpoints."""

from __future__ import annotations

from .base import CaptchaProvider


class HCaptcha(CaptchaProvider):
    name = "hcaptcha"
    label = "hCaptcha"
    response_field = "h-captcha-response"
    default_script_host = "https://js.hcaptcha.com"
    script_path = "/1/api.js"
    default_verify_url = "https://api.hcaptcha.com/siteverify"
    widget_template = "formguard/captcha/hcaptcha.html"
    test_site_keys = frozenset(
        {
            "10000000-ffff-ffff-ffff-000000000001",
            "20000000-ffff-ffff-ffff-000000000002",
            "30000000-ffff-ffff-ffff-000000000003",
        }
    )
    test_secret_keys = frozenset({"0x0000000000000000000000000000000000000000"})
    test_hostnames = frozenset({"dummy-key-pass"})
