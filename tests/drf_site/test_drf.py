"""A Django REST framework API guarded end to end by ``FormGuardPermission`` (issue 25).

Run with this API's settings: ``pytest --ds tests.drf_site.settings tests/drf_site``
(scripts/test.sh does, when djangorestframework is installed). Under the suite's own
settings the module is skipped.
"""

import itertools
import json

import pytest
from django.conf import settings

if "rest_framework" not in settings.INSTALLED_APPS:
    pytest.skip("the DRF API's tests run with --ds tests.drf_site.settings", allow_module_level=True)

from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from formguard import incidents, policies  # noqa: E402
from formguard.models import FormPolicy, Incident, Reason, Submission, SubmissionStatus  # noqa: E402
from formguard.testing import trap_fields  # noqa: E402
from formguard.traps import HONEYPOT_FIELD, TIME_FIELD  # noqa: E402

pytestmark = pytest.mark.django_db

URL = "/api/inquiries/"
INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品の在庫について教えてください。"}
SPAM = "Cheap pills https://a.example/ https://b.example/ https://c.example/ [url=https://d.example/]here[/url]"
_ips = (f"198.51.100.{n}" for n in itertools.count(1))


def api(ip=None, language="en"):
    return APIClient(REMOTE_ADDR=ip or next(_ips), HTTP_ACCEPT_LANGUAGE=language)


def send(data, ip=None, url=URL, form_key="api-contact", **extra):
    return api(ip).post(url, {**data, **trap_fields(form_key), **extra}, format="json")


def set_policy(form_key="api-contact", **fields):
    policies.ensure_row(form_key)
    FormPolicy.objects.filter(form_key=form_key).update(**fields)
    policies.invalidate()


def test_a_persons_inquiry_is_created_and_mailed(mailoutbox):
    response = send(INQUIRY)
    assert response.status_code == 201, response.content
    assert response.json() == INQUIRY  # formguard's own fields are not in validated_data
    assert len(mailoutbox) == 1 and INQUIRY["message"] in mailoutbox[0].body


def test_a_viewset_action_is_guarded_too(mailoutbox):
    assert send(INQUIRY, url="/api/viewset/send/", form_key="api-viewset").status_code == 200
    call_command("formguard", "close", "--form", "api-viewset")
    closed = send(INQUIRY, url="/api/viewset/send/", form_key="api-viewset")
    assert closed.status_code == 503
    assert closed.json()["code"] == "closed"
    assert len(mailoutbox) == 1


def test_a_flood_is_throttled_then_banned_as_drf_responses(mailoutbox, frozen_clock):
    send(INQUIRY)
    set_policy(rate_limit="2/h", burst_count=3, burst_window=30)
    ip = "203.0.113.20"
    answers = [send(INQUIRY, ip=ip) for _ in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 429, 403, 403]
    limited = answers[2]
    assert limited["Content-Type"] == "application/json"  # rendered by DRF's renderer
    body = limited.json()
    assert body["code"] == "rate-limited" and body["status"] == 429
    assert int(limited["Retry-After"]) == body["retry_after"] > 0
    assert body["fields"]["message"] == INQUIRY["message"]
    banned = answers[4].json()
    assert banned["code"] in ("burst", "auto-banned")
    assert int(answers[4]["Retry-After"]) % 3600 == 0
    incidents.flush_pending()
    assert {Reason.RATE_LIMITED, Reason.BURST} <= set(Incident.objects.values_list("reason", flat=True))
    assert len(mailoutbox) == 3


def test_the_issues_spam_is_refused_in_the_visitors_language(mailoutbox):
    response = api(language="ja").post(URL, {**INQUIRY, "message": SPAM, **trap_fields("api-contact")}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] in ("links", "not-japanese")
    assert body["type"] == "https://formguard.invalid/problems/" + body["code"]
    assert body["title"] == "メッセージを送信できませんでした"
    assert body["fields"]["message"] == SPAM
    assert mailoutbox == []


def test_a_caught_message_gets_what_a_sent_one_gets_and_is_held(mailoutbox):
    set_policy(links_action="hold", max_links=1)
    message = "見積もりをお願いします。https://a.example https://b.example https://c.example"
    response = send({**INQUIRY, "message": message})
    assert response.status_code == 201
    assert response.json() == {**INQUIRY, "message": message}
    assert mailoutbox == []
    held = Submission.objects.get(status=SubmissionStatus.HELD)
    assert held.value("message") == message
    honeypot = send(INQUIRY, **{HONEYPOT_FIELD: "http://spam.example/"})
    assert honeypot.status_code == 201 and mailoutbox == []


def test_a_held_message_is_released_through_the_api(admin_client, mailoutbox):
    set_policy(links_action="hold", max_links=1)
    message = "見積もりをお願いします。https://a.example https://b.example https://c.example"
    assert send({**INQUIRY, "message": message}).status_code == 201
    held = Submission.objects.get(status=SubmissionStatus.HELD)
    assert admin_client.post(f"/admin/formguard/submission/{held.pk}/release/", follow=True).status_code == 200
    (mail,) = mailoutbox
    assert message in mail.body
    held.refresh_from_db()
    assert held.status == SubmissionStatus.RELEASED


def test_a_body_that_is_not_an_object_is_a_400_problem(mailoutbox):
    response = api().post(URL, b"[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad-request"
    assert mailoutbox == []


def test_the_browsable_api_form_carries_the_traps_and_the_time_token():
    page = api().get(URL, HTTP_ACCEPT="text/html").content.decode()
    assert f'name="{HONEYPOT_FIELD}"' in page
    assert f'name="{TIME_FIELD}"' in page
    token = page.split(f'name="{TIME_FIELD}"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    assert token  # a fresh time token for the form


def test_without_the_time_token_the_api_refuses(mailoutbox):
    response = api().post(URL, json.dumps(INQUIRY), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad-token"
    assert mailoutbox == []


def test_the_browsable_api_page_of_a_closed_form_is_one_refusal():
    call_command("formguard", "close", "--form", "api-contact")
    response = api().get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 503
    incidents.flush_pending()
    assert sum(Incident.objects.values_list("count", flat=True)) == 1
