"""Captcha verification against a real local HTTP server standing in for the provider."""

import logging
import time

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from formguard.models import FormPolicy, Incident, Reason
from formguard.testing import trap_fields
from tests.captcha_server import SiteverifyServer

pytestmark = pytest.mark.django_db

SITE_KEY = "site-key-for-tests"
SECRET = "s3cret-for-tests-do-not-log"


@pytest.fixture(scope="module")
def provider_server():
    server = SiteverifyServer()
    yield server
    server.close()


@pytest.fixture
def verify(provider_server):
    """Settings pointing formguard at the local provider; returns the server."""
    provider_server.requests.clear()
    provider_server.seen_tokens.clear()
    provider_server.seen_idempotency.clear()
    with override_settings(FORMGUARD=captcha_settings(provider_server)):
        yield provider_server


def captcha_settings(server, **captcha):
    config = {"PROVIDER": "recaptcha_v2", "SITE_KEY": SITE_KEY, "SECRET_KEY": SECRET, "VERIFY_URL": server.url}
    config.update(captcha)
    return {"CAPTCHA": config}


def post(client, data, token, field="g-recaptcha-response", ip="198.51.100.50", path="/contact/"):
    return client.post(path, {**data, field: token}, REMOTE_ADDR=ip)


def test_accepted_token_sends_the_mail(verify, client, contact_data, mailoutbox):
    response = post(client, contact_data, "ok-1")
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    sent = verify.requests[-1]
    assert sent == {"secret": SECRET, "response": "ok-1", "remoteip": "198.51.100.50"}
    assert not Incident.objects.exists()


def test_rejected_token_gives_the_form_back_with_the_message_kept(verify, client, contact_data, mailoutbox):
    response = post(client, contact_data, "bad")
    assert response.status_code == 200
    page = response.content.decode()
    assert "The captcha answer was not accepted" in page
    assert contact_data["message"] in page  # the textarea keeps what was typed
    assert contact_data["name"] in page
    assert mailoutbox == []
    incident = Incident.objects.get()
    assert incident.reason == Reason.CAPTCHA
    assert incident.detail["error_codes"] == ["invalid-input-response"]


