"""The README's and the docs' small things, as a developer meets them (issue 23, item 8).

Settings snippets that run as written, a W004 hint that names the captcha needing no
keys, formguard's field valid inside ``{{ form.as_p }}``'s <p>, no empty label for it,
the quick start's recipe for seeing every refusal page from one browser, and refusal
pages whose look survives a Content-Security-Policy without 'unsafe-inline'.
"""

import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import override_settings

from formguard import checks, contacts, policies, testing
from formguard.models import SITE_WIDE, AlternativeContact, FormPolicy

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, re.S)


def test_the_captcha_settings_snippets_run_as_written(monkeypatch):
    monkeypatch.setenv("FORMGUARD_CAPTCHA_SECRET_KEY", "k" * 64)
    monkeypatch.setenv("RECAPTCHA_SECRET", "secret")
    snippets = [b for b in _python_blocks((ROOT / "docs" / "captcha.md").read_text()) if "FORMGUARD = {" in b]
    assert len(snippets) >= 2
    for snippet in snippets:
        namespace: dict = {}
        exec(compile(snippet, "docs/captcha.md", "exec"), namespace)  # a settings.py of its own
        assert namespace["FORMGUARD"]["CAPTCHA"]["PROVIDER"]


def test_w004_hint_names_the_captcha_that_needs_no_keys(settings):
    with override_settings(FORMGUARD={k: v for k, v in settings.FORMGUARD.items() if k != "CAPTCHA"}):
        found = checks.check_captcha_deploy()
    assert [m.id for m in found] == ["formguard.W004"]
    assert "'altcha'" in found[0].hint and "no keys" in found[0].hint


class _BlockInParagraph(HTMLParser):
    """Notes a block element the HTML parser would move out of an open <p>."""

    BLOCKS = {"div", "section", "ul", "ol", "table", "form", "h1", "h2", "h3", "fieldset", "p"}

    def __init__(self):
        super().__init__()
        self.in_p = 0
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.in_p and tag in self.BLOCKS:
            self.found.append(f"<{tag} {dict(attrs)}>")
        if tag == "p":
            self.in_p += 1

    def handle_endtag(self, tag):
        if tag == "p" and self.in_p:
            self.in_p -= 1


def test_as_p_keeps_formguards_field_inside_its_p(client):
    page = client.get("/t/fn-form/").content.decode()  # {{ form.as_p }}
    assert "fg-trap" in page
    parser = _BlockInParagraph()
    parser.feed(page)
    assert parser.found == [], parser.found


def test_the_demo_renders_no_empty_label(client):
    page = client.get("/contact/").content.decode()
    assert 'for="id_formguard"' not in page
    assert not re.search(r"<label[^>]*>\s*</label>", page), page


def test_the_quick_start_shows_every_refusal_page_from_one_browser(client, settings, capsys):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**Every page a refused visitor meets, from one browser**") :]
    commands = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip().splitlines()
    browser = {"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "ja"}
    call_command("demo_admin")
    contacts.invalidate()
    client.get("/contact/", **browser)
    pages = {}
    for line in commands:
        command, comment = line.split("#", 1)
        args = shlex.split(command)
        assert args[:3] == ["python", "manage.py", "formguard"], line
        call_command(*args[2:])
        response = client.get("/contact/", **browser)
        pages[args[3]] = (response.status_code, response.content.decode())
        undo = re.search(r"undo: (formguard [^)]+)\)", comment).group(1)
        call_command(*shlex.split(undo))
        assert client.get("/contact/", **browser).status_code == 200, undo
    assert pages["close"][0] == 503 and 'id="fg-closed"' in pages["close"][1]
    assert pages["ban"][0] == 403 and 'id="fg-blocked"' in pages["ban"][1]
    assert all('href="tel:0300000000"' in page for _status, page in pages.values())

    # "send the form six times within ten minutes (five per address are allowed)".
    assert "six times within ten minutes" in section
    statuses = []
    for n in range(6):
        # Six people's addresses: one address's own limit (3 a day) would ask for the captcha first.
        data = {"name": "山田", "email": f"taro{n}@example.jp", "message": "在庫について質問です。"}
        statuses.append(client.post("/contact/", {**data, **testing.trap_fields("contact")}, **browser).status_code)
    assert statuses == [302] * 5 + [429], statuses

    # The China page: the trusted-proxy variable, the site-wide row set to hide, the header.
    assert "FORMGUARD_TRUSTED_PROXIES=127.0.0.1 bash scripts/demo.sh" in section
    curl = re.findall(r"```sh\n(curl .*?)```", section, re.S)[0]
    headers = dict(h.split(": ", 1) for h in re.findall(r"-H '([^']+)'", curl))
    FormPolicy.objects.filter(form_key=SITE_WIDE).update(country_mode="hide", allowed_countries="JP")
    policies.invalidate()
    with override_settings(FORMGUARD={**settings.FORMGUARD, "TRUSTED_PROXIES": ["127.0.0.1"]}):
        china = client.get(
            "/contact/",
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=headers["X-Forwarded-For"],
            HTTP_ACCEPT_LANGUAGE=headers["Accept-Language"],
        )
    page = china.content.decode()
    assert china.status_code == 200 and 'id="fg-hidden"' in page and "我们的咨询表格" in page
    assert 'data-fg-channel="wechat"' in page
    assert AlternativeContact.objects.filter(country="CN").exists()


@pytest.mark.parametrize("base_template", ["contact/base.html", None])
def test_refusal_pages_carry_no_inline_style(client, settings, base_template):
    formguard = {**settings.FORMGUARD, "BASE_TEMPLATE": base_template}
    if base_template is None:
        del formguard["BASE_TEMPLATE"]
    from formguard import refusal

    refusal.forget_pages()
    with override_settings(FORMGUARD=formguard):
        call_command("formguard", "close", "--form", "contact", "--create")
        page = client.post("/contact/", {"name": "山田", "message": "問い合わせ"}).content.decode()
    refusal.forget_pages()
    assert 'id="fg-closed"' in page and "fg-submitted" in page
    assert "<style" not in page and " style=" not in page, page
    sheets = re.findall(r'<link rel="stylesheet" href="/static/([^"]+)"', page)
    assert "formguard/pages.css" in sheets
    for sheet in sheets:
        assert finders.find(sheet), sheet
    if base_template is None:
        assert "formguard/base.css" in sheets
