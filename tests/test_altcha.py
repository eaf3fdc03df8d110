"""The self-hosted proof-of-work captcha (ALTCHA) through the demo, with the demo's own settings.

Challenges come from the form's URL, solutions are found with the ``altcha``
library (what the browser's widget does, in Python), and verified locally.
"""

import base64
import json

import altcha
import pytest
import time_machine
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings
from django.utils import timezone

from formguard import policies
from formguard.captcha import get_provider
from formguard.captcha.altcha import Altcha
from formguard.models import FormPolicy, Incident, Reason

pytestmark = pytest.mark.django_db

IP = "198.51.100.7"
CHALLENGE = "/contact/?formguard=altcha-challenge"


@pytest.fixture(autouse=True)
def demo_settings():
    """The demo's settings as shipped: ALTCHA, no keys to register, nothing outside."""
    assert settings.DEMO_FORMGUARD["CAPTCHA"]["PROVIDER"] == "altcha"
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD):
        yield


def easy(form_key="contact", difficulty=20):
    """A small difficulty keeps solving in Python quick; the protocol is the same."""
    policies.ensure_row(form_key)
    FormPolicy.objects.filter(form_key=form_key).update(captcha_difficulty=difficulty)
    policies.invalidate()


def fetch_challenge(client, path=CHALLENGE, ip=IP, **headers):
    response = client.get(path, REMOTE_ADDR=ip, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    return altcha.Challenge.from_dict(response.json())


def solve(client, path=CHALLENGE, ip=IP, **headers) -> str:
    challenge = fetch_challenge(client, path, ip, **headers)
    return altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()


def post(client, data, token=None, ip=IP, path="/contact/", **headers):
    body = dict(data)
    if token is not None:
        body["altcha"] = token
    return client.post(path, body, REMOTE_ADDR=ip, **headers)


def assert_refused_with_input_kept(response, data, text="captcha"):
    assert response.status_code == 200
    page = response.content.decode()
    assert text in page
    assert data["message"] in page and data["name"] in page
    assert "<altcha-widget" in page  # and a fresh widget to try again


def test_the_demo_form_shows_the_widget_from_static_files_with_no_keys(client):
    page = client.get("/contact/", REMOTE_ADDR=IP).content.decode()
    assert '<altcha-widget class="fg-captcha" name="altcha" challenge="/contact/?formguard=altcha-challenge"' in page
    assert 'src="/static/formguard/widgets.js"' in page
    assert 'data-fg-altcha="/static/formguard/vendor/altcha/altcha.min.js"' in page
    assert 'src="https://' not in page and 'href="https://' not in page.split("<body>")[0]  # nothing from a CDN
    assert "<script>" not in page
    assert settings.DEMO_FORMGUARD["CAPTCHA"]["SECRET_KEY"] not in page


def test_solved_challenge_sends_the_mail(client, contact_data, mailoutbox):
    easy()
    assert post(client, contact_data, solve(client)).status_code == 302
    assert len(mailoutbox) == 1
    assert not Incident.objects.exists()


def test_no_solution_is_refused_with_the_input_kept(client, contact_data, mailoutbox):
    assert_refused_with_input_kept(post(client, contact_data), contact_data, "Please complete the captcha")
    assert_refused_with_input_kept(post(client, contact_data, ""), contact_data, "Please complete the captcha")
    assert mailoutbox == []
    assert Incident.objects.get().reason == Reason.CAPTCHA


def _tampered(token: str, change) -> str:
    payload = json.loads(base64.b64decode(token))
    change(payload)
    return base64.b64encode(json.dumps(payload).encode()).decode()


def test_forged_solutions_are_refused(client, contact_data, mailoutbox):
    easy()
    good = solve(client)

    def easier(p):  # a prefix any key starts with, for the next challenge's solution
        p["challenge"]["parameters"]["keyPrefix"] = ""
        p["challenge"]["parameters"].pop("keySignature")

    def wrong_key(p):
        p["solution"]["derivedKey"] = "00" * 32

    def unsigned(p):
        p["challenge"].pop("signature")

    other_key = altcha.create_challenge("PBKDF2/SHA-256", 1000, counter=3, hmac_secret="x" * 64)
    signed_elsewhere = altcha.Payload(other_key, altcha.solve_challenge(other_key)).to_base64()
    widget_test_mode = base64.b64encode(b'{"challenge": null, "solution": null, "test": true}').decode()
    for n, forged in enumerate(
        (
            _tampered(good, easier),
            _tampered(good, wrong_key),
            _tampered(good, unsigned),
            signed_elsewhere,
            widget_test_mode,
            "bm90IGpzb24=",
            "!!!",
        )
    ):
        # Each forger types its own address (3 messages per address a day).
        data = {**contact_data, "email": f"forger{n}@example.jp"}
        response = post(client, data, forged, ip=f"198.51.100.{100 + n}")
        assert_refused_with_input_kept(response, data, "The captcha answer was not accepted")
    assert mailoutbox == []
    reasons = {tuple(i.detail.get("error_codes", ())) for i in Incident.objects.all()}
    assert reasons == {("invalid-input-response",)}
    # The genuine solution still works: forgeries of it did not use it up.
    assert post(client, contact_data, good).status_code == 302


def test_expired_solution_is_refused(client, contact_data, mailoutbox):
    easy()
    token = solve(client)
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=301)):
        response = post(client, contact_data, token)
    assert_refused_with_input_kept(response, contact_data, "expired or was already used")
    assert mailoutbox == []


