"""Cloudflare Turnstile: the same protocol, plus an idempotency key so that
a retry after a lost answer is not counted as a second use of the token."""

from __future__ import annotations

import re
from typing import Any

from .base import CaptchaProvider


def action_name(form_key: str) -> str:
    """Turnstile actions: up to 32 letters, digits, ``-`` and ``_``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", form_key)[:32] or "submit"


class Turnstile(CaptchaProvider):
    name = "turnstile"
    label = "Cloudflare Turnstile"
    response_field = "cf-turnstile-response"
    default_script_host = "https://challenges.cloudflare.com"
    script_path = "/turnstile/v0/api.js"
    default_verify_url = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    widget_template = "formguard/captcha/turnstile.html"
    test_site_keys = frozenset(
        {
            "1x00000000000000000000AA",
            "2x00000000000000000000AB",
            "1x00000000000000000000BB",
            "2x00000000000000000000BB",
            "3x00000000000000000000FF",
        }
    )
    test_secret_keys = frozenset(
        {
            "1x0000000000000000000000000000000AA",
            "2x0000000000000000000000000000000AA",
            "3x0000000000000000000000000000000AA",
        }
    )
    test_hostnames = frozenset({"example.com"})
    retries = 1
    checks_action = True
    action_name = staticmethod(action_name)

    def widget_context(self, form_key: str) -> dict[str, Any]:
        return {**super().widget_context(form_key), "action": action_name(form_key)}

    def request_data(self, token: str, remote_ip: str | None, idempotency_key: str | None) -> dict[str, str]:
        data = super().request_data(token, remote_ip, idempotency_key)
        if idempotency_key:
            data["idempotency_key"] = idempotency_key
        return data
