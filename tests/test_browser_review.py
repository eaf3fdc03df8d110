"""The review inbox as the owner sees it (issue 22): Japanese and English, 1280 px and a 390 px phone.

Held messages newest first with why they were held and what was sent, one-click
buttons that work in the browser (release sends the mail once), no English left
on the Japanese pages, nothing wider than the window. Screenshots are saved
(FORMGUARD_SCREENSHOTS, else the test's tmp dir) and looked at.
"""

import itertools

import pytest
from django.core import mail
from django.test import Client

from formguard import policies
from formguard.models import FormPolicy, Label, Submission
from formguard.testing import trap_fields
from formguard.traps import HONEYPOT_FIELD
from tests.test_browser import browser  # noqa: F401 (the fixture)
from tests.test_browser_pages import FIELD_NAMES, LANGS, WIDTHS, english_on, fits, login, new_page, shots_dir

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_ips = (f"198.51.100.{n}" for n in itertools.count(1))
CUSTOMER = {
    "name": "山田 太郎",
    "email": "taro@example.jp",
    "message": "閉店時間を教えてください。\n土曜日も営業していますか？",
}
ENGLISH = {
    "name": "Jane Smith",
    "email": "jane@example.com",
    "message": "Hello, I bought a teapot last week and the lid is cracked. Could you send a replacement?",
}


def held_messages():
    policies.ensure_row("contact")
    FormPolicy.objects.filter(form_key="contact").update(
        honeypot_action="fake_success", links_action="hold", max_links=0, japanese_action="off"
    )
    policies.invalidate()
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.post(
        "/contact/", {**CUSTOMER, **trap_fields("contact", age=30), HONEYPOT_FIELD: "x"}, REMOTE_ADDR=next(_ips)
    )
    pitch = {**CUSTOMER, "name": "営業 花子", "message": "貴社の集客を支援します。詳しくは https://sales.example"}
    client.post("/contact/", {**pitch, **trap_fields("contact", age=40)}, REMOTE_ADDR=next(_ips))
    client.post("/contact/", {**ENGLISH, **trap_fields("contact", age=50), HONEYPOT_FIELD: "x"}, REMOTE_ADDR=next(_ips))
    assert Submission.objects.count() == 3
    mail.outbox.clear()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LANGS)
def test_the_review_inbox_in_the_browser(live_server, browser, admin_user, tmp_path, lang, width):  # noqa: F811
    held_messages()
    context, page = new_page(browser, lang, width)
    shots = shots_dir(tmp_path)
    try:
        login(page, live_server.url, lang)
        page.goto(live_server.url + "/admin/formguard/")
        assert "3" in page.inner_text("#fg-held-link")
        page.goto(live_server.url + "/admin/formguard/submission/")
        page.screenshot(path=str(shots / f"review-inbox-{lang}-{width}.png"), full_page=True)
        text = page.inner_text("body")
        if lang == "ja":
            assert [f for f in english_on(text) if f not in FIELD_NAMES] == []
            assert "公開（送信）" in text and "破棄" in text and "迷惑" in text and "営業" in text and "お客様" in text
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 3
        # Newest first: the English customer, then the pitch, then the first one.
        assert "teapot" in rows.nth(0).inner_text() and "集客" in rows.nth(1).inner_text()
        assert fits(page, "#changelist .results" if width == "wide" else None)

        # Label the pitch 営業, release the English customer: one click each.
        rows.nth(1).locator("button.fg-label-sales").click()
        page.wait_for_load_state()
        assert Submission.objects.get(label=Label.SALES).value("name") == "営業 花子"
        page.locator("#result_list tbody tr").nth(0).locator("button.fg-release").click()
        page.wait_for_load_state()
        assert len(mail.outbox) == 1 and "teapot" in mail.outbox[0].body
        assert page.locator("#result_list tbody tr").count() == 2  # the inbox shows what is still held
        page.screenshot(path=str(shots / f"review-after-release-{lang}-{width}.png"), full_page=True)

        held = Submission.objects.filter(status="held").last()  # the first one, the honeypot
        page.goto(f"{live_server.url}/admin/formguard/submission/{held.pk}/change/")
        page.screenshot(path=str(shots / f"review-message-{lang}-{width}.png"), full_page=True)
        text = page.inner_text("body")
        assert CUSTOMER["message"].split("\n")[0] in text
        if lang == "ja":
            assert [f for f in english_on(text) if f not in FIELD_NAMES] == []
        assert fits(page)
        page.locator("button.fg-discard").click()
        page.wait_for_load_state()
        held.refresh_from_db()
        assert held.status == "discarded" and len(mail.outbox) == 1
    finally:
        context.close()
