"""``manage.py formguard`` for an operator at 2 a.m.: typos refused, nothing lost by accident."""

import os
import subprocess
import sys
import unicodedata
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from formguard import incidents
from formguard.models import ActionLog, BlockRule, FormPolicy, Incident

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    call_command("formguard", *args)


def test_unknown_form_key_is_refused_with_suggestions(client, capsys):
    client.get("/contact/")
    with pytest.raises(CommandError, match=r"No form 'contcat' is known\. Did you mean: contact, api-contact\?"):
        run("close", "--form", "contcat")
    with pytest.raises(CommandError, match="Known forms: .*contact"):
        run("open", "--form", "zzzzzz")
    assert not FormPolicy.objects.filter(form_key__in=["contcat", "zzzzzz"]).exists()
    assert client.get("/contact/").status_code == 200
    # Asked for, a new key is created and closed.
    run("close", "--form", "newsletter", "--create")
    assert FormPolicy.objects.get(form_key="newsletter").closed


def test_purge_wants_days_shows_what_goes_and_asks(client, capsys, monkeypatch):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=100), tick=False):
        run("close", "--form", "contact")
        client.get("/contact/", REMOTE_ADDR="198.51.100.1")
        run("open", "--form", "contact")
    client.get("/contact/", REMOTE_ADDR="198.51.100.2")
    run("close", "--form", "contact")
    client.get("/contact/", REMOTE_ADDR="198.51.100.3")
    incidents.flush_pending()
    assert Incident.objects.count() == 2
    capsys.readouterr()

    # "1m" deleted everything older than a minute: only days and weeks now, with a unit.
    for age in ("1m", "30", "2h", "1.5d"):
        with pytest.raises(CommandError, match="Not an age in days"):
            run("purge", "--older-than", age)
    assert Incident.objects.count() == 2

    run("purge", "--dry-run")  # the default: 90 days
    out = capsys.readouterr().out
    assert "Older than 90 days" in out and "incidents 1, action log entries 2" in out
    assert "Nothing was deleted." in out
    assert Incident.objects.count() == 2

    # No terminal to ask on (cron, a pipe): nothing without --yes.
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(CommandError, match="--yes"):
        run("purge", "--older-than", "90d")
    assert Incident.objects.count() == 2

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    run("purge", "--older-than", "12w")
    assert Incident.objects.count() == 2
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    run("purge", "--older-than", "12w")
    assert list(Incident.objects.values_list("ip", flat=True)) == ["198.51.100.3"]
    assert "Deleted: incidents 1, action log entries 2." in capsys.readouterr().out


@pytest.mark.parametrize("network", ["0.0.0.0/0", "::/0", "10.0.0.0/7", "2001:db8::/31"])
def test_ban_of_a_too_wide_network_is_refused_without_force(network, client):
    with pytest.raises(CommandError, match="add --force"):
        run("ban", network)
    assert not BlockRule.objects.exists()
    assert client.get("/contact/", REMOTE_ADDR="10.1.2.3").status_code == 200
    run("ban", network, "--force", "--for", "1h")
    assert BlockRule.objects.get().network == network


@pytest.mark.parametrize("network", ["10.0.0.0/8", "2001:db8::/32", "203.0.113.7"])
def test_ban_up_to_the_limits_is_fine(network):
    run("ban", network, "--for", "1d")
    assert BlockRule.objects.filter(network=network).exists()


def test_ban_holding_the_operators_own_address_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("SSH_CLIENT", "203.0.113.50 52311 22")
    with pytest.raises(CommandError, match=r"your own address 203\.0\.113\.50"):
        run("ban", "203.0.113.0/24")
    run("ban", "198.51.100.0/24", "--for", "1h")  # someone else's network
    run("ban", "203.0.113.0/24", "--force", "--for", "1h")
    assert BlockRule.objects.count() == 2


def test_ban_without_for_is_permanent_and_says_so(capsys):
    run("ban", "198.51.100.7")
    out = capsys.readouterr().out
    assert "permanent (no --for given)" in out and "formguard unban 198.51.100.7" in out
    assert BlockRule.objects.get().expires_at is None
    docs = (ROOT / "docs" / "command.md").read_text(encoding="utf-8")
    assert "without `--for` is permanent" in docs


def test_rules_lists_and_filters_and_unallow_lifts(capsys):
    run("ban", "198.51.100.0/24", "--for", "2h", "--reason", "見積もりスパム")
    run("allow", "192.0.2.10", "--reason", "本社")
    run("ban", "203.0.113.9", "--for", "1h")
    run("unban", "203.0.113.9")
    capsys.readouterr()

    run("rules")
    out = capsys.readouterr().out
    assert "198.51.100.0/24" in out and "192.0.2.10" in out and "203.0.113.9" not in out
    assert "2 rules." in out
    run("rules", "--kind", "allow")
    out = capsys.readouterr().out
    assert "192.0.2.10" in out and "198.51.100.0/24" not in out
    run("rules", "--ip", "198.51.100.77")
    out = capsys.readouterr().out
    assert "198.51.100.0/24" in out and "192.0.2.10" not in out
    run("rules", "--all")
    assert "203.0.113.9" in capsys.readouterr().out

    # unban of an allowlist entry says what to use instead.
    with pytest.raises(CommandError, match="formguard unallow 192.0.2.10"):
        run("unban", "192.0.2.10")
    run("unallow", "192.0.2.10")
    assert "Lifted 1 rule for 192.0.2.10." in capsys.readouterr().out
    assert not BlockRule.objects.filter(kind="allow", expires_at__isnull=True).exists()
    with pytest.raises(CommandError, match="No allowlist rule in force"):
        run("unallow", "192.0.2.10")
    lifted = ActionLog.objects.filter(action="lifted")
    assert {entry.target for entry in lifted} == {"203.0.113.9", "192.0.2.10"}
    assert all(entry.actor.startswith("cli:") for entry in lifted)


def _column_of_state(line, state_words):
    """Display column where the state starts (a full-width character takes two)."""
    index = min(line.index(w) for w in state_words if w in line)
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in line[:index])


def test_status_columns_line_up_with_full_width_text(client, capsys):
    client.get("/contact/")
    run("close", "--form", "お問い合わせ", "--create", "--for", "2h")
    capsys.readouterr()
    with translation.override("ja"):
        run("status")
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "受付中" in line or "停止中" in line]
    assert any(line.startswith("お問い合わせ") for line in lines)
    assert len({_column_of_state(line, ("受付中", "停止中")) for line in lines}) == 1, out


def test_help_is_in_the_sites_language():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"}
    for args, expected in (
        ([], "フォームの停止と再開"),
        (["ban"], "省略時：無期限"),
        (["purge"], "削除されるものを表示するだけにする"),
        # inspect and geoip each say what they do (they shared one help).
        (["inspect"], "フォームごとに何が起きるか"),
        (["geoip"], "GeoIP データベース（作成日）"),
    ):
        result = subprocess.run(
            [sys.executable, "manage.py", "formguard", *args, "--help"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout, result.stdout


def test_log_lines_follow_the_sites_language_and_time_zone(caplog):
    with translation.override("ja"), timezone.override("Asia/Tokyo"):
        run("close", "--form", "contact", "--for", "2h")
    text = caplog.text
    assert "フォム" not in text
    assert "フォーム 'contact' を" in text and "JST まで停止しました" in text
    assert "+00:00" not in text
