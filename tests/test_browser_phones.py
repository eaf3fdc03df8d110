"""Pages on a phone, in chromium (issue 23, item 7).

The report page fits a phone and has a print button and a way back; the dashboard's chart
labels can be read; the incident list and the action log do not squeeze a column to a
character a line; "sent too fast" stands at the top of the form; no heading leaves one
character alone on its last line; "about N minutes" is written as "about N days" is.
"""

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from formguard import testing
from tests.test_browser import browser  # noqa: F401 (the fixture)
from tests.test_browser_pages import add_contacts, login, shots_dir

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
CUSTOMER = {"name": "山田 太郎", "email": "taro@example.jp", "message": "閉店時間を教えてください。"}


def phone(browser, **extra):  # noqa: F811
    context = browser.new_context(
        locale="ja-JP",
        extra_http_headers={"Accept-Language": "ja", **extra},
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def records():
    visitor = Client()
    visitor.get("/contact/")
    spam = {"name": "王", "email": "spam@qq.com", "message": "激安商品のご案内です"}
    for _ in range(14):  # sent, rate limited, then a burst ban
        visitor.post("/contact/", spam, REMOTE_ADDR="203.0.113.5")
    call_command("formguard", "ban", "198.51.100.0/24", "--for", "2d", "--reason", "見積もり依頼を装ったスパム")
    call_command("formguard", "allow", "192.0.2.10", "--reason", "本社")


# Characters on each line of an element's text, from the boxes of its characters.
LINE_LENGTHS_JS = """el => {
    const lines = new Map();
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            if (!node.data[i].trim()) continue;
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const top = Math.round(range.getBoundingClientRect().top);
            lines.set(top, (lines.get(top) || 0) + 1);
        }
    }
    return [...lines.entries()].sort((a, b) => a[0] - b[0]).map(e => e[1]);
}"""


def admin_on_a_phone(live_server, browser):  # noqa: F811
    records()
    context, page = phone(browser)
    login(page, live_server.url, "ja")
    return context, page


def test_report_on_a_phone_fits_prints_and_leads_back(live_server, browser, admin_user, tmp_path):  # noqa: F811
    today = timezone.localdate()
    context, page = admin_on_a_phone(live_server, browser)
    try:
        page.goto(f"{live_server.url}/admin/formguard/incident/report/?since={today}&until={today}&format=html")
        page.screenshot(path=str(shots_dir(tmp_path) / "phone-report-ja.png"), full_page=True)
        # Laid out for the phone's width, not a 980 px desktop page shrunk to fit.
        assert page.evaluate("window.innerWidth") <= PHONE["width"] + 1
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        assert page.locator("#fg-report-print").is_visible()
        page.evaluate("window.print = () => { window.fgPrinted = true; }")
        page.click("#fg-report-print")
        assert page.evaluate("window.fgPrinted") is True
        page.click("#fg-report-back")
        page.wait_for_url("**/admin/formguard/incident/dashboard/")
    finally:
        context.close()


def test_dashboard_chart_labels_are_readable_on_a_phone(live_server, browser, admin_user, tmp_path):  # noqa: F811
    context, page = admin_on_a_phone(live_server, browser)
    try:
        page.goto(f"{live_server.url}/admin/formguard/incident/dashboard/")
        page.screenshot(path=str(shots_dir(tmp_path) / "phone-dashboard-ja.png"), full_page=True)
        heights = page.eval_on_selector_all(
            ".fg-chart svg text", "els => els.map(e => e.getBoundingClientRect().height)"
        )
        assert heights and min(heights) >= 9, heights  # they were about 4 px tall
    finally:
        context.close()


def test_incidents_and_action_log_keep_columns_on_a_phone(live_server, browser, admin_user, tmp_path):  # noqa: F811
    """The incident list and the action log: no column squeezed to a character a line."""
    context, page = admin_on_a_phone(live_server, browser)
    try:
        for name, url, columns in (
            ("incidents", "/admin/formguard/incident/", ("country_name", "reason_text", "form_key", "ip")),
            ("action-log", "/admin/formguard/actionlog/", ("action", "target_text", "by")),
        ):
            page.goto(live_server.url + url)
            page.screenshot(path=str(shots_dir(tmp_path) / f"phone-{name}-ja.png"), full_page=True)
            for column in columns:
                for lengths in page.eval_on_selector_all(
                    f"#result_list td.field-{column}", f"els => els.map({LINE_LENGTHS_JS})"
                ):
                    # A character or two a line is a squeezed column; a long text may wrap once.
                    assert len(lengths) == 1 or (len(lengths) == 2 and lengths[0] >= 4), (name, column, lengths)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, name
    finally:
        context.close()


def visitor_on_a_phone(live_server, browser, settings):  # noqa: F811
    from formguard import policies
    from formguard.models import FormPolicy

    settings.FORMGUARD = {**settings.FORMGUARD, "TRUSTED_PROXIES": ["127.0.0.1"]}
    add_contacts()
    Client().get("/contact/")
    # "Too fast" below ten minutes: a loaded machine's slow click is still too fast.
    FormPolicy.objects.filter(form_key="*").update(captcha_required=False, time_trap_min=600)
    policies.invalidate()
    context, page = phone(browser, **{"X-Forwarded-For": "133.11.0.1"})
    page.goto(f"{live_server.url}/contact/")
    page.fill("#id_name", CUSTOMER["name"])
    page.fill("#id_email", CUSTOMER["email"])
    page.fill("#id_message", CUSTOMER["message"])
    return context, page


def test_sent_too_fast_stands_at_the_top_of_the_form(live_server, browser, settings, tmp_path):  # noqa: F811
    context, page = visitor_on_a_phone(live_server, browser, settings)
    try:
        page.click("button[type=submit]")  # at once: the time trap
        page.wait_for_selector(".errorlist")
        page.screenshot(path=str(shots_dir(tmp_path) / "phone-too-fast-ja.png"), full_page=True)
        error = page.locator(".errorlist", has_text="早すぎ")
        assert error.count() == 1
        assert error.bounding_box()["y"] < page.locator("#id_name").bounding_box()["y"]
        assert page.input_value("#id_message") == CUSTOMER["message"]
    finally:
        context.close()


def test_no_heading_leaves_a_character_alone(live_server, browser, settings, tmp_path):  # noqa: F811
    context, page = visitor_on_a_phone(live_server, browser, settings)
    try:
        call_command("formguard", "close", "--form", "contact", "--for", "2h")
        page.click("button[type=submit]")
        page.wait_for_selector("#fg-closed")
        page.screenshot(path=str(shots_dir(tmp_path) / "phone-closed-ja.png"), full_page=True)
        for lengths in page.eval_on_selector_all("h1, h2", f"els => els.map({LINE_LENGTHS_JS})"):
            assert lengths[-1] >= 2, lengths  # 「メッセージは送信されていませ」 / 「ん」
    finally:
        context.close()


def test_about_minutes_is_written_as_about_a_day(client, settings):
    from formguard import policies
    from formguard.models import FormPolicy

    client.get("/contact/")
    FormPolicy.objects.filter(form_key="*").update(captcha_required=False, rate_limit="1/10m")
    policies.invalidate()
    data = {**CUSTOMER, **testing.trap_fields("contact")}
    assert client.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="ja").status_code == 302
    refused = client.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="ja")
    assert refused.status_code == 429
    page = refused.content.decode()
    # As 「約1日」 on the ban page: no spaces between 約, the number and its unit.
    assert "約 " not in page and " 分後" not in page, page
    assert "分後にもう一度お試しください" in page
