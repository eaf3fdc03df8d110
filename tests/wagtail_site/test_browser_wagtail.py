"""The guarded Wagtail form page as a person sees it, in chromium: Japanese and English,
1280 px and a 390 px phone; the form, a refusal in the form, and formguard's closed page.
Screenshots are saved (FORMGUARD_SCREENSHOTS, else the test's tmp dir) and looked at."""

import pytest
from django.conf import settings

if "tests.wagtail_site" not in settings.INSTALLED_APPS:
    pytest.skip("the Wagtail site's tests run with --ds tests.wagtail_site.settings", allow_module_level=True)

from django.core.management import call_command  # noqa: E402
from wagtail.contrib.forms.models import FormSubmission  # noqa: E402

from formguard.models import FormPolicy  # noqa: E402
from tests.test_browser import browser  # noqa: E402, F401 (the fixture)
from tests.test_browser_pages import english_on, fits, shots_dir  # noqa: E402

from .test_wagtail_form_page import make_form_page  # noqa: E402

# serialized_rollback: the flush after each test also removes the pages and the site
# Wagtail's migrations made; they are put back for the next.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PITCH = "We offer cheap SEO services for your website. Contact us today for a free quote!"
TEXTS = {
    "ja": {"japanese": "日本語でご記入ください", "closed": "受付を停止"},
    "en": {"japanese": "in Japanese", "closed": "not accepting"},
}


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_form_page_its_refusal_in_the_form_and_the_closed_page(browser, live_server, tmp_path, language, width):  # noqa: F811
    make_form_page()
    # A person types for longer than the time trap's shortest time; this test does not wait.
    FormPolicy.objects.filter(form_key="inquiry").update(time_trap_action="off", japanese_action="refuse")
    from formguard import policies

    policies.invalidate()
    shots = shots_dir(tmp_path)
    context = browser.new_context(
        locale=f"{language}-JP" if language == "ja" else "en-US",
        extra_http_headers={"Accept-Language": language},
        viewport={"width": width, "height": 900},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/inquiry/")
        assert page.locator("input[name=fg_blank]").count() == 1
        box = page.locator(".fg-trap").bounding_box()
        assert box["x"] + box["width"] < 0  # the honeypot is there, off screen (formguard.css loaded)
        page.screenshot(path=shots / f"wagtail-form-{language}-{width}.png", full_page=True)
        assert fits(page)

        page.fill("#id_name", "Spam Bot")
        page.fill("#id_email", "bot@example.com")
        page.fill("#id_message", PITCH)
        with page.expect_navigation():
            page.click("button[type=submit]")
        body = page.inner_text("body")
        assert TEXTS[language]["japanese"] in body
        assert page.input_value("#id_message") == PITCH  # the text kept
        page.screenshot(path=shots / f"wagtail-refused-{language}-{width}.png", full_page=True)
        assert fits(page)
        if language == "ja":
            assert english_on(body) == []

        call_command("formguard", "close", "--form", "inquiry")
        response = page.goto(f"{live_server.url}/inquiry/")
        assert response.status == 503
        page.screenshot(path=shots / f"wagtail-closed-{language}-{width}.png", full_page=True)
        assert fits(page)
        if language == "ja":
            assert english_on(page.inner_text("body")) == []
        assert FormSubmission.objects.count() == 0
    finally:
        context.close()
