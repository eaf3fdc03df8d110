"""The self-hosted captcha in a real browser: chromium solves ALTCHA's proof of work."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings

from tests.test_browser import a_person_later, browser, fill_contact, page  # noqa: F401 (fixtures)

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
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=shots_dir(tmp_path) / f"altcha-ja-{width}.png", full_page=True)
    fill_contact(page)
    with a_person_later():
        page.click("button[type=submit]")
        page.wait_for_url("**/contact/thanks/")
    assert len(mail.outbox) == 1
    assert not [m for m in messages if "error" in m.lower()], messages


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_visitor_from_china_gets_the_form_with_the_captcha_and_sends_it(live_server, browser, tmp_path, language):  # noqa: F811
    """Country mode "challenge" with the self-hosted captcha: no Google, no Cloudflare, which
    mainland China blocks. The shipped GeoLite2 database places 114.114.114.114 in CN; the
    address arrives from a trusted proxy (the live server's peer, 127.0.0.1)."""
    from formguard import policies
    from formguard.models import FormPolicy, Incident

    demo = {**settings.DEMO_FORMGUARD, "TRUSTED_PROXIES": ["127.0.0.1"]}
    with override_settings(FORMGUARD=demo):
        policies.ensure_row("contact")
        FormPolicy.objects.filter(form_key="*").update(
            captcha_required=False, country_mode="challenge", allowed_countries="JP"
        )
        policies.invalidate()
        japan = browser.new_context(extra_http_headers={"X-Forwarded-For": "133.11.0.1"})
        page = japan.new_page()
        page.goto(f"{live_server.url}/contact/")
        assert page.locator("altcha-widget").count() == 0  # Japan: no captcha asked
        japan.close()

        china = browser.new_context(
            locale=language, extra_http_headers={"X-Forwarded-For": "114.114.114.114", "Accept-Language": language}
        )
        page = china.new_page()
        page.set_default_timeout(15_000)
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{live_server.url}/contact/")
        page.locator("altcha-widget input[type=checkbox]").wait_for()
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=shots_dir(tmp_path) / f"altcha-cn-{language}-{width}.png", full_page=True)
        fill_contact(page, message="你好，请问有货吗？")
        with a_person_later():
            page.click("button[type=submit]")
            page.wait_for_url("**/contact/thanks/")
        china.close()
    assert len(mail.outbox) == 1
    assert all(url.startswith(live_server.url) for url in requests), requests  # nothing from outside
    assert not Incident.objects.exists()


def test_shared_address_past_the_limit_gets_the_captcha_and_sends(live_server, page, tmp_path, frozen_clock):  # noqa: F811
    """A sixth person behind a school's address: the form comes back (429) with the captcha
    and their text; the browser solves it and the message is sent."""
    from formguard import policies
    from formguard.models import FormPolicy

    policies.ensure_row("contact")
    FormPolicy.objects.filter(form_key="*").update(
        captcha_required=False, shared_ip_challenge=True, rate_limit="1/10m", captcha_difficulty=200
    )
    policies.invalidate()
    page.goto(f"{live_server.url}/contact/")
    assert page.locator("altcha-widget").count() == 0
    fill_contact(page, message="一通目です。")
    with a_person_later():
        page.click("button[type=submit]")
        page.wait_for_url("**/contact/thanks/")

    page.goto(f"{live_server.url}/contact/")
    fill_contact(page, message="同じ学校の別の生徒です。")
    with a_person_later(), page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button[type=submit]")
    assert posted.value.status == 429
    page.locator("altcha-widget input[type=checkbox]").wait_for()
    assert page.input_value("#id_message") == "同じ学校の別の生徒です。"
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=shots_dir(tmp_path) / f"shared-ip-ja-{width}.png", full_page=True)
    with a_person_later():
        page.click("button[type=submit]")
        page.wait_for_url("**/contact/thanks/")
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("language", ["ja", "en"])
def test_policy_admin_shows_the_new_fields(live_server, browser, admin_user, tmp_path, language):  # noqa: F811
    context = browser.new_context(locale=language, extra_http_headers={"Accept-Language": language})
    admin_page = context.new_page()
    admin_page.goto(f"{live_server.url}/contact/")  # creates the policy rows
    admin_page.goto(f"{live_server.url}/admin/login/?next=/admin/formguard/formpolicy/")
    admin_page.fill("#id_username", "admin")
    admin_page.fill("#id_password", "password")
    admin_page.click("input[type=submit]")
    admin_page.wait_for_url("**/admin/formguard/formpolicy/")
    from formguard.models import FormPolicy

    admin_page.goto(f"{live_server.url}/admin/formguard/formpolicy/{FormPolicy.objects.get(form_key='*').pk}/change/")
    admin_page.locator("#id_captcha_difficulty").wait_for()
    assert admin_page.locator("#id_shared_ip_challenge").count() == 1
    assert admin_page.locator("#id_shared_ip_ceiling").count() == 1
    for width in (1280, 390):
        admin_page.set_viewport_size({"width": width, "height": 900})
        admin_page.screenshot(path=shots_dir(tmp_path) / f"admin-policy-{language}-{width}.png", full_page=True)
    context.close()
