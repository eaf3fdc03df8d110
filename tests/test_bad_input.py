"""Bad input gets a clear answer and never a 500."""

import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.captcha_server import SiteverifyServer

pytestmark = pytest.mark.django_db

BROKEN_MULTIPART = b'--xyz\r\nContent-Disposition: form-data; name="message"\r\n\r\nhello'  # never terminated


@pytest.fixture
def captcha_on():
    server = SiteverifyServer()
    with override_settings(FORMGUARD={"CAPTCHA": {"SITE_KEY": "k", "SECRET_KEY": "s", "VERIFY_URL": server.url}}):
        yield server
    server.close()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_huge_body_to_a_closed_form_is_503(client):
    call_command("formguard", "close", "--form", "contact")
    response = client.post("/contact/", {"message": "x" * 5000})
    assert response.status_code == 503


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_huge_body_to_a_captcha_form_is_400(client, captcha_on):
    response = client.post("/contact/", {"message": "x" * 5000, "g-recaptcha-response": "ok"})
    assert response.status_code == 400
    assert captcha_on.requests == []


def test_broken_multipart_to_a_captcha_form(client, captcha_on, mailoutbox):
    response = client.generic("POST", "/contact/", BROKEN_MULTIPART, content_type="multipart/form-data; boundary=xyz")
    assert response.status_code in (200, 400)
    assert mailoutbox == []
    assert captcha_on.requests == []


def test_broken_multipart_to_a_closed_form(client):
    call_command("formguard", "close", "--form", "contact")
    response = client.generic("POST", "/contact/", BROKEN_MULTIPART, content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 503


def test_binary_garbage_in_headers(client):
    response = client.post(
        "/contact/",
        {"message": "x"},
        HTTP_USER_AGENT="\x00\xff" * 500,
        HTTP_X_FORWARDED_FOR="\x00\x01garbage",
        HTTP_ACCEPT_LANGUAGE="zz-ZZ;q=abc," * 200,
    )
    assert response.status_code in (200, 302)


def test_very_long_user_agent_is_cut_in_the_incident(client):
    from formguard.models import Incident

    call_command("formguard", "close", "--form", "contact")
    client.get("/contact/", HTTP_USER_AGENT="A" * 10_000)
    assert len(Incident.objects.get().user_agent) == 300
