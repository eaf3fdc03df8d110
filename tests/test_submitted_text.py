"""Text a visitor submits: kept out of the demo's mail headers, stored by every
database formguard supports, and quoted where a report shows it."""

import email
import email.policy
import html
import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from formguard import incidents
from formguard.models import Incident, Reason
from formguard.store import get_store
from formguard.testing import trap_fields
from formguard.traps import HONEYPOT_FIELD

pytestmark = pytest.mark.django_db

# Every separator str.splitlines() knows: Django 6 refuses a mail header with
# any of them, Django 5.2 with CR or LF.
LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("line_break", LINE_BREAKS, ids=lambda c: f"U+{ord(c[0]):04X}")
def test_a_line_break_in_the_name_is_a_form_error_not_a_500(client, contact_data, mailoutbox, line_break):
    name = f"山田{line_break}Bcc: victim@example.com"
    response = client.post("/contact/", {**contact_data, "name": name})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please write your name on one line." in page
    assert mailoutbox == []
    # What was typed comes back: the message in full, the name as sent.
    assert html.escape(contact_data["message"]) in page
    assert 'value="山田' in page and "Bcc: victim@example.com" in page


def test_the_name_error_is_in_japanese_and_a_name_on_one_line_sends(client, contact_data, mailoutbox):
    name = "山田\nBcc: victim@example.com"
    response = client.post("/contact/", {**contact_data, "name": name}, HTTP_ACCEPT_LANGUAGE="ja")
    assert "お名前は1行で入力してください。" in response.content.decode()
    assert mailoutbox == []
    # Sent again as a browser sends the field shown (line breaks taken out), with a tab: it goes.
    response = client.post("/contact/", {**contact_data, "name": name.replace("\n", "\t")}, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 302
    (message,) = mailoutbox
    assert message.bcc == [] and message.message()["Bcc"] is None


# --- The incident log: what a request sends is stored by every database ---------------------------

NUL_BODY = "na%00me=%E7%8E%8B%00&message=line%00one%0D%0Aline+two%0D%0A%09indented%01%7F%C2%85&ev%00il=x"


def post_to_the_closed_form(client, ip, body=None, user_agent="Mozilla/5.0"):
    if body is None:
        return client.post("/contact/", {"message": f"hello from {ip}"}, REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent)
    return client.post(
        "/contact/", body, content_type="application/x-www-form-urlencoded", REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent
    )


def nul_flood(client):
    """Three people's messages and one with NUL bytes (and other control characters), all refused while closed."""
    call_command("formguard", "close", "--form", "contact")
    post_to_the_closed_form(client, "198.51.100.1")  # recorded at once (the first flush of this process)
    for ip in ("198.51.100.2", "198.51.100.3"):
        post_to_the_closed_form(client, ip)
    for _ in range(2):
        assert post_to_the_closed_form(client, "198.51.100.66", NUL_BODY, "bot\x00/1.0\r\nX-Evil: 1").status_code == 503
    post_to_the_closed_form(client, "198.51.100.4")


def assert_the_log_reads_and_counts_exactly(admin_client, more=None):
    # The admin's readers flush first: the list, an incident, the dashboard, a report.
    assert admin_client.get("/admin/formguard/incident/").status_code == 200
    counts = dict(Incident.objects.values_list("ip", "count"))
    assert counts == {
        "198.51.100.1": 1,
        "198.51.100.2": 1,
        "198.51.100.3": 1,
        "198.51.100.66": 2,
        "198.51.100.4": 1,
        **(more or {}),
    }
    row = Incident.objects.get(ip="198.51.100.66")
    # NUL and the other control characters replaced; a message's line breaks and tabs kept.
    assert row.sample == {
        "na\ufffdme": "王\ufffd",
        "message": "line\ufffdone\nline two\n\tindented\ufffd\ufffd\ufffd",
        "ev\ufffdil": "x",
    }
    assert row.user_agent == "bot\ufffd/1.0\ufffd\ufffdX-Evil: 1"
    assert admin_client.get(f"/admin/formguard/incident/{row.pk}/change/").status_code == 200
    assert admin_client.get("/admin/formguard/incident/dashboard/").status_code == 200
    day = timezone.localdate().isoformat()
    for fmt in ("text", "csv", "json", "html", "eml"):
        report = admin_client.get(f"/admin/formguard/incident/report/?since={day}&until={day}&format={fmt}")
        assert report.status_code == 200, fmt


@pytest.mark.state
def test_nul_bytes_in_a_post_do_not_stop_the_incident_log(client, admin_client):
    nul_flood(client)
    assert_the_log_reads_and_counts_exactly(admin_client)


@pytest.mark.services
def test_nul_bytes_in_a_post_do_not_stop_the_incident_log_on_postgresql(client, admin_client):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's own refusal of NUL: run by scripts/test.sh with FORMGUARD_PG_*")
    nul_flood(client)
    assert_the_log_reads_and_counts_exactly(admin_client)


def tally(ip, count, detail=None):
    """Refusals as a process leaves them in formguard's store: ``detail`` None when it died before writing it."""
    now = timezone.now()
    key = incidents.aggregation_key(ip, "contact", Reason.CLOSED, False, now, "POST")
    store = get_store()
    for _ in range(count):
        store.tally(key, now.timestamp())
    if detail is not None:
        store.annotate(key, json.dumps(detail).encode())
    return key


@pytest.mark.state
def test_a_row_the_database_refuses_does_not_hold_back_the_others(client, admin_client, caplog):
    nul_flood(client)
    # Whatever formguard cleans, a database can refuse a row: here a detail
    # left in the store that breaks a constraint (a negative rule id).
    moment = timezone.now().timestamp()
    refused = {
        "first_seen": moment,
        "last_seen": moment,
        "ip": "198.51.100.77",
        "ip_bucket": "198.51.100.77",
        "form_key": "contact",
        "reason": Reason.CLOSED,
        "method": "POST",
        "sample": {"message": "kept out"},
        "rule_id": -1,
    }
    tally("198.51.100.77", 3, refused)
    with caplog.at_level(logging.WARNING, logger="formguard.security"):
        assert_the_log_reads_and_counts_exactly(admin_client, {"198.51.100.77": 3})
    # Stored from its key, without the detail the database refused, and said so.
    row = Incident.objects.get(ip="198.51.100.77")
    assert (row.form_key, row.method, row.sample, row.rule_id) == ("contact", "POST", {}, None)
    assert any("refused by the database" in r.getMessage() for r in caplog.records if r.name == "formguard.security")
    assert incidents.flush_pending() == 0  # nothing left behind to fail the next flush


@pytest.mark.state
def test_a_tally_whose_process_died_gets_its_row_from_its_key(admin_client):
    tally("198.51.100.88", 2)
    with time_machine.travel(timezone.now() + timedelta(seconds=incidents.ORPHAN_AGE + 5)):
        assert admin_client.get("/admin/formguard/incident/").status_code == 200
    row = Incident.objects.get()
    where = (row.ip, row.ip_bucket, row.form_key, row.method)
    assert where == ("198.51.100.88", "198.51.100.88", "contact", "POST") and row.count == 2


# --- Reports: submitted text is quoted, and read in the order it is written ------------------------

FORGED_MESSAGE = (
    "ご担当者様\r\n"
    "■ 講じた対策\r\n"
    "2026-12-01 10:00　IP をブロック　203.0.113.0/24（管理画面）　当社が送信元に損害賠償を請求済み\r\n"
    "\u202etxt.exe\u202c \u2066reversed\u2069 \u200e\u200f\u061c"
)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
SECTIONS = [
    "■ この記録について",
    "■ 集計（拒否した送信・アクセス）",
    "■ 送信元 IP アドレス（件数の多い順）",
    "■ 送信内容の例",
    "■ 講じた対策",
]


def forged_submission(client):
    # A bot that fills the hidden field: evidence of spam, so the report for the center holds it.
    client.post(
        "/contact/",
        {"message": FORGED_MESSAGE, "note\n■ 講じた対策\n": "x", **trap_fields("contact"), HONEYPOT_FIELD: "x"},
        REMOTE_ADDR="198.51.100.50",
        HTTP_USER_AGENT="Mozilla/5.0 \u202e0.5/allizoM",
    )


def assert_quoted(text):
    lines = text.splitlines()
    # The report's own sections, once each: the forged heading is a quoted line.
    assert [line for line in lines if line.startswith("■")] == SECTIONS
    assert "   > ■ 講じた対策" in lines
    assert "   > 2026-12-01 10:00　IP をブロック　203.0.113.0/24（管理画面）　当社が送信元に損害賠償を請求済み" in lines
    assert "   > ご担当者様" in lines
    assert not [c for c in text if c in BIDI]


def test_the_text_report_quotes_what_was_sent(client, tmp_path):
    forged_submission(client)
    day = timezone.localdate().isoformat()
    out = tmp_path / "report.txt"
    call_command("formguard", "report", "--since", day, "--until", day, "--format", "text", "--output", str(out))
    assert_quoted(out.read_text("utf-8"))


def test_the_reports_from_the_admin_quote_and_drop_bidirectional_controls(client, admin_client):
    forged_submission(client)
    day = timezone.localdate().isoformat()

    def report(fmt):
        response = admin_client.get(f"/admin/formguard/incident/report/?since={day}&until={day}&format={fmt}")
        assert response.status_code == 200
        return response.content

    assert_quoted(report("text").decode())
    mail = email.message_from_bytes(report("eml"), policy=email.policy.default)
    assert_quoted(mail.get_body(("plain",)).get_content())
    (attachment,) = mail.iter_attachments()
    for content in (report("html").decode(), report("csv").decode("utf-8-sig"), attachment.get_content()):
        content = content.decode("utf-8-sig") if isinstance(content, bytes) else content
        assert "txt.exe" in content and "0.5/allizoM" in content
        assert not [c for c in content if c in BIDI]
    payload = json.loads(report("json"))
    (incident,) = payload["incidents"]
    assert incident["user_agent"] == "Mozilla/5.0 0.5/allizoM"
    assert incident["sample"]["message"].splitlines()[1] == "■ 講じた対策"  # JSON keeps the lines, as data
    assert not [c for c in json.dumps(payload, ensure_ascii=False) if c in BIDI]
