"""The self-hosted captcha in a real browser: chromium solves ALTCHA's proof of work."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings

from tests.test_browser import browser, fill_contact, page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _demo_settings():
    """The demo's own FORMGUARD settings, captcha included (tests/settings.py switches it off)."""
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD):
        yield


def shots_dir(tmp_path) -> Path:
    """Screenshots go to FORMGUARD_ARTIFACTS when set (to look at them), else the test's tmp dir."""
    base = Path(os.environ.get("FORMGUARD_ARTIFACTS") or tmp_path)
    base.mkdir(parents=True, exist_ok=True)
    return base


def test_fresh_demo_shows_the_proof_of_work_and_chromium_solves_it(live_server, page, tmp_path):  # noqa: F811
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(f"{live_server.url}/contact/")
    widget = page.locator("altcha-widget")
    widget.locator("input[type=checkbox]").wait_for()
    page.screenshot(path=shots_dir(tmp_path) / "altcha-ja-1280.png", full_page=True)
    fill_contact(page)
    page.click("button[type=submit]")
    page.wait_for_url("**/contact/thanks/")
    assert len(mail.outbox) == 1
    assert not [m for m in messages if "error" in m.lower()], messages
