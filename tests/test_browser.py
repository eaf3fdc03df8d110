"""What a person sees, in a real browser: Debian's chromium driven by Playwright."""

import os
import shutil

import pytest
from django.core import mail
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser(monkeypatch):
    if CHROMIUM is None:
        if os.environ.get("FORMGUARD_REQUIRE_SERVICES") == "1":
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the test itself makes are still plain sync calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ja-JP", extra_http_headers={"Accept-Language": "ja"})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def fill_contact(page, message="商品の在庫について教えてください。"):
    page.fill("#id_name", "山田 太郎")
    page.fill("#id_email", "taro@example.jp")
    page.fill("#id_message", message)


def test_visitor_sends_an_inquiry(live_server, page):
    page.goto(f"{live_server.url}/contact/")
    assert page.locator("h1").inner_text() == "お問い合わせ"
    fill_contact(page)
    page.click("button[type=submit]")
    page.wait_for_url("**/contact/thanks/")
    assert page.locator("#thanks").inner_text() == "お問い合わせありがとうございます"
    assert len(mail.outbox) == 1


def test_owner_closes_the_form_in_the_admin_and_the_visitor_sees_it(live_server, page, admin_user, tmp_path):
    page.goto(f"{live_server.url}/contact/")  # creates the form's policy row
    page.goto(f"{live_server.url}/admin/login/?next=/admin/formguard/formpolicy/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/formguard/formpolicy/")
    row = page.locator("tr", has=page.locator("a", has_text="contact"))
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "close_forms_1h")
    page.click("button[name=index]")
    page.wait_for_load_state()
    assert "停止しました" in page.content()

    response = page.goto(f"{live_server.url}/contact/")
    assert response.status == 503
    assert page.locator("#fg-closed").inner_text() == "このフォームは現在停止しています"
    assert "に再開する予定です" in page.content()
    page.screenshot(path=str(tmp_path / "closed.png"))

    # The admin still works while the form is closed.
    assert page.goto(f"{live_server.url}/admin/").status == 200


def test_visitor_keeps_their_message_when_the_form_closes_meanwhile(live_server, page):
    page.goto(f"{live_server.url}/contact/")
    message = "長い問い合わせ文です。\n二行目もあります。"
    fill_contact(page, message)
    call_command("formguard", "close", "--form", "contact", "--for", "2h")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#fg-closed").is_visible()
    assert page.locator("textarea[name=fg-copy-message]").input_value() == message
    assert mail.outbox == []


def test_failed_captcha_shows_the_form_again_with_the_message(live_server, page, settings, mailoutbox):
    from tests.captcha_server import SiteverifyServer

    server = SiteverifyServer(hostname="localhost")
    try:
        settings.FORMGUARD = {
            "CAPTCHA": {
                "SITE_KEY": "site",
                "SECRET_KEY": "secret",
                "VERIFY_URL": server.url,
                "HOSTNAMES": ["localhost"],
            }
        }
        # The provider's script cannot load here; the test plays the widget's
        # part and puts the token in the form.
        page.route("**/recaptcha/api.js", lambda route: route.fulfill(body="", content_type="text/javascript"))
        page.goto(f"{live_server.url}/contact/")
        assert page.locator(".g-recaptcha.fg-captcha").count() == 1
        message = "在庫の確認をお願いします。\n急ぎではありません。"
        fill_contact(page, message)
        page.evaluate(
            """() => { const i = document.createElement('input'); i.type = 'hidden';
                       i.name = 'g-recaptcha-response'; i.value = 'bad';
                       document.querySelector('#contact-form').appendChild(i); }"""
        )
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "CAPTCHA の回答を確認できませんでした" in page.content()
        assert page.input_value("#id_message") == message
        assert page.input_value("#id_name") == "山田 太郎"
        assert mail.outbox == []
    finally:
        server.close()


def test_visitor_from_china_sees_other_ways_to_reach_the_shop(live_server, browser, settings):
    """With the demo's GeoLite2 database, behind a proxy that names the client."""
    from formguard import policies
    from formguard.models import AlternativeContact, FormPolicy

    settings.FORMGUARD = {**settings.FORMGUARD, "TRUSTED_PROXIES": ["127.0.0.1"]}
    FormPolicy.objects.update_or_create(
        form_key="*",
        defaults={"enabled": True, "monitor_only": False, "country_mode": "hide", "allowed_countries": "JP"},
    )
    policies.invalidate()
    AlternativeContact.objects.create(
        country="CN", text_zh="微信公众号：example_shop\nQQ：https://wpa.qq.com/msgrd?v=3&uin=10000", text_ja="WeChat"
    )
    context = browser.new_context(
        locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9", "X-Forwarded-For": "114.114.114.114"}
    )
    page = context.new_page()
    try:
        response = page.goto(f"{live_server.url}/contact/")
        assert response.status == 200
        assert page.locator("#contact-form").count() == 0
        text = page.locator("main").inner_text()
        assert "微信公众号：example_shop" in text
        assert "我们的咨询表格在您所在的国家或地区无法使用" in text
        assert page.locator("a[href^='https://wpa.qq.com/']").count() == 1
    finally:
        context.close()
    japan = browser.new_context(locale="ja-JP", extra_http_headers={"X-Forwarded-For": "133.11.0.1"})
    try:
        page = japan.new_page()
        page.goto(f"{live_server.url}/contact/")
        assert page.locator("#contact-form").count() == 1
    finally:
        japan.close()


def test_dashboard_in_light_and_dark(live_server, browser, admin_user, tmp_path, frozen_clock):
    """The dashboard reads in the admin's light and dark themes."""
    from django.test import Client

    visitor = Client()
    for ip in ("114.114.114.114", "8.8.8.8", "240e::1"):
        for _ in range(12):
            visitor.post("/contact/", {"name": "x", "email": "a@example.jp", "message": "spam"}, REMOTE_ADDR=ip)
    shots = os.environ.get("FORMGUARD_SCREENSHOTS") or str(tmp_path)
    backgrounds = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme, locale="ja-JP", viewport={"width": 1200, "height": 900})
        page = context.new_page()
        try:
            page.goto(f"{live_server.url}/admin/login/?next=/admin/formguard/incident/dashboard/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "password")
            page.click("input[type=submit]")
            page.wait_for_url("**/dashboard/")
            assert page.locator(".fg-chart svg rect").count() > 0
            assert page.locator("#fg-week-total").inner_text() == "21"  # 7 refusals of each of 3 IPs
            assert page.locator("#fg-top-ips code").first.inner_text() in ("114.114.114.114", "8.8.8.8", "240e::/64")
            backgrounds[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
            page.screenshot(path=os.path.join(shots, f"dashboard-{scheme}.png"), full_page=True)
        finally:
            context.close()
    assert backgrounds["light"] != backgrounds["dark"]
