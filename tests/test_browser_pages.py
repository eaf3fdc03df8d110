"""Every page of the issue, as a person sees it: admin and visitor pages, Japanese and
English, 1280 px and a 390 px phone. Screenshots are saved (FORMGUARD_SCREENSHOTS, else
the test's tmp dir) and looked at; the tests assert what a person would check."""

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.test_browser import a_person_later, browser  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
SPAMMER = "203.0.113.5"
CUSTOMER = {
    "name": "山田 太郎",
    "email": "taro@example.jp",
    "message": "閉店時間を教えてください。\n土曜日も営業していますか？",
}

# Texts that were shown raw or in English on Japanese pages, besides the msgids.
RAW = ["auto_banned", "block (", "allow (", "burst:", "rule(s)", "POSTs within", " UTC", "Unknown"]
FIELD_NAMES = {"message", "email"}
PLACEHOLDER_RE = re.compile(r"%\(\w+\)[sdr]|%[sd]|\{\{.*?\}\}|\\n")


def english_fragments():
    """Texts of every msgid of formguard and the demo that Japanese pages must not show."""
    fragments = set()
    for po in (ROOT / "formguard/locale/ja/LC_MESSAGES/django.po", ROOT / "project/locale/ja/LC_MESSAGES/django.po"):
        text = po.read_text(encoding="utf-8")
        for msgid, msgstr in re.findall(r'^msgid "(.+)"\n(?:msgid_plural ".*"\n)?msgstr(?:\[0\])? "(.*)"$', text, re.M):
            for part in PLACEHOLDER_RE.split(msgid):
                part = part.strip(" .,:;()“”\"'—-")
                # Words a Japanese text also uses (JSON, GeoIP, CSV, IP) are not English left over.
                if len(part) >= 4 and re.search(r"[a-z]{3}", part) and part not in msgstr:
                    fragments.add(part)
    return fragments


FRAGMENTS = None


def english_on(text):
    global FRAGMENTS
    if FRAGMENTS is None:
        FRAGMENTS = english_fragments()
    # A word inside an address a visitor typed (spam@example.com) is not a text left untranslated.
    found = [f for f in FRAGMENTS if re.search(r"(?<![A-Za-z@./])" + re.escape(f) + r"(?![A-Za-z@])", text)]
    return found + [raw for raw in RAW if raw in text]


