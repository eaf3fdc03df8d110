"""A form closed, or the visitor banned, while the visitor types (issue 23, item 1).

In chromium, with the demo's self-hosted captcha: the widget fetches its
challenge only when 送信する is pressed, and that fetch is refused (503 closed,
403 banned). The visitor must still get formguard's page — the reopening time
or the ban, the other contacts — with everything typed, not an error beside the
button and a lost text.
"""

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from tests.test_browser import a_person_later, browser, fill_contact, page  # noqa: F401 (fixtures)
from tests.test_browser_altcha import shots_dir

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPED = "棚の在庫について、来週までに20個そろうか教えてください。"


@pytest.fixture(autouse=True)
def _demo_settings():
    """The demo's own FORMGUARD settings, captcha included (tests/settings.py switches it off)."""
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD):
        yield


@pytest.mark.parametrize(
    ("switch", "heading", "said"),
    [
        (("close", "--form", "contact", "--for", "30m"), "#fg-closed", "再開する予定"),
        (("ban", "127.0.0.1", "--for", "1h"), "#fg-blocked", "ブロック"),
    ],
    ids=["closed", "banned"],
)
def test_the_visitor_gets_formguards_page_with_the_typed_text(live_server, page, tmp_path, switch, heading, said):  # noqa: F811
    from formguard.models import AlternativeContact

    AlternativeContact.objects.create(country="", kind="phone", value="03-1234-5678")
    page.goto(f"{live_server.url}/contact/")
    page.locator("altcha-widget input[type=checkbox]").wait_for()
    fill_contact(page, message=TYPED)
    call_command("formguard", *switch)  # while the visitor types
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    with a_person_later():
        page.click("button[type=submit]")
        page.locator(heading).wait_for()
        page.wait_for_load_state()
    text = page.locator("body").inner_text()
    assert posts == [f"{live_server.url}/contact/"]
    assert "03-1234-5678" in text and said in text, text
    # What was typed is on the page, to copy (in boxes, as the visitor wrote it).
    assert TYPED in page.content() and "taro@example.jp" in page.content()
    assert "認証に失敗しました" not in text
    assert not mail.outbox
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=shots_dir(tmp_path) / f"typing-{switch[0]}-ja-{width}.png", full_page=True)
