"""The demo's /contact/api/ in chromium: a page whose own script posts the form as JSON (issue 25).

The page loads formguard/fetch.js; ``formguard.bind(form, show)`` has the
self-hosted captcha (ALTCHA) solved, adds the traps and posts JSON to the
guarded endpoint. A person's inquiry arrives; a closed form, the rate limit,
a ban and a content rule come back as problem+json with their status and
Retry-After, the page shows them, and the typed text stays in the form.
"""

import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from tests.test_browser import a_person_later, browser, fill_contact, page  # noqa: F401 (fixtures)

# The demo's own FORMGUARD settings (the self-hosted captcha included), autouse.
from tests.test_browser_altcha import _demo_settings, shots_dir  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SPAM = "Cheap pills https://a.example/ https://b.example/ https://c.example/ [url=https://d.example/]here[/url]"


def set_site_policy(**fields):
    from formguard import policies
    from formguard.models import FormPolicy

    policies.ensure_row("api-contact")
    FormPolicy.objects.filter(form_key="*").update(**fields)
    policies.invalidate()


def send(tab):
    """Press Send; the endpoint's answer (the POST's response) once the page has shown it."""
    with a_person_later(), tab.expect_response(lambda r: r.request.method == "POST") as posted:
        tab.click("button[type=submit]")
    tab.wait_for_selector("#contact-result.sent, #contact-result.refused")
    return posted.value


def test_an_inquiry_with_the_self_hosted_captcha_is_sent_as_json(live_server, page):  # noqa: F811
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
    page.goto(f"{live_server.url}/contact/api/")
    page.locator("altcha-widget input[type=checkbox]").wait_for()
    fill_contact(page)
    response = send(page)
    sent = json.loads(response.request.post_data)
    assert response.request.headers["content-type"] == "application/json"
    assert sent["altcha"] and sent["fg_issued"] and sent["message"] == "商品の在庫について教えてください。"
    assert response.status == 200
    assert page.locator("#contact-result.sent").inner_text() == "お問い合わせありがとうございます"
    assert len(mail.outbox) == 1 and "商品の在庫" in mail.outbox[0].body
    assert failed == []


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_closed_form_answers_503_and_the_page_shows_it_with_the_text_kept(live_server, browser, tmp_path, language):  # noqa: F811
    from formguard import policies

    context = browser.new_context(locale=language, extra_http_headers={"Accept-Language": language})
    page = context.new_page()  # noqa: F811 (the visitor's own language)
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/contact/api/")
    policies.set_closed("api-contact", True, until=timezone.now() + timezone.timedelta(hours=2))
    fill_contact(page)
    response = send(page)
    assert response.status == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    retry_after = int(response.headers["retry-after"])
    assert 7000 < retry_after <= 7200
    result = page.locator("#contact-result.refused")
    assert result.get_attribute("data-code") == "closed"
    assert result.get_attribute("data-retry-after") == str(retry_after)
    title = "This form is closed for now" if language == "en" else "このフォームは現在停止しています"
    assert title in result.inner_text()
    assert page.input_value("#id_message") == "商品の在庫について教えてください。"
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=shots_dir(tmp_path) / f"json-closed-{language}-{width}.png", full_page=True)
    context.close()
    assert mail.outbox == []


def test_the_rate_limit_a_ban_and_a_content_rule_come_back_as_problems(live_server, page, frozen_clock):  # noqa: F811
    set_site_policy(captcha_required=False, rate_limit="2/h")
    page.goto(f"{live_server.url}/contact/api/")
    fill_contact(page)
    assert send(page).status == 200
    assert len(mail.outbox) == 1

    # The content rule: refused, with the text kept in the form.
    fill_contact(page, message=SPAM)
    response = send(page)
    assert response.status == 400
    assert page.locator("#contact-result").get_attribute("data-code") in ("links", "not-japanese")
    assert page.input_value("#id_message") == SPAM

    # The rate limit (the refused message counted too): 429 with Retry-After, shown.
    fill_contact(page, message="もう一度お送りします。")
    response = send(page)
    assert response.status == 429
    assert int(response.headers["retry-after"]) > 0
    result = page.locator("#contact-result")
    assert result.get_attribute("data-code") == "rate-limited"
    assert result.get_attribute("data-retry-after") == response.headers["retry-after"]
    assert "送信回数が多すぎます" in result.inner_text()

    # A ban for two hours: 403, Retry-After rounded up to the hour.
    call_command("formguard", "ban", "127.0.0.0/8", "--for", "2h")
    response = send(page)
    assert response.status == 403
    assert response.headers["retry-after"] == "7200"
    assert page.locator("#contact-result").get_attribute("data-code") == "blacklisted"
    assert page.input_value("#id_message") == "もう一度お送りします。"
    assert len(mail.outbox) == 1