def test_a_solution_is_good_once(client, contact_data, mailoutbox):
    easy()
    token = solve(client)
    assert post(client, contact_data, token).status_code == 302
    assert_refused_with_input_kept(post(client, contact_data, token), contact_data, "expired or was already used")

    # Changing what the signature does not cover (the solving time) does not make it new.
    def retimed(p):
        p["solution"]["time"] = 1234

    again = post(client, contact_data, _tampered(token, retimed))
    assert_refused_with_input_kept(again, contact_data, "expired or was already used")
    assert len(mailoutbox) == 1


def test_a_challenge_is_for_its_own_form(client, contact_data):
    easy("fn")
    token = solve(client, path="/t/fn-form/?formguard=altcha-challenge")
    response = post(client, contact_data, token)
    assert_refused_with_input_kept(response, contact_data, "The captcha answer was not accepted")
    assert Incident.objects.get().detail["error_codes"] == ["action-mismatch"]


def test_difficulty_is_the_policy_value(client):
    easy(difficulty=400)
    counters = [altcha.solve_challenge(fetch_challenge(client)).counter for _ in range(5)]
    assert all(1 <= c <= 400 for c in counters), counters
    FormPolicy.objects.filter(form_key="contact").update(captcha_difficulty=None)
    FormPolicy.objects.filter(form_key="*").update(captcha_difficulty=None)
    policies.invalidate()
    assert policies.get_policy("contact").captcha_difficulty == 2000  # the shipped default


def test_the_counter_is_drawn_over_the_whole_range(client):
    """No counter to start from saves a solver work: the lower half is drawn as often as the upper.

    (Drawn between half and all of the difficulty, a bot that started counting
    at half did about a third of a browser's tries.)
    """
    easy(difficulty=20)
    counters = [altcha.solve_challenge(fetch_challenge(client)).counter for _ in range(60)]
    assert all(1 <= c <= 20 for c in counters), counters
    # Uniform over 1..20: 9 in 20 fall below 10, 27 of 60 on average (fewer than 12: p < 1e-4).
    assert sum(c < 10 for c in counters) >= 12, counters
    # The expected work is difficulty / 2 tries (10.5 here; 15 when drawn from the upper half).
    assert 8 <= sum(counters) / len(counters) <= 13, counters


def test_no_challenge_for_a_client_the_pipeline_refuses(client, admin_client):
    from formguard import rules

    rules.add_rule(IP, reason="test")
    response = client.get(CHALLENGE, REMOTE_ADDR=IP)
    assert response.status_code == 403
    assert "parameters" not in response.content.decode()


def test_verification_makes_no_outside_call(client, contact_data, monkeypatch):
    easy()
    token = solve(client)

    def no_network(*args, **kwargs):
        raise AssertionError("the self-hosted captcha called out")

    monkeypatch.setattr("socket.socket.connect", no_network)
    assert post(client, contact_data, token).status_code == 302


def test_key_checks():
    def ids():
        return {m.id for m in run_checks()}

    base = {"CAPTCHA": {"PROVIDER": "altcha"}}
    with override_settings(FORMGUARD=base):
        assert "formguard.E013" in ids()
        assert get_provider() is None
    with override_settings(FORMGUARD={"CAPTCHA": {"PROVIDER": "altcha", "SECRET_KEY": "short"}}):
        assert "formguard.E014" in ids()
    with override_settings(FORMGUARD={"CAPTCHA": {"PROVIDER": "altcha", "SECRET_KEY": "a" * 64}}):
        assert "formguard.E014" in ids()
    with override_settings(
        FORMGUARD={"CAPTCHA": {"PROVIDER": "altcha", "SECRET_KEY": "9f2c41d7e0b3a8655c1e7f90d2a4b6c8"}}
    ):
        found = ids()
        assert "formguard.E013" not in found and "formguard.E014" not in found and "formguard.E009" not in found
        assert isinstance(get_provider(), Altcha)
        assert "9f2c41d7" not in repr(get_provider())