def test_rejected_token_in_japanese(verify, client, contact_data):
    response = client.post("/contact/", {**contact_data, "g-recaptcha-response": "bad"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert "CAPTCHA の回答を確認できませんでした" in response.content.decode()


def test_form_shows_the_widget(verify, client):
    page = client.get("/contact/").content.decode()
    assert f'class="g-recaptcha fg-captcha" data-sitekey="{SITE_KEY}"' in page
    assert "https://www.google.com/recaptcha/api.js" in page
    assert SECRET not in page


def test_script_host_for_visitors_in_china(provider_server, client):
    with override_settings(FORMGUARD=captcha_settings(provider_server, SCRIPT_HOST="https://www.recaptcha.net")):
        page = client.get("/contact/").content.decode()
    assert "https://www.recaptcha.net/recaptcha/api.js" in page
    assert "www.google.com" not in page


@pytest.mark.parametrize(
    ("token", "passes", "message"),
    [
        ("v3:0.9:contact", True, ""),
        ("v3:0.1:contact", False, "could not confirm that you are not a robot"),
        ("v3:0.9:login", False, "not accepted"),
    ],
)
def test_recaptcha_v3_score_and_action(provider_server, client, contact_data, mailoutbox, token, passes, message):
    with override_settings(FORMGUARD=captcha_settings(provider_server, PROVIDER="recaptcha_v3")):
        response = post(client, contact_data, token)
    assert (response.status_code == 302) is passes
    assert (len(mailoutbox) == 1) is passes
    if not passes:
        assert message in response.content.decode()


def test_v3_threshold_is_the_policys(provider_server, client, contact_data):
    client.get("/contact/")
    FormPolicy.objects.filter(form_key="contact").update(captcha_min_score=0.05)
    from formguard import policies

    policies.invalidate()
    with override_settings(FORMGUARD=captcha_settings(provider_server, PROVIDER="recaptcha_v3")):
        assert post(client, contact_data, "v3:0.1:contact").status_code == 302


def test_v3_widget_executes_with_the_form_key_as_action(provider_server, client):
    with override_settings(FORMGUARD=captcha_settings(provider_server, PROVIDER="recaptcha_v3")):
        page = client.get("/contact/").content.decode()
    assert f"api.js?render={SITE_KEY}" in page
    assert 'data-fg-widget="recaptcha-v3"' in page
    assert 'data-action="contact"' in page
    assert "<script>" not in page  # the bootstrap is static/formguard/widgets.js


def test_turnstile_checks_the_action_like_recaptcha_v3(provider_server, client, contact_data, mailoutbox):
    with override_settings(FORMGUARD=captcha_settings(provider_server, PROVIDER="turnstile")):
        page = client.get("/contact/").content.decode()
        assert 'class="cf-turnstile fg-captcha" data-sitekey="site-key-for-tests" data-action="contact"' in page
        other_form = post(client, contact_data, "v3:0.9:newsletter", field="cf-turnstile-response")
        assert other_form.status_code == 200
        assert post(client, contact_data, "v3:0.9:contact", field="cf-turnstile-response").status_code == 302
    assert len(mailoutbox) == 1
    assert Incident.objects.get().detail["error_codes"] == ["action-mismatch"]


def test_wrong_hostname_is_refused_and_configured_hostnames_accepted(provider_server, client, contact_data):
    with override_settings(FORMGUARD=captcha_settings(provider_server)):
        assert post(client, contact_data, "wronghost").status_code == 200
    with override_settings(FORMGUARD=captcha_settings(provider_server, HOSTNAMES=["evil.example"])):
        assert post(client, contact_data, "wronghost-2", ip="198.51.100.51").status_code == 302


def test_a_token_is_good_once(verify, client, contact_data, mailoutbox):
    assert post(client, contact_data, "dup-1").status_code == 302
    again = post(client, contact_data, "dup-1")
    assert again.status_code == 200
    assert "expired or was already used" in again.content.decode()
    assert len(verify.requests) == 1  # refused here, without asking the provider again
    assert len(mailoutbox) == 1


def test_provider_side_duplicate_is_refused(verify, client, contact_data):
    # Another process already spent it at the provider.
    verify.seen_tokens.add("dup-2")
    response = post(client, contact_data, "dup-2")
    assert "expired or was already used" in response.content.decode()


@pytest.mark.parametrize("token", ["http500", "html", "garbage", "list", "stringtrue", "one", "nosuccess", "nohost"])
def test_broken_answers_are_never_a_pass(verify, client, contact_data, mailoutbox, token):
    response = post(client, contact_data, token)
    assert response.status_code == 200
    assert mailoutbox == []
    assert Incident.objects.get().reason == Reason.CAPTCHA


def test_http_429_fails_closed_even_when_unavailable_means_open(provider_server, client, contact_data, mailoutbox):
    with override_settings(FORMGUARD=captcha_settings(provider_server, ON_UNAVAILABLE="open")):
        response = post(client, contact_data, "http429")
    assert response.status_code == 200
    assert "cannot check the captcha right now" in response.content.decode()
    assert mailoutbox == []


def test_invalid_secret_fails_closed_and_the_secret_is_never_logged(provider_server, client, contact_data, caplog):
    with (
        override_settings(FORMGUARD=captcha_settings(provider_server, SECRET_KEY="bad-secret")),
        caplog.at_level(logging.DEBUG),
    ):
        response = post(client, contact_data, "ok-2")
    assert response.status_code == 200
    assert "invalid-input-secret" in caplog.text
    assert "bad-secret" not in caplog.text
    assert "bad-secret" not in str(Incident.objects.get().detail)


@pytest.mark.parametrize("token", ["", "x" * 2049, "トークン", "tok\nen"])
def test_malformed_tokens_are_refused_before_any_call(verify, client, contact_data, token):
    response = post(client, contact_data, token)
    assert response.status_code == 200
    assert verify.requests == []


def test_old_token_is_refused(verify, client, contact_data):
    assert post(client, contact_data, "old").status_code == 200


def test_remote_ip_can_be_kept_from_the_provider(provider_server, client, contact_data):
    provider_server.requests.clear()
    with override_settings(FORMGUARD=captcha_settings(provider_server, SEND_REMOTE_IP=False)):
        assert post(client, contact_data, "ok-3").status_code == 302
    assert "remoteip" not in provider_server.requests[-1]


@override_settings(FORMGUARD={"TRUSTED_PROXIES": ["10.0.0.0/8"]})
def test_remote_ip_is_the_resolved_client_never_a_raw_header(provider_server, client, contact_data):
    provider_server.requests.clear()
    settings = {**captcha_settings(provider_server), "TRUSTED_PROXIES": ["10.0.0.0/8"]}
    with override_settings(FORMGUARD=settings):
        client.post(
            "/contact/",
            {**contact_data, "g-recaptcha-response": "ok-4"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.44",
        )
    assert provider_server.requests[-1]["remoteip"] == "203.0.113.44"


def test_stalled_provider_fail_open_answers_within_the_timeout(provider_server, client, contact_data, mailoutbox):
    with override_settings(FORMGUARD=captcha_settings(provider_server, TIMEOUT=1.0, ON_UNAVAILABLE="open")):
        start = time.monotonic()
        response = post(client, contact_data, "stall")
        elapsed = time.monotonic() - start
    assert elapsed < 3
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    incident = Incident.objects.get()
    assert incident.reason == Reason.CAPTCHA_UNAVAILABLE
    assert incident.detail["error_codes"] == ["timeout"]


def test_stalled_provider_fail_closed_keeps_the_form(provider_server, client, contact_data, mailoutbox):
    with override_settings(FORMGUARD=captcha_settings(provider_server, TIMEOUT=1.0, ON_UNAVAILABLE="closed")):
        start = time.monotonic()
        response = post(client, contact_data, "stall")
        elapsed = time.monotonic() - start
    assert elapsed < 3
    assert response.status_code == 200
    page = response.content.decode()
    assert "did not answer" in page and contact_data["message"] in page
    assert mailoutbox == []


@pytest.mark.parametrize("token", ["trickle-body", "trickle-head"])
@pytest.mark.parametrize("fail_mode", ["open", "closed"])
def test_a_trickling_provider_is_cut_off_at_the_timeout(
    provider_server, client, contact_data, mailoutbox, fail_mode, token
):
    # A few bytes every 0.25 s for 10 s: requests' per-read timeout alone never fires.
    with override_settings(FORMGUARD=captcha_settings(provider_server, TIMEOUT=1.5, ON_UNAVAILABLE=fail_mode)):
        start = time.monotonic()
        response = post(client, contact_data, token)
        elapsed = time.monotonic() - start
    assert 1.0 <= elapsed <= 2.0, elapsed
    incident = Incident.objects.get()
    assert incident.reason == Reason.CAPTCHA_UNAVAILABLE
    assert incident.detail["error_codes"] == ["timeout"]
    if fail_mode == "open":
        assert response.status_code == 302 and len(mailoutbox) == 1
    else:
        assert response.status_code == 200 and mailoutbox == []
        assert contact_data["message"] in response.content.decode()


def test_connection_refused_is_transient(client, contact_data, mailoutbox):
    settings = {"CAPTCHA": {"SITE_KEY": SITE_KEY, "SECRET_KEY": SECRET, "VERIFY_URL": "http://127.0.0.1:9/siteverify"}}
    with override_settings(FORMGUARD=settings):
        assert post(client, contact_data, "ok-5").status_code == 302
    assert Incident.objects.get().detail["error_codes"] == ["connection-error"]


def test_turnstile_retries_with_the_same_idempotency_key(provider_server, client, contact_data, mailoutbox):
    provider_server.requests.clear()
    with override_settings(FORMGUARD=captcha_settings(provider_server, PROVIDER="turnstile")):
        response = post(client, contact_data, "flaky", field="cf-turnstile-response")
    assert response.status_code == 302
    keys = [r["idempotency_key"] for r in provider_server.requests]
    assert len(keys) == 2 and keys[0] == keys[1]


@pytest.mark.parametrize(
    ("provider", "field", "css_class", "script"),
    [
        ("hcaptcha", "h-captcha-response", "h-captcha", "https://js.hcaptcha.com/1/api.js"),
        ("turnstile", "cf-turnstile-response", "cf-turnstile", "https://challenges.cloudflare.com/turnstile/v0/api.js"),
        ("recaptcha_v2_invisible", "g-recaptcha-response", "g-recaptcha", "https://www.google.com/recaptcha/api.js"),
    ],
)
def test_switching_provider_is_a_settings_change(
    provider_server, client, contact_data, mailoutbox, provider, field, css_class, script
):
    with override_settings(FORMGUARD=captcha_settings(provider_server, PROVIDER=provider)):
        page = client.get("/contact/").content.decode()
        assert f'class="{css_class} fg-captcha"' in page and script in page
        assert post(client, contact_data, "ok-6", field=field).status_code == 302
        assert post(client, contact_data, "bad", field=field).status_code == 200
    assert len(mailoutbox) == 1


def test_test_hostname_passes_only_in_debug(verify, client, contact_data, settings):
    settings.DEBUG = False
    assert post(client, contact_data, "testkey").status_code == 200
    settings.DEBUG = True
    assert post(client, contact_data, "testkey-2", ip="198.51.100.52").status_code == 302


def test_captcha_off_in_the_policy_skips_verification(verify, client, contact_data):
    client.get("/contact/")
    FormPolicy.objects.filter(form_key="*").update(captcha_required=False)
    from formguard import policies

    policies.invalidate()
    assert client.post("/contact/", contact_data).status_code == 302
    assert verify.requests == []
    assert "g-recaptcha" not in client.get("/contact/").content.decode()


def test_no_keys_means_captcha_off_with_a_notice(client, contact_data, admin_client):
    assert client.post("/contact/", contact_data).status_code == 302
    page = admin_client.get("/admin/formguard/formpolicy/").content.decode()
    assert "Captcha is off" in page


def test_view_without_form_integration_refuses_with_its_own_page(verify, client):
    response = client.post("/t/plain/", {"message": "長い文章", "g-recaptcha-response": "bad"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "not accepted" in page and "長い文章" in page
    assert b"plain view ran" not in response.content


def test_function_view_with_the_form_mixin(verify, client):
    page = client.get("/t/fn-form/").content.decode()
    assert page.count("recaptcha/api.js") == 1  # from the template tag in <head>, not again by the widget
    typed = {"message": "hello", **trap_fields("fn")}
    refused = client.post("/t/fn-form/", {**typed, "g-recaptcha-response": "bad"})
    assert refused.status_code == 200 and "hello" in refused.content.decode()
    accepted = client.post("/t/fn-form/", {**typed, "g-recaptcha-response": "ok-7"})
    assert accepted.status_code == 302


def check_ids(deploy=True):
    return {m.id for m in run_checks(include_deployment_checks=deploy) if m.id.startswith("formguard")}


@pytest.mark.parametrize(
    "keys",
    [
        {
            "PROVIDER": "recaptcha_v2",
            "SITE_KEY": "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI",
            "SECRET_KEY": "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe",
        },
        {
            "PROVIDER": "hcaptcha",
            "SITE_KEY": "10000000-ffff-ffff-ffff-000000000001",
            "SECRET_KEY": "0x0000000000000000000000000000000000000000",
        },
        {
            "PROVIDER": "turnstile",
            "SITE_KEY": "1x00000000000000000000AA",
            "SECRET_KEY": "1x0000000000000000000000000000000AA",
        },
    ],
)
def test_published_test_keys_are_a_deploy_error_without_debug(keys, settings):
    settings.FORMGUARD = {"CAPTCHA": keys}
    settings.DEBUG = False
    assert "formguard.E011" in check_ids()
    settings.DEBUG = True
    assert "formguard.E011" not in check_ids()


def test_captcha_checks(settings):
    settings.FORMGUARD = {}
    assert "formguard.W004" in check_ids()
    assert "formguard.W004" not in check_ids(deploy=False)
    settings.FORMGUARD = {"CAPTCHA": {"SITE_KEY": "x"}}
    assert "formguard.E009" in check_ids(deploy=False)
    settings.FORMGUARD = {"CAPTCHA": {"PROVIDER": "nope", "SITE_KEY": "x", "SECRET_KEY": "y"}}
    assert "formguard.E008" in check_ids(deploy=False)
    settings.FORMGUARD = {"CAPTCHA": {"ON_UNAVAILABLE": "maybe"}}
    assert "formguard.E010" in check_ids(deploy=False)


def test_secret_from_the_environment(monkeypatch, provider_server, client, contact_data):
    monkeypatch.setenv("FORMGUARD_CAPTCHA_SECRET_KEY", "env-secret")
    provider_server.requests.clear()
    settings = {"CAPTCHA": {"SITE_KEY": SITE_KEY, "VERIFY_URL": provider_server.url}}
    with override_settings(FORMGUARD=settings):
        assert post(client, contact_data, "ok-8").status_code == 302
    assert provider_server.requests[-1]["secret"] == "env-secret"


def test_a_view_that_promises_form_errors_but_never_checks_is_logged(verify, client, caplog):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from formguard.decorators import guard_form
    from formguard.middleware import FormGuardMiddleware

    @guard_form("careless", form_errors=True)
    def careless(request):
        return HttpResponse("sent anyway")

    middleware = FormGuardMiddleware(lambda request: careless(request))
    request = RequestFactory().post("/careless/", {"g-recaptcha-response": "bad"})
    request._dont_enforce_csrf_checks = True  # as Django's test client does
    with caplog.at_level(logging.ERROR, logger="formguard.middleware"):
        assert middleware.process_view(request, careless, (), {}) is None
        middleware.process_response(request, careless(request))
    assert "did not check it" in caplog.text


def test_status_shows_captcha_and_geoip(verify, capsys):
    from django.core.management import call_command

    call_command("formguard", "status")
    out = capsys.readouterr().out
    assert "Captcha: reCAPTCHA v2, script from https://www.google.com" in out
    assert "GeoIP: no readable database" in out


def test_a_forged_post_without_csrf_token_never_reaches_the_provider(verify, contact_data, mailoutbox):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/contact/", {**contact_data, "g-recaptcha-response": "ok-csrf"})
    assert response.status_code == 403  # Django's CSRF refusal
    assert verify.requests == []
    assert mailoutbox == []
    # With the token, the same POST is verified once and goes through.
    strict.get("/contact/")
    token = strict.cookies["csrftoken"].value
    accepted = strict.post(
        "/contact/", {**contact_data, "g-recaptcha-response": "ok-csrf2", "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302
    assert len(verify.requests) == 1
