"""JSON in, JSON out (issue 25): a contact endpoint the page's script posts with ``fetch()``.

Through the demo's /contact/api/ (``guard_form("api-contact", traps=True,
json_success=...)``): a JSON body is judged as the same fields form-encoded
are; a refusal to a request that asks for JSON is RFC 9457 problem details;
a body that is not one object of fields is a 400 problem, never a 500.
"""

import itertools
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from formguard import incidents, policies, release
from formguard.models import FormPolicy, Incident, Reason
from formguard.testing import trap_fields
from formguard.traps import HONEYPOT_FIELD

pytestmark = pytest.mark.django_db

API = "/contact/api/"
INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品の在庫について教えてください。"}
# The issue's message: three links, [url=] markup, no Japanese.
SPAM = (
    "Cheap pills https://a.example/ and https://b.example/ and https://c.example/ "
    "[url=https://d.example/]click here[/url]"
)
_ips = (f"198.51.100.{n}" for n in itertools.count(1))


def post_json(client, data, ip=None, path=API, **extra):
    body = json.dumps(data) if not isinstance(data, (bytes, str)) else data
    return client.post(path, body, content_type="application/json", REMOTE_ADDR=ip or next(_ips), **extra)


def inquiry(**changes):
    return {**INQUIRY, **trap_fields("api-contact"), **changes}


def problem(response):
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    return json.loads(response.content)


def set_policy(form_key="api-contact", **fields):
    policies.ensure_row(form_key)
    FormPolicy.objects.filter(form_key=form_key).update(**fields)
    policies.invalidate()


def reasons():
    incidents.flush_pending()
    return {i.reason for i in Incident.objects.all()}


def test_a_persons_json_inquiry_is_sent(client, mailoutbox):
    response = post_json(client, inquiry())
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert len(mailoutbox) == 1
    assert INQUIRY["message"] in mailoutbox[0].body


def test_the_issues_spam_is_refused_as_json_as_it_is_form_encoded(client, mailoutbox):
    # Form-encoded, to the demo's form: refused, the form shown again.
    form = client.post("/contact/", {**INQUIRY, "message": SPAM, **trap_fields("contact")}, REMOTE_ADDR=next(_ips))
    assert form.status_code == 200
    assert "contact/thanks" not in form.get("Location", "")
    # The same text as JSON: refused too, with a problem that keeps the text.
    response = post_json(client, inquiry(message=SPAM), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = problem(response)
    assert body["code"] in ("links", "not-japanese")
    assert body["type"] == "https://formguard.invalid/problems/" + body["code"]
    assert body["status"] == 400
    assert body["fields"]["message"] == SPAM
    assert mailoutbox == []
    assert {Reason.LINKS, Reason.NOT_JAPANESE} & reasons()


def test_the_traps_are_read_from_json(client, mailoutbox):
    # Without the time token the page gives: refused (bad token), nothing sent.
    response = post_json(client, INQUIRY)
    assert response.status_code == 400
    assert problem(response)["code"] == "bad-token"
    assert mailoutbox == []


def test_a_filled_honeypot_gets_what_the_endpoint_answers_and_nothing_is_sent(client, mailoutbox):
    real = post_json(client, inquiry())
    fake = post_json(client, inquiry(**{HONEYPOT_FIELD: "http://spam.example/"}))
    assert fake.status_code == real.status_code == 200
    assert fake.json() == real.json()
    assert fake["Content-Type"] == real["Content-Type"]
    assert len(mailoutbox) == 1
    assert Reason.HONEYPOT in reasons()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "malformed"),
        (b"[1, 2, 3]", "not-an-object"),
        (b'"text"', "not-an-object"),
        (json.dumps({"name": "x", "message": {"nested": "object"}}).encode(), "nested"),
        (json.dumps({"name": [["a"]]}).encode(), "nested"),
        (b"\xff\xfe\x00{", "malformed"),
        (b"[" * 100000 + b"]" * 100000, "too-large"),
    ],
)
def test_a_body_that_is_not_an_object_of_fields_is_a_400_problem(client, body, why, mailoutbox):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=150000):
        response = post_json(client, body)
    assert response.status_code == 400
    data = problem(response)
    assert data["code"] == "bad-request"
    assert data["reason"] == why
    assert mailoutbox == []


def test_a_json_charset_is_honoured(client, mailoutbox):
    body = json.dumps(inquiry(), ensure_ascii=False)  # the test client encodes it in the charset named
    response = client.post(API, body, content_type="application/json; charset=utf-16", REMOTE_ADDR=next(_ips))
    assert response.status_code == 200
    assert INQUIRY["message"] in mailoutbox[0].body


