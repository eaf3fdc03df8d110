"""A fake success, to the bot, is the real success: same answer, same thanks page, same conditions.

A bot that posts the same inquiry twice, once with the honeypot filled, and
compares the answers header by header must learn nothing (issue 19, item 5).
Through the demo's /contact/ and through a site's own views (tests/urls.py),
with Django's CSRF check enforced as a browser meets it.
"""

import itertools
import re

import pytest
from django.conf import settings
from django.test import Client, override_settings

from formguard import incidents
from formguard.middleware import forget_paths
from formguard.models import Incident, Reason
from formguard.testing import captcha_solution, trap_fields
from formguard.traps import HONEYPOT_FIELD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def site_urls(settings):
    # The site's own views (tests/fake_success_urls.py) beside the demo's.
    settings.ROOT_URLCONF = "tests.fake_success_urls"
    forget_paths()
    yield
    forget_paths()


# -- the bot's comparisons -------------------------------------------------------

INQUIRY = {"name": "山田 太郎", "message": "商品の在庫について教えてください。"}
NORMAL = "taro@example.jp"
CARRIER = "taro@docomo.ne.jp"
_ips = (f"198.51.100.{n}" for n in itertools.count(1))


def browser():
    """A client that meets the CSRF check as a browser does, from an address of its own."""
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=next(_ips))


def csrf_token(client, path):
    page = client.get(path).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def submit(path, email, *, honeypot="", with_csrf=True, form_key="contact", extra=None):
    client = browser()
    data = {**INQUIRY, "email": email, **trap_fields(form_key), HONEYPOT_FIELD: honeypot, **(extra or {})}
    if with_csrf:
        data["csrfmiddlewaretoken"] = csrf_token(client, path)
    return client, client.post(path, data)


def cookie_shapes(response):
    """Each cookie's name and attributes; its value and the second it expires legitimately differ."""
    return {name: {k: v for k, v in morsel.items() if k != "expires"} for name, morsel in response.cookies.items()}


def assert_same_answer(real, fake):
    assert fake.status_code == real.status_code
    # Every header, by name and value, in the order they come.
    assert list(fake.headers.items()) == list(real.headers.items())
    assert cookie_shapes(fake) == cookie_shapes(real)


def sent_and_faked(path, email, form_key="contact"):
    real_client, real = submit(path, email, form_key=form_key)
    fake_client, fake = submit(path, email, honeypot="https://bot.example", form_key=form_key)
    return (real_client, real), (fake_client, fake)


@pytest.mark.parametrize("email", [NORMAL, CARRIER])
def test_a_fake_success_answers_with_the_real_successs_status_location_headers_and_cookies(email, mailoutbox):
    (_, real), (_, fake) = sent_and_faked("/contact/", email)
    assert real.status_code == 302 and real["Location"] == "/contact/thanks/"
    assert_same_answer(real, fake)
    # What formguard's refusals carry and the real success does not.
    assert "Cache-Control" not in fake and fake["X-Frame-Options"] == "DENY"
    assert fake["Vary"] == "Accept-Language, Cookie"
    # A carrier address's hint waits in the session for the thanks page.
    assert ("sessionid" in fake.cookies) is (email == CARRIER)
    assert len(mailoutbox) == 1  # the real one only
    incidents.flush_pending()
    caught = Incident.objects.get()
    # Nothing the fake success swallowed is lost: the owner can still answer it.
    assert caught.reason == Reason.HONEYPOT and caught.detail["action"] == "fake_success"
    assert caught.sample["message"] == INQUIRY["message"] and caught.sample["email"] == email


def test_the_thanks_page_after_a_fake_success_is_the_real_one_for_a_normal_and_a_carrier_address():
    for email in (NORMAL, CARRIER):
        (real_client, real), (fake_client, fake) = sent_and_faked("/contact/", email)
        real_thanks = real_client.get(real["Location"])
        fake_thanks = fake_client.get(fake["Location"])
        assert_same_answer(real_thanks, fake_thanks)
        assert fake_thanks.content == real_thanks.content
        # The carrier's reply hint shows after both, or after neither.
        assert ('data-fg-hint="carrier"' in fake_thanks.content.decode()) is (email == CARRIER)


