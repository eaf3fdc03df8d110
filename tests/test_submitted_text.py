"""Text a visitor submits: kept out of the demo's mail headers, stored by every
database formguard supports, and quoted where a report shows it."""

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


def test_the_name_error_is_in_japanese(client, contact_data, mailoutbox):
    response = client.post(
        "/contact/", {**contact_data, "name": "山田\nBcc: victim@example.com"}, HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert "お名前は1行で入力してください。" in response.content.decode()
    assert mailoutbox == []


def test_a_name_on_one_line_still_sends(client, contact_data, mailoutbox):
    response = client.post("/contact/", {**contact_data, "name": "  山田\t太郎  "})
    assert response.status_code == 302
    (message,) = mailoutbox
    assert "Bcc" not in str(message.message())
    assert message.bcc == []


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
    assert (row.form_key, row.reason, row.method, row.sample, row.rule_id) == ("contact", Reason.CLOSED, "POST", {}, None)
    assert any("refused by the database" in r.getMessage() for r in caplog.records if r.name == "formguard.security")
    assert incidents.flush_pending() == 0  # nothing left behind to fail the next flush


@pytest.mark.state
def test_a_tally_whose_process_died_gets_its_row_from_its_key(admin_client):
    tally("198.51.100.88", 2)
    with time_machine.travel(timezone.now() + timedelta(seconds=incidents.ORPHAN_AGE + 5)):
        assert admin_client.get("/admin/formguard/incident/").status_code == 200
    row = Incident.objects.get()
    assert (row.ip, row.ip_bucket, row.form_key, row.method, row.count) == (
        "198.51.100.88",
        "198.51.100.88",
        "contact",
        "POST",
        2,
    )
