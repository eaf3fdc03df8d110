"""Helpers for a site's own test suite, with formguard installed.

formguard keeps counters and bans between requests; a test suite that posts
to a guarded form would otherwise meet the limits of earlier tests (the 6th
POST gets 429) and bans whose rows were rolled back. Either start every test
from a clean slate::

    from formguard.testing import FormGuardTestMixin

    class ContactTests(FormGuardTestMixin, TestCase):
        ...

    # pytest (conftest.py)
    @pytest.fixture(autouse=True)
    def _formguard_state():
        formguard.testing.reset()
        yield
        formguard.testing.reset()

A guarded form carries a honeypot and a signed issue time: a test that posts
without first showing the form adds what a browser would send::

    from formguard.testing import trap_fields

    client.post("/contact/", {**INQUIRY, **trap_fields("contact")})

or switch formguard off where a test is not about it::

    @formguard.testing.disabled()
    def test_thanks_page(client): ...

With the self-hosted captcha, a test's POST can carry a solution, made with
the site's own key (an easy challenge, solved in a few milliseconds)::

    client.post("/contact/", {**data, **formguard.testing.captcha_solution("contact")})

Both read the form's policy from the database: in an ``async def`` test (Django's
``AsyncClient``) await their async forms, as Django's own ORM has ``aget()``::

    data = {**INQUIRY, **await formguard.testing.atrap_fields("contact")}
    await async_client.post("/contact/", data)
"""

from __future__ import annotations

import contextlib
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.test.utils import override_settings

from . import generations, incidents, middleware, problems, refusal, rules, typed
from .conf import conf
from .store import StoreUnavailable, get_store

__all__ = [
    "FormGuardTestMixin",
    "acaptcha_solution",
    "atrap_fields",
    "captcha_solution",
    "disabled",
    "reset",
    "trap_fields",
]


def reset() -> None:
    """Forget every counter, ban generation, pending count and in-process copy.

    Rows in the database (policies, rules, incidents) are left to the test
    runner's own rollback.
    """
    conf.reset()
    store = get_store()
    # A test that broke the store must not leave the next one falling back.
    store.forget_outage()
    with contextlib.suppress(StoreUnavailable):
        store.clear()
    generations.forget()
    rules.forget()
    refusal.forget_pages()
    typed.forget_bodies()
    problems.forget_problems()
    incidents.forget()
    middleware.forget_reports()


def disabled() -> override_settings:
    """``override_settings`` that switches formguard off (decorator or ``with``)."""
    current = getattr(settings, "FORMGUARD", None) or {}
    return override_settings(FORMGUARD={**current, "ENABLED": False})


def captcha_solution(form_key: str) -> dict[str, str]:
    """POST data that passes the self-hosted captcha (ALTCHA) on ``form_key`` once;
    ``{}`` when the configured provider is not self-hosted or no captcha is set."""
    import altcha

    from .captcha import get_provider

    provider = get_provider()
    if provider is None or not hasattr(provider, "challenge"):
        return {}
    challenge = altcha.Challenge.from_dict(provider.challenge(form_key=form_key, difficulty=10))
    return {provider.response_field: altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()}


class FormGuardTestMixin:
    """For ``TestCase`` classes: each test starts and ends with formguard's state reset."""

    def setUp(self) -> None:
        reset()
        self.addCleanup(reset)  # type: ignore[attr-defined]
        super().setUp()  # type: ignore[misc]


def trap_fields(form_key: str, *, age: float | None = None) -> dict[str, str]:
    """The bot-trap fields a person's browser sends with form ``form_key``'s POST.

    An empty honeypot and a time token issued ``age`` seconds ago (default:
    just over the form's shortest time), so a test can post at once::

        client.post("/contact/", {**INQUIRY, **trap_fields("contact")})
    """
    from django.core import signing

    from .policies import get_policy
    from .traps import HONEYPOT_FIELD, TIME_FIELD, _signer

    if age is None:
        age = get_policy(form_key).time_trap_min + 1
    signer = _signer(form_key)
    issued = signing.b62_encode(int(time.time() - age))
    # TimestampSigner signs "value:time"; signing it with the plain Signer
    # step gives the same token as a form served ``age`` seconds ago.
    token = signing.Signer.sign(signer, f"t{signer.sep}{issued}")
    return {HONEYPOT_FIELD: "", TIME_FIELD: token}


async def atrap_fields(form_key: str, *, age: float | None = None) -> dict[str, str]:
    """``trap_fields`` for an async test: the policy is read in a thread, as Django's async ORM reads."""
    return await sync_to_async(trap_fields)(form_key, age=age)


async def acaptcha_solution(form_key: str) -> dict[str, str]:
    """``captcha_solution`` for an async test (the policy and the key are read in a thread)."""
    return await sync_to_async(captcha_solution)(form_key)