def test_a_honeypot_filled_post_without_a_csrf_token_gets_djangos_csrf_refusal(mailoutbox):
    _, real = submit("/contact/", NORMAL, with_csrf=False)
    _, fake = submit("/contact/", NORMAL, honeypot="https://bot.example", with_csrf=False)
    assert real.status_code == 403 and b"CSRF" in real.content
    assert_same_answer(real, fake)
    assert fake.content == real.content
    assert mailoutbox == []


@override_settings(FORMGUARD=settings.DEMO_FORMGUARD)  # the demo as shipped: the self-hosted captcha
def test_a_honeypot_filled_post_without_a_captcha_solution_gets_the_captcha_error(mailoutbox):
    _, real = submit("/contact/", NORMAL)
    _, fake = submit("/contact/", NORMAL, honeypot="https://bot.example")
    assert real.status_code == 200 and "Please complete the captcha" in real.content.decode()
    assert fake.status_code == 200
    assert fake.context["form"].errors == real.context["form"].errors
    assert list(fake.headers.items()) == list(real.headers.items())
    # Solved, the honeypot's fake success comes, as the real success would.
    _, solved = submit("/contact/", NORMAL, honeypot="x", extra=captcha_solution("contact"))
    assert solved.status_code == 302 and solved["Location"] == "/contact/thanks/"
    assert mailoutbox == []
    incidents.flush_pending()
    caught = sorted((i.reason, i.detail.get("also", []), i.detail.get("action", "")) for i in Incident.objects.all())
    # The bot without a solution is on the record with its honeypot.
    assert caught == [
        (Reason.CAPTCHA, [], ""),
        (Reason.CAPTCHA, [Reason.HONEYPOT], ""),
        (Reason.HONEYPOT, [], "fake_success"),
    ]


def test_an_invalid_form_with_the_honeypot_filled_comes_back_with_its_errors(mailoutbox):
    _, real = submit("/contact/", "not an address")
    _, fake = submit("/contact/", "not an address", honeypot="x")
    assert real.status_code == fake.status_code == 200
    assert fake.context["form"].errors == real.context["form"].errors == {"email": ["Enter a valid email address."]}
    assert mailoutbox == []


@pytest.mark.parametrize("path,form_key", [("/t/site/", "site"), ("/t/site-fn/", "site-fn")])
@pytest.mark.parametrize("email", [NORMAL, CARRIER])
def test_a_sites_own_view_fakes_its_own_success(path, form_key, email, mailoutbox):
    """A FormView whose own form_valid sends (with SuccessMessageMixin's thanks),
    and a function view that notes the inquiry and redirects, as the docs show."""
    (real_client, real), (fake_client, fake) = sent_and_faked(path, email, form_key)
    assert real.status_code == 302 and real["Location"] == "/t/site-thanks/"
    assert_same_answer(real, fake)
    assert len(mailoutbox) == 1
    real_thanks = real_client.get(real["Location"])
    fake_thanks = fake_client.get(fake["Location"])
    assert fake_thanks.content == real_thanks.content
    assert (b"hint: carrier" in fake_thanks.content) is (email == CARRIER)


@pytest.mark.django_db(transaction=True)
def test_over_http_the_raw_answers_differ_only_in_cookie_values_and_the_date(live_server):
    """Over a real HTTP server, the header lines as a bot's HTTP library reads them."""
    import requests

    def raw(honeypot):
        with requests.Session() as session:
            page = session.get(f"{live_server.url}/contact/").text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            data = {**INQUIRY, "email": CARRIER, **trap_fields("contact"), HONEYPOT_FIELD: honeypot}
            data["csrfmiddlewaretoken"] = token
            response = session.post(f"{live_server.url}/contact/", data=data, allow_redirects=False)
            thanks = session.get(f"{live_server.url}{response.headers['Location']}")
        lines = []
        for name, value in response.raw.headers.items():
            if name == "Date":
                continue
            if name == "Set-Cookie":  # the name and attributes; the value and the second it expires differ
                value = re.sub(r"^([^=]+)=[^;]*", r"\1=…", re.sub(r"expires=[^;]+", "expires=…", value))
            lines.append((name, value))
        return response.status_code, lines, thanks.text

    real, fake = raw(""), raw("https://bot.example")
    assert (
        real[0] == 302
        and ("Set-Cookie", "sessionid=…; expires=…; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax") in real[1]
    )
    assert 'data-fg-hint="carrier"' in real[2]
    assert fake == real
