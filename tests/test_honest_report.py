"""Issue 22, "An honest spam-center report": only submissions with evidence of spam.

Through the demo's /contact/ and the admin's report page: a honeypot and an NG word are
evidence; a person's too-fast first try and a person over the rate limit are not. The owner
leaves rows out before downloading; sales pitches are listed apart from spam.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from formguard import incidents, policies, reports
from formguard.models import FormPolicy, Incident, Reason, Submission
from formguard.testing import trap_fields
from formguard.traps import HONEYPOT_FIELD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

HONEYPOT_IP, NG_IP, FAST_IP, LIMITED_IP = "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14"


def inquiry(message="商品の在庫について教えてください。"):
    return {"name": "山田 太郎", "email": "taro@example.jp", "message": message}


def a_day_of_refusals(client):
    FormPolicy.objects.filter(form_key="*").update(ng_words="激安ブランド", rate_limit="1/h")
    policies.invalidate()
    # A bot that fills the hidden field, and one that writes an NG word.
    client.post("/contact/", {**inquiry(), **trap_fields("contact"), HONEYPOT_FIELD: "x"}, REMOTE_ADDR=HONEYPOT_IP)
    client.post("/contact/", {**inquiry("激安ブランド品のご案内"), **trap_fields("contact")}, REMOTE_ADDR=NG_IP)
    # A person who sent the form within a second of opening it.
    client.post("/contact/", {**inquiry(), **trap_fields("contact", age=0)}, REMOTE_ADDR=FAST_IP)
    # A person who asks for a quote twice within the hour.
    for _ in range(2):
        client.post(
            "/contact/", {**inquiry("見積もりをお願いします。"), **trap_fields("contact")}, REMOTE_ADDR=LIMITED_IP
        )
    incidents.flush_for_reading()
    assert set(Incident.objects.values_list("reason", flat=True)) == {
        Reason.HONEYPOT,
        Reason.NG_WORDS,
        Reason.TOO_FAST,
        Reason.RATE_LIMITED,
    }


def day():
    return timezone.localdate().isoformat()


def test_the_center_report_holds_honeypot_and_ng_rows_not_too_fast_or_rate_limited(client, admin_client):
    a_day_of_refusals(client)
    report = reports.build(*reports.period_for_day(timezone.localdate()), spam_only=True)
    assert {r.reason for r in report.rows} == {Reason.HONEYPOT, Reason.NG_WORDS}
    text = admin_client.get(f"/admin/formguard/incident/report/?since={day()}&until={day()}&format=text")
    body = text.content.decode()
    assert HONEYPOT_IP in body and NG_IP in body
    assert FAST_IP not in body and LIMITED_IP not in body
    # The owner's own export keeps every refusal.
    everything = admin_client.get(f"/admin/formguard/incident/report/?since={day()}&until={day()}&format=csv")
    assert all(ip in everything.content.decode() for ip in (HONEYPOT_IP, NG_IP, FAST_IP, LIMITED_IP))


def test_rows_the_owner_leaves_out_are_not_in_the_report(client, admin_client):
    a_day_of_refusals(client)
    query = f"since={day()}&until={day()}&format=text"
    page = admin_client.get(f"/admin/formguard/incident/report/?{query}&show=1").content.decode()
    ng_row = Incident.objects.get(reason=Reason.NG_WORDS)
    honeypot_row = Incident.objects.get(reason=Reason.HONEYPOT)
    assert f'name="leave_out" value="i{ng_row.pk}"' in page
    assert f'name="leave_out" value="i{honeypot_row.pk}"' in page
    assert f'value="i{Incident.objects.get(reason=Reason.TOO_FAST).pk}"' not in page
    body = admin_client.get(f"/admin/formguard/incident/report/?{query}&leave_out=i{ng_row.pk}").content.decode()
    assert HONEYPOT_IP in body and NG_IP not in body
    # Keys that are not a row's are ignored, not an error.
    assert admin_client.get(f"/admin/formguard/incident/report/?{query}&leave_out=x' or 1").status_code == 200


def labelled(label, ip, message):
    now = timezone.now()
    return Submission.objects.create(
        expires_at=now + timedelta(days=30),
        form_key="contact",
        status="delivered",
        fields=[["name", "x"], ["message", message]],
        ip=ip,
        label=label,
    )


def test_labelled_spam_is_reported_and_sales_pitches_are_listed_apart(admin_client):
    labelled("spam", "198.51.100.21", "当選おめでとうございます。こちらから受け取ってください。")
    labelled("sales", "198.51.100.22", "SEO対策のご提案です。")
    query = f"since={day()}&until={day()}"
    text = admin_client.get(f"/admin/formguard/incident/report/?{query}&format=text").content.decode()
    assert "198.51.100.21" in text and "当選おめでとうございます" in text
    assert "198.51.100.22" not in text and "SEO対策" not in text
    rows = list(
        csv.reader(
            io.StringIO(
                admin_client.get(f"/admin/formguard/incident/report/?{query}&format=csv").content.decode("utf-8-sig")
            )
        )
    )
    assert rows[0][-1] == "label"
    assert {(row[2], row[-1]) for row in rows[1:]} == {("198.51.100.21", "spam"), ("198.51.100.22", "sales pitch")}