def shots_dir(tmp_path):
    path = Path(os.environ.get("FORMGUARD_SCREENSHOTS") or tmp_path / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def fits(page, inner=None):
    """No sideways scrolling: nothing cut off at this width (nor in the scrolling box ``inner``)."""
    if (
        inner
        and page.locator(inner).count()
        and not page.eval_on_selector(inner, "e => e.scrollWidth <= e.clientWidth + 1")
    ):
        return False
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


LINES_JS = """els => els.map(e => {
    const range = document.createRange();
    range.selectNodeContents(e);
    return new Set([...range.getClientRects()].map(r => Math.round(r.bottom))).size;
})"""


def most_lines(page, selector):
    """The most lines the text of any element of ``selector`` wraps onto."""
    return max(page.eval_on_selector_all(selector, LINES_JS), default=0)


def add_contacts():
    """A phone and mail for everyone, WeChat for visitors from China."""
    from formguard.models import AlternativeContact

    AlternativeContact.objects.create(
        text_ja="お電話：03-1234-5678（平日 10時〜18時）\nメール：info@example.jp",
        text_en="Phone: +81-3-1234-5678 (weekdays 10:00-18:00)\nEmail: info@example.jp",
    )
    AlternativeContact.objects.create(
        country="CN",
        text_zh="微信公众号：example_shop",
        text_ja="WeChat 公式アカウント：example_shop",
        text_en="WeChat: example_shop",
    )


def set_up_records():
    from formguard import policies
    from formguard.models import FormPolicy

    add_contacts()
    visitor = Client()
    visitor.get("/contact/")
    spam = {"name": "王", "email": "spam@qq.com", "message": "激安商品のご案内です"}
    for _ in range(14):  # 5 sent, 5 rate limited, then a burst ban
        visitor.post("/contact/", spam, REMOTE_ADDR=SPAMMER)
    call_command("formguard", "ban", "198.51.100.0/24", "--for", "2d", "--reason", "見積もり依頼を装ったスパム")
    call_command("formguard", "allow", "192.0.2.10", "--reason", "本社")
    FormPolicy.objects.filter(form_key="*").update(captcha_required=False)
    policies.invalidate()


def login(page, url, lang):
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


LANGS = {"ja": ("ja-JP", "ja"), "en": ("en-US", "en")}
WIDTHS = {"wide": 1280, "phone": 390}


def new_page(browser, lang, width):  # noqa: F811
    """A browser context in ``lang`` at ``width``, and its page."""
    locale, accept = LANGS[lang]
    context = browser.new_context(
        locale=locale, extra_http_headers={"Accept-Language": accept}, viewport={"width": WIDTHS[width], "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LANGS)
def test_admin_pages(live_server, browser, admin_user, tmp_path, lang, width):  # noqa: F811
    from formguard.models import FormPolicy, Incident

    set_up_records()
    call_command("formguard", "close", "--for", "1h")  # the site-wide switch: every row must say so
    contact = FormPolicy.objects.get(form_key="contact")
    site = FormPolicy.objects.get(form_key="*")
    incident = Incident.objects.filter(reason="burst").first() or Incident.objects.first()
    today = timezone.localdate()
    pages = {
        "app": "/admin/formguard/",
        "policies": "/admin/formguard/formpolicy/",
        "policy-contact": f"/admin/formguard/formpolicy/{contact.pk}/change/",
        "policy-site": f"/admin/formguard/formpolicy/{site.pk}/change/",
        "rules": "/admin/formguard/blockrule/",
        "incidents": "/admin/formguard/incident/",
        "incident": f"/admin/formguard/incident/{incident.pk}/change/",
        "action-log": "/admin/formguard/actionlog/",
        "contacts": "/admin/formguard/alternativecontact/",
        "dashboard": "/admin/formguard/incident/dashboard/",
        "inspect": f"/admin/formguard/blockrule/inspect/?ip={SPAMMER}",
        "report": f"/admin/formguard/incident/report/?since={today}&until={today}&format=html",
    }
    context, page = new_page(browser, lang, width)
    shots = shots_dir(tmp_path)
    problems = []
    try:
        login(page, live_server.url, lang)
        for name, url in pages.items():
            response = page.goto(live_server.url + url)
            assert response.status == 200, (name, response.status)
            page.screenshot(path=str(shots / f"admin-{name}-{lang}-{width}.png"), full_page=True)
            text = page.inner_text("body")
            if lang == "ja" and name != "report":
                # The form's field names ("message", "email") are identifiers the
                # policy names, as the form key is, not English left over.
                leftover = [f for f in english_on(text) if f not in FIELD_NAMES]
                if leftover:
                    problems.append((name, sorted(leftover)))
            # Cut off at 1280 px (the list's table scrolled sideways); on a phone
            # the admin's own tables scroll, the page itself must not.
            inner = "#changelist .results" if width == "wide" else None
            if name != "report" and not fits(page, inner):
                problems.append((name, "wider than the window"))
            if name == "policies":
                closed = "停止中（サイト全体の停止による）" if lang == "ja" else "CLOSED by the site-wide switch"
                assert closed in text
                states = " ".join(page.locator("#result_list td.field-state").all_inner_texts())
                assert ("受付中" if lang == "ja" else "open") not in states
                if width == "wide":
                    assert most_lines(page, "#result_list td.field-state") == 1
            if name == "policy-contact":
                inherited = (
                    "サイト全体の設定に従う（現在: 5回/10分）"
                    if lang == "ja"
                    else "Follows the site-wide setting (now: 5 per 10 minutes)"
                )
                assert page.get_attribute("#id_rate_limit", "placeholder") == inherited
                assert "不明" not in text and "Unknown" not in text
            if name == "policy-site":
                assert page.input_value("#id_ban_max") == ("30日" if lang == "ja" else "30 days")
                assert page.locator(".deletelink").count() == 0
            if name == "rules":
                # ブラックリスト in the 種類 column, on one line (it wrapped a character a line).
                assert most_lines(page, "#result_list td.field-kind") == 1
            if name in ("app", "policies", "dashboard"):
                assert page.locator("a[href$='/admin/formguard/blockrule/inspect/']").count() >= 1, name
            if name == "incident":
                assert page.locator("table.fg-detail").count() >= 1
                assert "{" not in page.inner_text(".field-detail_table")
            if name == "action-log":
                assert ("自動" if lang == "ja" else "automatic") in text
                assert ("コマンドライン" if lang == "ja" else "command line") in text
            if name == "inspect":
                assert ("自動" if lang == "ja" else "automatic") in text
                assert "captcha" not in text.lower() or "with the captcha" not in text
    finally:
        context.close()
    assert problems == [], problems


def visitor_context(browser, lang, width, ip):  # noqa: F811
    locale, accept = LANGS[lang]
    context = browser.new_context(
        locale=locale,
        extra_http_headers={"Accept-Language": accept, "X-Forwarded-For": ip},
        viewport={"width": WIDTHS[width], "height": 900},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def fill(page, message=CUSTOMER["message"]):
    page.fill("#id_name", CUSTOMER["name"])
    page.fill("#id_email", CUSTOMER["email"])
    page.fill("#id_message", message)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LANGS)
def test_visitor_pages(live_server, browser, settings, tmp_path, lang, width):  # noqa: F811
    from formguard import policies
    from formguard.models import FormPolicy

    settings.FORMGUARD = {**settings.FORMGUARD, "TRUSTED_PROXIES": ["127.0.0.1"]}
    add_contacts()
    Client().get("/contact/")
    FormPolicy.objects.filter(form_key="*").update(captcha_required=False, rate_limit="1/h", burst_count=50)
    policies.invalidate()
    shots = shots_dir(tmp_path)
    seen = {}

    def look(page, name, status, response):
        assert response.status == status, (name, response.status)
        page.screenshot(path=str(shots / f"visitor-{name}-{lang}-{width}.png"), full_page=True)
        text = page.inner_text("body")
        seen[name] = text
        # Not a dead end: the shop's header with a way back, and another way to reach the shop.
        assert page.locator("header a[href='/']").count() >= 1, name
        assert "info@example.jp" in text or "example_shop" in text, name
        assert fits(page), name
        if lang == "ja":
            assert english_on(text) == [], (name, english_on(text))
        return text

    # 503: the form closes while a customer writes.
    context, page = visitor_context(browser, lang, width, "133.11.0.1")
    try:
        page.goto(f"{live_server.url}/contact/")
        fill(page)
        call_command("formguard", "close", "--form", "contact", "--for", "2h")
        with page.expect_navigation() as nav:
            page.click("button[type=submit]")
        look(page, "closed", 503, nav.value)
        assert page.input_value("textarea[name=fg-copy-message]") == CUSTOMER["message"]
        assert page.input_value("input[name=fg-copy-name]") == CUSTOMER["name"]
        label = page.inner_text(".fg-submitted label:has(input[name=fg-copy-name])")
        assert label.startswith("お名前" if lang == "ja" else "Name")
        rows = int(page.get_attribute("textarea[name=fg-copy-message]", "rows"))
        assert rows <= 4  # sized to its two lines, not an 8-row box
        call_command("formguard", "open", "--form", "contact")

        # 429: a second message within the hour.
        page.goto(f"{live_server.url}/contact/")
        fill(page, "一通目です。")
        with a_person_later():
            page.click("button[type=submit]")
            page.wait_for_url("**/contact/thanks/")
        page.goto(f"{live_server.url}/contact/")
        fill(page)
        with page.expect_navigation() as nav:
            page.click("button[type=submit]")
        look(page, "rate-limited", 429, nav.value)
        assert page.input_value("textarea[name=fg-copy-message]") == CUSTOMER["message"]
    finally:
        context.close()

    # 403: banned (by mistake: a shared address), with the text kept and how long, roughly.
    context, page = visitor_context(browser, lang, width, "198.51.100.77")
    try:
        page.goto(f"{live_server.url}/contact/")
        fill(page)
        call_command("formguard", "ban", "198.51.100.0/24", "--for", "1d")
        with page.expect_navigation() as nav:
            page.click("button[type=submit]")
        text = look(page, "banned", 403, nav.value)
        assert "Retry-After" not in nav.value.headers
        assert ("約1日" if lang == "ja" else "about 1 day") in text
        assert page.input_value("textarea[name=fg-copy-message]") == CUSTOMER["message"]
    finally:
        context.close()

    # Hidden (200) and country-blocked (403), for a visitor from China and one from Taiwan.
    FormPolicy.objects.filter(form_key="*").update(country_mode="hide", allowed_countries="JP", rate_limit="5/10m")
    policies.invalidate()
    context, page = visitor_context(browser, lang, width, "114.114.114.114")
    try:
        text = look(page, "hidden", 200, page.goto(f"{live_server.url}/contact/"))
        assert page.locator("#contact-form").count() == 0
        assert "我们的咨询表格" in text and "example_shop" in text
    finally:
        context.close()
    context, page = visitor_context(browser, lang, width, "203.69.0.1")  # Taiwan (HiNet)
    try:
        text = look(page, "hidden-taiwan", 200, page.goto(f"{live_server.url}/contact/"))
        assert "我們的諮詢表格" in text and "我们的咨询表格" not in text
    finally:
        context.close()
    FormPolicy.objects.filter(form_key="*").update(country_mode="block")
    policies.invalidate()
    context, page = visitor_context(browser, lang, width, "133.11.0.1")
    try:
        page.goto(f"{live_server.url}/contact/")
        fill(page)
        page.set_extra_http_headers({"Accept-Language": LANGS[lang][1], "X-Forwarded-For": "114.114.114.114"})
        with page.expect_navigation() as nav:
            page.click("button[type=submit]")
        look(page, "country-blocked", 403, nav.value)
        assert page.input_value("textarea[name=fg-copy-message]") == CUSTOMER["message"]
    finally:
        context.close()
