"""Checks of the captcha: provider, keys, the self-hosted captcha's HMAC key, test keys in production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..conf import CAPTCHA_DEFAULTS, conf


@register(Tags.security)
def check_captcha(app_configs: Any = None, **kwargs: Any) -> list:
    from .. import captcha

    errors: list = []
    user = (getattr(settings, "FORMGUARD", None) or {}).get("CAPTCHA") or {}
    unknown = set(user) - set(CAPTCHA_DEFAULTS)
    if unknown:
        errors.append(Error(f"Unknown FORMGUARD['CAPTCHA'] keys: {', '.join(sorted(unknown))}.", id="formguard.E005"))
    config = conf.CAPTCHA
    provider_class = None
    try:
        provider_class = captcha.provider_class(config["PROVIDER"])
    except (ImportError, TypeError) as exc:
        errors.append(
            Error(
                f"FORMGUARD['CAPTCHA']['PROVIDER'] = {config['PROVIDER']!r} is not a captcha provider: {exc}",
                hint=f"Use one of {', '.join(sorted(captcha.PROVIDERS))}, or the dotted path of a CaptchaProvider.",
                id="formguard.E008",
            )
        )
    if provider_class is not None and not provider_class.needs_site_key:
        errors += _check_hmac_key(provider_class, config["SECRET_KEY"])
    elif bool(config["SITE_KEY"]) != bool(config["SECRET_KEY"]):
        errors.append(
            Error(
                "Only one of the captcha site key and secret key is set, so the captcha check is off.",
                hint="Set FORMGUARD['CAPTCHA']['SITE_KEY'] and the secret (FORMGUARD['CAPTCHA']['SECRET_KEY'] "
                "or the environment variable FORMGUARD_CAPTCHA_SECRET_KEY).",
                id="formguard.E009",
            )
        )
    if config["ON_UNAVAILABLE"] not in ("open", "closed"):
        errors.append(
            Error(
                f"FORMGUARD['CAPTCHA']['ON_UNAVAILABLE'] is {config['ON_UNAVAILABLE']!r}.",
                hint="Use 'open' or 'closed'.",
                id="formguard.E010",
            )
        )
    return errors


def _check_hmac_key(provider_class: type, key: str) -> list:
    from ..captcha.altcha import MIN_KEY_LENGTH

    hint = (
        "Set FORMGUARD['CAPTCHA']['SECRET_KEY'] (or the environment variable FORMGUARD_CAPTCHA_SECRET_KEY) to "
        'a long random string, e.g. python -c "import secrets; print(secrets.token_hex(32))". Keep it out of '
        "the database and of version control."
    )
    if not key:
        return [
            Error(
                f"{provider_class.label} signs its challenges with an HMAC key, and none is set: the captcha "
                "check is off.",
                hint=hint,
                id="formguard.E013",
            )
        ]
    if len(key) < MIN_KEY_LENGTH or len(set(key)) < 8:
        return [
            Error(
                f"The HMAC key of {provider_class.label} is weak (fewer than {MIN_KEY_LENGTH} characters, or "
                "a few repeated): whoever guesses it can sign challenges that need no work.",
                hint=hint,
                id="formguard.E014",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_captcha_deploy(app_configs: Any = None, **kwargs: Any) -> list:
    from .. import captcha

    try:
        provider = captcha.get_provider()
    except (ImportError, TypeError):
        return []  # formguard.E008 says so
    if provider is None:
        return [
            Warning(
                "No captcha is configured: formguard's captcha check is off, whatever the form policies say.",
                hint="The self-hosted captcha needs no keys from anyone and no outside service: "
                "FORMGUARD['CAPTCHA'] = {'PROVIDER': 'altcha', 'SECRET_KEY': os.environ['FORMGUARD_CAPTCHA_SECRET_KEY']} "
                "(32+ random characters of your own). Or a provider's 'PROVIDER', 'SITE_KEY' and 'SECRET_KEY' "
                "(docs/captcha.md).",
                id="formguard.W004",
            )
        ]
    if provider.uses_test_keys and not settings.DEBUG:
        return [
            Error(
                f"The captcha keys are {provider.label}'s published test keys, which let every robot through.",
                hint="Use the keys of your own site from the provider's console.",
                id="formguard.E011",
            )
        ]
    return []