def test_a_closed_form_answers_503_with_retry_after_in_the_visitors_language(client):
    post_json(client, inquiry())  # the form's policy row exists once the form is seen
    policies.set_closed("api-contact", True, until=timezone.now() + timedelta(minutes=30))
    en = post_json(client, inquiry(), HTTP_ACCEPT_LANGUAGE="en")
    ja = post_json(client, inquiry(), HTTP_ACCEPT_LANGUAGE="ja")
    assert en.status_code == ja.status_code == 503
    assert 1700 <= int(en["Retry-After"]) <= 1800
    body_en, body_ja = problem(en), problem(ja)
    assert body_en["code"] == "closed" and body_en["retry_after"] == int(en["Retry-After"])
    assert body_en["title"] == "This form is closed for now"
    assert body_ja["title"] != body_en["title"] and "フォーム" in body_ja["title"]
    assert body_en["fields"]["message"] == INQUIRY["message"]


def test_a_flood_is_limited_then_banned_as_problems(client, frozen_clock):
    post_json(client, inquiry())
    set_policy(rate_limit="2/h", burst_count=3, burst_window=30)
    ip = "203.0.113.9"
    answers = [post_json(client, inquiry(), ip=ip) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 429, 403, 403]
    limited = problem(answers[2])
    assert limited["code"] == "rate-limited"
    assert limited["retry_after"] == int(answers[2]["Retry-After"]) > 0
    banned = problem(answers[4])
    assert banned["code"] in ("burst", "auto-banned")
    # A ban's Retry-After is as rough as the page's "about N hours".
    assert int(answers[4]["Retry-After"]) % 3600 == 0


def test_a_form_post_that_accepts_json_gets_a_problem(client):
    call_command("formguard", "ban", "203.0.113.0/24")
    data = {**INQUIRY, **trap_fields("contact")}
    html = client.post("/contact/", data, REMOTE_ADDR="203.0.113.5")
    assert html.status_code == 403 and html["Content-Type"].startswith("text/html")
    answer = client.post("/contact/", data, REMOTE_ADDR="203.0.113.5", HTTP_ACCEPT="application/json")
    assert answer.status_code == 403
    assert problem(answer)["code"] == "blacklisted"
    assert problem(answer)["fields"]["name"] == INQUIRY["name"]


def test_the_problem_lists_the_other_ways_to_reach_the_business(client):
    from formguard.models import AlternativeContact

    AlternativeContact.objects.create(country="", kind="phone", value="03-1234-5678")
    call_command("formguard", "ban", "203.0.113.0/24")
    response = post_json(client, inquiry(), ip="203.0.113.5", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    (phone,) = problem(response)["contacts"]
    assert phone["kind"] == "phone" and phone["value"] == "03-1234-5678" and phone["href"].startswith("tel:")


def test_a_browser_accept_header_still_gets_the_page(client):
    call_command("formguard", "ban", "203.0.113.0/24")
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,application/json;q=0.8,*/*;q=0.7"
    page = client.post("/contact/", INQUIRY, REMOTE_ADDR="203.0.113.5", HTTP_ACCEPT=accept)
    assert page["Content-Type"].startswith("text/html")


def test_the_per_address_limit_reads_the_json_email(client, mailoutbox):
    post_json(client, inquiry())
    set_policy(recipient_limit="1/h")
    assert post_json(client, inquiry(email="hanako@example.jp")).status_code == 200
    refused = post_json(client, inquiry(email="hanako@example.jp"))
    assert refused.status_code == 400
    assert problem(refused)["code"] == "recipient-limit"
    assert len(mailoutbox) == 2


def test_a_json_endpoint_keeps_csrf(mailoutbox):
    client = Client(enforce_csrf_checks=True)
    response = post_json(client, inquiry())
    assert response.status_code == 403
    assert mailoutbox == []


def test_a_held_json_message_answers_as_sent_and_is_released_as_json(client, admin_client, mailoutbox, monkeypatch):
    from formguard.models import Submission, SubmissionStatus

    real = post_json(client, inquiry())
    mailoutbox.clear()
    set_policy(links_action="hold", max_links=1)
    message = "見積もりをお願いします。https://a.example https://b.example https://c.example"
    held = post_json(client, inquiry(message=message))
    assert held.status_code == 200 and held.json() == real.json()
    assert mailoutbox == []
    submission = Submission.objects.get(status=SubmissionStatus.HELD)
    assert submission.value("message") == message
    # Released as the endpoint takes it: a JSON object, not a form body.
    seen = []
    dispatch = release._dispatch
    monkeypatch.setattr(release, "_dispatch", lambda request: seen.append(request.content_type) or dispatch(request))
    response = admin_client.post(f"/admin/formguard/submission/{submission.pk}/release/", follow=True)
    assert response.status_code == 200
    assert seen == ["application/json"]
    (mail,) = mailoutbox
    assert message in mail.body
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.RELEASED
