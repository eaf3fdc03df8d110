# ruff: noqa: F811 (the browser fixture, imported from test_browser, is an argument)
"""Reply hints and contact channels as a visitor sees them, in chromium (Playwright).

Screenshots go to ``FORMGUARD_SCREENSHOTS`` when set (else the test's tmp
dir): Japanese and English, 1280 and 390 px wide.
"""

import os

import pytest
from django.core.files.base import ContentFile

from tests.test_browser import browser  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
# What a careful site sends: no inline script. (Inline styles are allowed only
# because the demo's own base template has a <style> block; formguard's
# parts use neither, see test_reply_hints.)
CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; object-src 'none'"


@pytest.fixture
def shots(tmp_path):
    path = os.environ.get("FORMGUARD_SCREENSHOTS") or str(tmp_path)
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture
def cn_contacts(settings, tmp_path):
    from formguard.models import AlternativeContact

    settings.MEDIA_ROOT = tmp_path / "media"
    wechat = AlternativeContact(country="CN", kind="wechat", value="example_shop", text_zh="扫码关注我们的公众号")
    wechat.qr_image.save("wechat-qr.png", ContentFile(_qr_png()), save=False)
    wechat.save()
    AlternativeContact.objects.create(country="CN", kind="qq", value="10000")
    AlternativeContact.objects.create(country="CN", kind="phone", value="+81-3-1234-5678", hours="10:00–18:00 JST")


def _qr_png():
    """A visible 21×21 black-and-white grid (a QR-code look-alike), scaled up: a real PNG."""
    import struct
    import zlib

    size, scale = 21, 8
    rows = []
    for y in range(size * scale):
        row = bytearray([0])
        for x in range(size * scale):
            cx, cy = x // scale, y // scale
            finder = any(
                ox <= cx < ox + 7
                and oy <= cy < oy + 7
                and (cx - ox in (0, 6) or cy - oy in (0, 6) or 2 <= cx - ox <= 4 and 2 <= cy - oy <= 4)
                for ox, oy in ((0, 0), (14, 0), (0, 14))
            )
            dark = finder or (cx * 7 + cy * 13) % 5 == 0 and not (cx < 8 and cy < 8)
            row.append(0 if dark else 255)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size * scale, size * scale, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _context(browser, language, width, *, javascript=True, headers=None):
    accept = {"ja": "ja", "en": "en", "zh": "zh-CN,zh;q=0.9"}[language]
    return browser.new_context(
        locale={"ja": "ja-JP", "en": "en-US", "zh": "zh-CN"}[language],
        viewport={"width": width, "height": 900},
        java_script_enabled=javascript,
        extra_http_headers={"Accept-Language": accept, **(headers or {})},
    )


def _with_csp(page):
    """Serve every page with a strict Content-Security-Policy, as a careful site would."""

    violations = []

    def add_csp(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})
        violations.append("(served with CSP)")

    page.route("**/contact/**", add_csp)
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    return violations


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_hint_appears_as_the_visitor_leaves_the_email_field(live_server, browser, cn_contacts, shots, language):
    for width in WIDTHS:
        context = _context(browser, language, width)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            violations = _with_csp(page)
            page.goto(f"{live_server.url}/contact/")
            slot = page.locator("[data-fg-hint-slot]")
            assert slot.inner_text() == ""

            page.fill("#id_email", "taro@docomo.ne.jp")
            page.press("#id_email", "Tab")
            hint = slot.locator(".fg-reply-hint-carrier")
            hint.wait_for()
            assert slot.locator(".fg-reply-domain").inner_text() == "example.jp"  # the demo shop's domain
            assert slot.locator("[data-fg-carrier-name]").inner_text() == (
                "ドコモ" if language == "ja" else "NTT docomo"
            )
            assert slot.locator("a[data-fg-carrier-link]").get_attribute("href") == (
                "https://www.docomo.ne.jp/info/spam_mail/domain/"
            )
            assert ("指定受信設定" in hint.inner_text()) == (language == "ja")
            page.screenshot(path=os.path.join(shots, f"reply-hint-carrier-{language}-{width}.png"), full_page=True)

            page.fill("#id_email", "li@qq.com")
            page.press("#id_email", "Tab")
            china = slot.locator(".fg-reply-hint-china")
            china.wait_for()
            assert slot.locator(".fg-reply-hint-carrier").count() == 0
            assert china.locator("[data-fg-channel=wechat]").inner_text().count("example_shop") == 1
            assert china.locator("a[href^='https://wpa.qq.com/msgrd?v=3&uin=10000']").count() == 1
            assert china.locator("img.fg-contact-qr").evaluate("img => img.complete && img.naturalWidth") == 168
            page.screenshot(path=os.path.join(shots, f"reply-hint-china-{language}-{width}.png"), full_page=True)

            page.fill("#id_email", "taro@example.jp")
            page.press("#id_email", "Tab")
            page.wait_for_function("document.querySelector('[data-fg-hint-slot]').childElementCount === 0")
            assert slot.inner_text() == ""
            assert violations == ["(served with CSP)"]
        finally:
            context.close()


