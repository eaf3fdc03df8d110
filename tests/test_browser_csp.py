"""Every captcha widget under a strict Content-Security-Policy, in chromium: no inline
script, no CSP violation in the console, and the message is sent.

Two ways a site sets the policy: Django 6's built-in ``ContentSecurityPolicyMiddleware``
(``SECURE_CSP``) and django-csp 4 with nonces. The reCAPTCHA and Turnstile scripts
cannot load here (no network), so Playwright serves a small stand-in at their real
URLs; verification then goes to the local siteverify server as in test_captcha.py.
"""

import django
import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from tests.captcha_server import SiteverifyServer
from tests.test_browser import a_person_later, browser, fill_contact  # noqa: F401 (fixture)
from tests.test_browser_altcha import shots_dir

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOGLE = "https://www.google.com"
CLOUDFLARE = "https://challenges.cloudflare.com"


def _django_csp():
    if django.VERSION < (6, 0):
        pytest.skip("Django 5.2 has no built-in CSP (ContentSecurityPolicyMiddleware came in Django 6.0)")
    from django.utils.csp import CSP

    policy = {
        "default-src": [CSP.SELF],
        "script-src": [CSP.SELF, GOOGLE, CLOUDFLARE],
        "style-src": [CSP.SELF],
        "img-src": [CSP.SELF],
        "connect-src": [CSP.SELF],
        "worker-src": [CSP.SELF],
        "frame-src": [GOOGLE, CLOUDFLARE],
    }
    return {"MIDDLEWARE": [*settings.MIDDLEWARE, "django.middleware.csp.ContentSecurityPolicyMiddleware"]}, {
        "SECURE_CSP": policy
    }


def _django_csp_nonces():
    pytest.importorskip("csp", reason="django-csp is not installed (requirements.txt pins it)")
    from csp.constants import NONCE, SELF

    policy = {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF, NONCE, GOOGLE, CLOUDFLARE],
            "style-src": [SELF, NONCE],
            "img-src": [SELF],
            "connect-src": [SELF],
            "worker-src": [SELF],
            "frame-src": [GOOGLE, CLOUDFLARE],
        }
    }
    return {"MIDDLEWARE": [*settings.MIDDLEWARE, "csp.middleware.CSPMiddleware"]}, {"CONTENT_SECURITY_POLICY": policy}


@pytest.fixture(params=["django", "django-csp"])
def csp_server(request, transactional_db):
    """A live server started under the policy: middleware is loaded when the server starts."""
    middleware, policy = (_django_csp if request.param == "django" else _django_csp_nonces)()
    with override_settings(**middleware, **policy):
        server = LiveServer("127.0.0.1:0")
        try:
            yield server
        finally:
            server.stop()


# A stand-in for api.js of reCAPTCHA (v2 invisible, v3) and Turnstile: what they
# do to the page, minus Google's and Cloudflare's checks. No inline script, no style.
STAND_IN = """
(function () {
  function field(box, name, value) {
    var input = document.createElement("textarea");
    input.name = name; input.hidden = true; input.value = value || "";
    box.appendChild(input);
    return input;
  }
  window.grecaptcha = {
    ready: function (callback) { callback(); },
    execute: function (siteKey, options) {
      if (options) { return Promise.resolve("v3:0.9:" + options.action); }
      var box = document.querySelector(".g-recaptcha[data-size=invisible]");
      // The response field, made now if the widget's box came after the script.
      (box.querySelector("textarea") || field(box, "g-recaptcha-response")).value = "ok-invisible";
      window[box.dataset.callback]();
    }
  };
  document.querySelectorAll(".g-recaptcha[data-size=invisible]").forEach(function (box) {
    field(box, "g-recaptcha-response");
  });
  document.querySelectorAll(".cf-turnstile").forEach(function (box) {
    field(box, "cf-turnstile-response", "v3:0.9:" + box.dataset.action);
  });
})();
"""


@pytest.fixture
def csp_page(browser):  # noqa: F811
    context = browser.new_context(locale="ja-JP", extra_http_headers={"Accept-Language": "ja"})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console = []
    page.on("console", lambda message: page.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: page.console.append(f"pageerror: {error}"))
    for url in (f"{GOOGLE}/recaptcha/api.js*", f"{CLOUDFLARE}/turnstile/v0/api.js"):
        page.route(url, lambda route: route.fulfill(body=STAND_IN, content_type="text/javascript"))
    yield page
    context.close()


def violations(page):
    return [m for m in page.console if "Content Security Policy" in m or "pageerror" in m]


def _send(page, url, tmp_path, name):
    response = page.goto(url)
    header = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in header
    assert "unsafe-inline" not in header
    fill_contact(page)
    page.screenshot(path=shots_dir(tmp_path) / f"{name}.png", full_page=True)
    try:
        with a_person_later():
            page.click("button[type=submit]")
            page.wait_for_url("**/contact/thanks/")
    except Exception:
        raise AssertionError(f"not sent: {page.console} {page.url}") from None


def test_altcha_under_a_strict_csp(csp_server, csp_page, tmp_path, request):
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD):
        _send(csp_page, f"{csp_server.url}/contact/", tmp_path, f"csp-altcha-{request.node.callspec.id}")
    assert len(mail.outbox) == 1
    assert violations(csp_page) == []


@pytest.mark.parametrize("provider", ["recaptcha_v2_invisible", "recaptcha_v3", "turnstile"])
def test_third_party_widgets_under_a_strict_csp(csp_server, csp_page, tmp_path, provider):
    verify = SiteverifyServer(hostname="127.0.0.1")
    captcha = {"PROVIDER": provider, "SITE_KEY": "site-key", "SECRET_KEY": "secret-key", "VERIFY_URL": verify.url}
    try:
        with override_settings(FORMGUARD={"CAPTCHA": captcha}):
            _send(csp_page, f"{csp_server.url}/contact/", tmp_path, f"csp-{provider}")
    finally:
        verify.close()
    assert len(mail.outbox) == 1
    assert verify.requests[-1]["response"] in ("ok-invisible", "v3:0.9:contact")
    assert violations(csp_page) == []


@pytest.mark.parametrize("provider", ["recaptcha_v2_invisible", "recaptcha_v3"])
def test_submitting_again_keeps_the_pressed_button_and_other_submit_handlers(csp_server, csp_page, provider):
    """form.requestSubmit(submitter), not form.submit(): the site's own submit handler
    runs on the real submission and the server sees which button was pressed."""
    verify = SiteverifyServer(hostname="127.0.0.1")
    captcha = {"PROVIDER": provider, "SITE_KEY": "site-key", "SECRET_KEY": "secret-key", "VERIFY_URL": verify.url}
    page = csp_page
    try:
        with override_settings(FORMGUARD={"CAPTCHA": captcha}):
            page.goto(f"{csp_server.url}/t/two-step/")
            # The site's own handler, added after formguard's (an analytics tag, a "sending…" state).
            page.evaluate(
                "() => document.getElementById('input').addEventListener('submit', function () {"
                " sessionStorage.submits = (+sessionStorage.submits || 0) + 1; })"
            )
            page.fill("#id_name", "山田 太郎")
            page.fill("#id_email", "taro@example.jp")
            page.fill("#id_message", "在庫について教えてください。")
            with a_person_later():
                page.click("button[name=confirm]")
                page.wait_for_selector("h1:text('確認')")
            assert page.evaluate("() => sessionStorage.submits") == "2"  # formguard's pause, then the real one
    finally:
        verify.close()
    assert violations(page) == []
