"""What a person sees, in a real browser: Debian's chromium driven by Playwright."""

import os
import shutil
from datetime import timedelta

import django
import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from formguard.testing import trap_fields

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


def log_in(page, live_server, next_path, wait_for):
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url(wait_for)


def a_person_later(seconds=8):
    """The seconds a person takes to read and type, without sleeping: the
    site's clock (formguard's time trap) moves on, the browser's does not matter."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


def test_visitor_sends_an_inquiry(live_server, page):
    page.goto(f"{live_server.url}/contact/")
    assert page.locator("h1").inner_text() == "お問い合わせ"
    fill_contact(page)
    with a_person_later():
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
    row = page.locator("tr", has=page.get_by_role("link", name="contact", exact=True))
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
        with a_person_later():
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
        for n in range(12):
            spam = {"name": "x", "email": f"a{n}@example.jp", "message": "spam", **trap_fields("contact")}
            visitor.post("/contact/", spam, REMOTE_ADDR=ip)
    shots = os.environ.get("FORMGUARD_SCREENSHOTS") or str(tmp_path)
    backgrounds = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme, locale="ja-JP", viewport={"width": 1200, "height": 900})
        page = context.new_page()
        try:
            log_in(page, live_server, "/admin/formguard/incident/dashboard/", "**/dashboard/")
            assert page.locator(".fg-chart svg rect").count() > 0
            assert page.locator("#fg-week-total").inner_text() == "21"  # 7 refusals of each of 3 IPs
            assert page.locator("#fg-top-ips code").first.inner_text() in ("114.114.114.114", "8.8.8.8", "240e::/64")
            backgrounds[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
            page.screenshot(path=os.path.join(shots, f"dashboard-{scheme}.png"), full_page=True)
        finally:
            context.close()
    assert backgrounds["light"] != backgrounds["dark"]


# An over-eager autofill, as browsers and password managers behave: every
# text field (visible or not, autocomplete="off" or not) whose name, id,
# autocomplete, placeholder or label mentions a piece of the profile gets it.
# Keys from the reports of honeypots filled by autofill: django-honeypot #37
# (zip_code), lemmy #2595 and npm/newww #694 (honeypot, honey), company,
# website and url fields (identity and address profiles).
AUTOFILL = """(profile) => {
  const filled = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]):not([type=submit]), textarea")) {
    const label = el.labels && el.labels.length ? el.labels[0].textContent : "";
    const hay = [el.name, el.id, el.getAttribute("autocomplete") || "", el.placeholder || "", label]
      .join(" ").toLowerCase();
    for (const [key, value] of Object.entries(profile)) {
      if (hay.includes(key)) {
        el.value = value;
        el.dispatchEvent(new Event("input", {bubbles: true}));
        el.dispatchEvent(new Event("change", {bubbles: true}));
        filled.push(el.name);
        break;
      }
    }
  }
  return filled;
}"""
PROFILE = {
    "name": "山田 太郎",
    "email": "taro@example.jp",
    "mail": "taro@example.jp",
    "url": "https://taro.example.jp/",
    "website": "https://taro.example.jp/",
    "homepage": "https://taro.example.jp/",
    "company": "山田商事",
    "tel": "03-1234-5678",
    "phone": "03-1234-5678",
    "zip": "100-0001",
    "postal": "100-0001",
    "address": "東京都千代田区千代田1-1",
    "honey": "x",
    "氏名": "山田 太郎",
    "名前": "山田 太郎",
    "住所": "東京都千代田区千代田1-1",
    "電話": "03-1234-5678",
}


def test_a_person_with_autofill_data_types_japanese_and_gets_the_thanks_page(live_server, page):
    page.goto(f"{live_server.url}/contact/")
    # The honeypot is there for bots, but out of a person's sight, tab order
    # and screen reader: three text boxes, the consent box, then the button.
    trap = page.locator("input[name=fg_blank]")
    assert trap.count() == 1
    box = trap.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0  # the external stylesheet moved it off screen
    assert page.get_by_role("textbox").count() == 3
    page.focus("#id_name")
    order = ["name"]
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.name || document.activeElement.tagName"))
    assert order == ["name", "email", "message", "news", "BUTTON"]

    # Autofill fills what it recognises; the honeypot's name and label name nothing it knows.
    filled = page.evaluate(AUTOFILL, PROFILE)
    assert filled == ["name", "email"]
    # The same autofill would have filled a honeypot named like those of the reports.
    page.evaluate(
        """() => { for (const name of ["website", "zip_code", "honeypot"]) {
              const i = document.createElement("input"); i.name = "probe_" + name; i.id = name;
              i.setAttribute("autocomplete", "off"); document.body.appendChild(i); } }"""
    )
    assert sorted(page.evaluate(AUTOFILL, PROFILE)) == [
        "email",
        "name",
        "probe_honeypot",
        "probe_website",
        "probe_zip_code",
    ]

    page.click("#id_message")
    page.keyboard.type("はじめまして。商品の在庫と、お届けまでの日数を教えてください。")
    assert trap.input_value() == ""
    with a_person_later(20):
        page.click("button[type=submit]")
        page.wait_for_url("**/contact/thanks/")
    assert len(mail.outbox) == 1
    assert "お届けまでの日数" in mail.outbox[0].body


@pytest.mark.skipif(django.VERSION < (6, 0), reason="Django's built-in Content-Security-Policy arrived in 6.0")
def test_traps_work_under_djangos_content_security_policy_without_unsafe_inline(page, settings):
    from django.utils.csp import CSP
    from pytest_django.live_server_helper import LiveServer

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.csp.ContentSecurityPolicyMiddleware"]
    settings.SECURE_CSP = {"default-src": [CSP.SELF], "form-action": [CSP.SELF]}
    # A server of its own: the shared live server built its middleware before this policy.
    live_server = LiveServer("localhost")
    live_server._live_server_modified_settings.enable()
    try:
        _send_under_csp(live_server, page)
    finally:
        page.context.close()  # its keep-alive connections end before the server does
        live_server._live_server_modified_settings.disable()
        live_server.stop()


def _send_under_csp(live_server, page):
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(
        """window.__violations = [];
           document.addEventListener("securitypolicyviolation",
             (e) => window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline")));"""
    )
    response = page.goto(f"{live_server.url}/contact/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    box = page.locator("input[name=fg_blank]").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0  # formguard.css loaded under the policy
    fill_contact(page)
    with a_person_later():
        page.click("button[type=submit]")
        page.wait_for_url("**/contact/thanks/")
    assert len(mail.outbox) == 1
    assert page.evaluate("window.__violations") == []
    assert not [m for m in console if "Content Security Policy" in m]
    # The listener does catch a violation: an inline style is one under this policy.
    page.evaluate(
        "() => { const s = document.createElement('style'); s.textContent = 'h1{}'; document.head.appendChild(s); }"
    )
    page.wait_for_function("window.__violations.length > 0")
    assert any(m for m in console if "Content Security Policy" in m)


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots_of_the_form_and_its_errors(live_server, browser, tmp_path, language, width):
    shots = os.environ.get("FORMGUARD_SCREENSHOTS") or str(tmp_path)
    context = browser.new_context(
        locale=language, extra_http_headers={"Accept-Language": language}, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/contact/")
        page.screenshot(path=os.path.join(shots, f"contact-{language}-{width}.png"), full_page=True)
        page.fill("#id_name", "SEO Expert")
        page.fill("#id_email", "seo@example.com")
        page.fill("#id_message", "We can bring your website to the first page of Google within 30 days.")
        with a_person_later():
            page.click("button[type=submit]")
            page.wait_for_load_state()
        expected = (
            "お問い合わせ内容は日本語でご記入ください。"
            if language == "ja"
            else "Please write your message in Japanese."
        )
        assert expected in page.locator(".errorlist").inner_text()
        # Shown at the message (the demo renders a field's errors just before it).
        assert expected in page.evaluate("document.querySelector('#id_message').previousElementSibling.textContent")
        assert page.input_value("#id_message").startswith("We can bring")
        page.screenshot(path=os.path.join(shots, f"contact-refused-{language}-{width}.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("language", ["ja", "en"])
def test_screenshots_of_the_admin_pages(live_server, browser, admin_user, tmp_path, language):
    from django.test import Client

    from formguard.models import FormPolicy

    shots = os.environ.get("FORMGUARD_SCREENSHOTS") or str(tmp_path)
    visitor = Client()
    visitor.get("/contact/")
    bot = {"name": "bot", "email": "bot@example.com", "message": "x", **trap_fields("contact"), "fg_blank": "spam"}
    assert visitor.post("/contact/", bot, REMOTE_ADDR="203.0.113.9").status_code == 302
    context = browser.new_context(
        locale=language, extra_http_headers={"Accept-Language": language}, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    try:
        log_in(page, live_server, "/admin/", "**/admin/")
        row = FormPolicy.objects.get(form_key="contact")
        page.goto(f"{live_server.url}/admin/formguard/formpolicy/{row.pk}/change/")
        page.locator("#id_honeypot_action").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(shots, f"admin-policy-traps-{language}.png"), full_page=True)
        page.goto(f"{live_server.url}/admin/formguard/incident/?caught=fake_success")
        assert page.locator("#result_list tbody tr").count() == 1
        page.screenshot(path=os.path.join(shots, f"admin-caught-{language}.png"), full_page=True)
        page.goto(f"{live_server.url}/admin/formguard/blockrule/inspect/")
        page.screenshot(path=os.path.join(shots, f"admin-diagnosis-{language}.png"), full_page=True)
    finally:
        context.close()