@pytest.mark.parametrize(
    ("address", "expected"),
    [("taro@docomo.ne.jp", "carrier"), ("li@qq.com", "china"), ("taro@example.jp", None)],
)
def test_the_thanks_page_shows_the_hint_without_javascript(live_server, browser, cn_contacts, shots, address, expected):
    for language in ("ja", "en"):
        for width in WIDTHS:
            context = _context(browser, language, width, javascript=False)
            page = context.new_page()
            page.set_default_timeout(15_000)
            try:
                page.goto(f"{live_server.url}/contact/")
                page.fill("#id_name", "山田 太郎")
                page.fill("#id_email", address)
                page.fill("#id_message", "商品の在庫について教えてください。")
                page.click("button[type=submit]")
                page.wait_for_url("**/contact/thanks/")
                hints = page.locator(".fg-reply-hint")
                if expected is None:
                    assert hints.count() == 0
                    continue
                assert hints.count() == 1
                assert page.locator(f".fg-reply-hint-{expected}").is_visible()
                if expected == "carrier":
                    assert page.locator(".fg-reply-domain").inner_text() == "example.jp"
                    assert (
                        page.locator("a[data-fg-carrier-link]")
                        .get_attribute("href")
                        .startswith("https://www.docomo.ne.jp/")
                    )
                else:
                    assert page.locator("[data-fg-channel=wechat]").count() == 1
                    assert page.locator("a[href^='https://wpa.qq.com/msgrd?v=3&uin=10000']").count() == 1
                page.screenshot(path=os.path.join(shots, f"thanks-{expected}-{language}-{width}.png"), full_page=True)
            finally:
                context.close()


def test_the_form_with_errors_shows_the_hint_without_javascript(live_server, browser, shots):
    context = _context(browser, "ja", 390, javascript=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/contact/")
        page.fill("#id_email", "hanako@i.softbank.jp")
        page.fill("#id_message", "在庫はありますか。")
        page.click("button[type=submit]")  # no name: the form comes back
        page.wait_for_load_state()
        assert page.locator(".errorlist").count() >= 1
        assert page.input_value("#id_message") == "在庫はありますか。"
        hint = page.locator("[data-fg-hint-slot] .fg-reply-hint-carrier")
        assert "ソフトバンク" in hint.inner_text()
        page.screenshot(path=os.path.join(shots, "form-errors-carrier-ja-390.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("language", ["zh", "ja", "en"])
def test_each_channel_renders_on_the_hidden_page_for_a_cn_visitor(
    live_server, browser, cn_contacts, settings, shots, language
):
    """With the demo's GeoLite2 database, behind a proxy that names the client (as test_browser does)."""
    from formguard import policies
    from formguard.models import FormPolicy

    settings.FORMGUARD = {**settings.FORMGUARD, "TRUSTED_PROXIES": ["127.0.0.1"]}
    FormPolicy.objects.update_or_create(
        form_key="*",
        defaults={"enabled": True, "monitor_only": False, "country_mode": "hide", "allowed_countries": "JP"},
    )
    policies.invalidate()
    labels = {
        "zh": ("微信公众号", "QQ", "电话", "服务时间：10:00–18:00 JST"),
        "ja": ("WeChat 公式アカウント", "QQ", "電話番号", "受付時間：10:00–18:00 JST"),
        "en": ("WeChat official account", "QQ", "Telephone", "Hours: 10:00–18:00 JST"),
    }[language]
    for width in WIDTHS:
        context = _context(browser, language, width, headers={"X-Forwarded-For": "114.114.114.114"})
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            response = page.goto(f"{live_server.url}/contact/")
            assert response.status == 200
            assert page.locator("#contact-form").count() == 0
            wechat = page.locator("[data-fg-channel=wechat]")
            assert wechat.locator(".fg-contact-label").inner_text() == labels[0]
            assert "example_shop" in wechat.inner_text()
            qr = wechat.locator("img.fg-contact-qr")
            assert qr.get_attribute("src").startswith("/media/formguard/contacts/wechat-qr")
            qr.scroll_into_view_if_needed()
            page.wait_for_function("document.querySelector('img.fg-contact-qr').complete")
            assert qr.evaluate("img => img.naturalWidth") == 168  # the uploaded image, served
            qq = page.locator("[data-fg-channel=qq]")
            assert qq.locator(".fg-contact-label").inner_text() == labels[1]
            assert qq.locator("a").get_attribute("href") == "https://wpa.qq.com/msgrd?v=3&uin=10000&site=qq&menu=yes"
            phone = page.locator("[data-fg-channel=phone]")
            assert phone.locator(".fg-contact-label").inner_text() == labels[2]
            assert phone.locator("a").get_attribute("href") == "tel:+81312345678"
            assert labels[3] in phone.inner_text()
            # Tencent's channels first, for China.
            assert page.locator(".fg-contact").evaluate_all("items => items.map(i => i.dataset.fgChannel)") == [
                "wechat",
                "qq",
                "phone",
            ]
            page.screenshot(path=os.path.join(shots, f"hidden-channels-{language}-{width}.png"), full_page=True)
        finally:
            context.close()
