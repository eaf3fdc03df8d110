"""``manage.py formguard`` in the operator's words (issue 23, item 5).

Japanese output with no English in it and no raw values (rates, seconds), one
line per change on the terminal, and the dates and ages that people type. (The
help of each subcommand: test_command_line.test_help_is_in_the_sites_language.)
"""

import logging
import sys
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone, translation

from formguard import incidents
from formguard.models import Incident

pytestmark = pytest.mark.django_db


def run_ja(capsys, *args) -> str:
    capsys.readouterr()
    with translation.override("ja"), timezone.override("Asia/Tokyo"):
        call_command("formguard", *args)
    return capsys.readouterr().out


def test_inspect_speaks_japanese_with_no_raw_values(client, capsys):
    client.get("/contact/")
    out = run_ja(capsys, "inspect", "203.0.113.5")
    assert "traps and rules" not in out and "GET:" not in out and "POST:" not in out, out
    # The demo's policy: 5 per 10 minutes, a time trap of 3 s to a day, 3 per day per address, 200/10m flood.
    for raw in ("5/10m", "86400", " s ", "3/d", "200/10m"):
        assert raw not in out, (raw, out)
    for said in ("トラップと内容のルール：", "5回/10分", "3秒〜1日", "3回/1日", "200回/10分"):
        assert said in out, (said, out)


def test_status_names_the_self_hosted_captcha_in_japanese(settings, capsys):
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD):
        out = run_ja(capsys, "status")
    line = next(line for line in out.splitlines() if line.startswith("CAPTCHA"))
    assert "self-hosted" not in line and "proof of work" not in line, line
    assert "配信元 ）" not in line and "配信元）" not in line, line
    assert "このサイト自身が配信" in line, line


def test_a_change_is_said_once_on_the_terminal(capsys, caplog):
    # The site's LOGGING as the demo's: formguard's lines to the terminal's stderr.
    terminal = logging.StreamHandler(sys.stderr)
    logger = logging.getLogger("formguard")
    logger.addHandler(terminal)
    try:
        with translation.override("ja"), timezone.override("Asia/Tokyo"):
            call_command("formguard", "close", "--form", "contact", "--create", "--for", "10m")
            call_command("formguard", "open", "--form", "contact")
    finally:
        logger.removeHandler(terminal)
    said = capsys.readouterr()
    assert "まで停止しました" in said.out and "再開" in said.out
    assert "formguard:" not in said.err, said.err
    # Log files (here pytest's capture) still get the lines.
    assert "formguard: フォーム 'contact' を" in caplog.text


def test_purge_older_than_0d_takes_everything_up_to_now(client, capsys):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=3), tick=False):
        call_command("formguard", "close", "--form", "contact", "--create")
        client.get("/contact/", REMOTE_ADDR="198.51.100.1")
        incidents.flush_pending()
    client.get("/contact/", REMOTE_ADDR="198.51.100.2")
    incidents.flush_pending()
    assert Incident.objects.count() == 2
    out = run_ja(capsys, "purge", "--older-than", "0d", "--yes")
    assert "日数として読めません" not in out
    assert "今（" in out and "より前のすべて" in out, out
    assert Incident.objects.count() == 0


def test_report_takes_a_date_written_with_slashes(client, capsys):
    # A report lists spam sent (POSTs refused for what they are), such as a banned sender's.
    call_command("formguard", "ban", "198.51.100.7")
    client.post("/contact/", {"message": "spam"}, REMOTE_ADDR="198.51.100.7")
    incidents.flush_pending()
    today = timezone.localdate()
    dashed = run_ja(capsys, "report", "--since", f"{today:%Y-%m-%d}", "--format", "csv")
    slashed = run_ja(capsys, "report", "--since", f"{today:%Y/%m/%d}", "--format", "csv")
    unpadded = run_ja(capsys, "report", "--since", f"{today.year}/{today.month}/{today.day}", "--format", "csv")
    assert "198.51.100.7" in dashed
    assert slashed == dashed == unpadded
