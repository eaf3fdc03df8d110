"""Hold, don't lose (issue 22): a caught submission is kept for the owner, the visitor sees the thanks page.

Through the demo's /contact/ as a browser posts it: a honeypot bot, a rule set
to hold, and a honeypot flood that must not become a flood of rows.
"""

import itertools

import pytest
from django.test import Client

from formguard import holds, incidents, policies
from formguard.models import FormPolicy, Incident, Reason, Submission, SubmissionStatus
from formguard.testing import trap_fields
from formguard.traps import HONEYPOT_FIELD

pytestmark = pytest.mark.django_db

INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品の在庫について教えてください。"}
_ips = (f"198.51.100.{n}" for n in itertools.count(1))


def set_policy(**fields):
    policies.ensure_row("contact")
    FormPolicy.objects.filter(form_key="contact").update(**fields)
    policies.invalidate()


def post(data, ip=None, **extra):
    client = Client(HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5", HTTP_USER_AGENT="Mozilla/5.0 (test)")
    return client.post("/contact/", {**trap_fields("contact", age=12), **data}, REMOTE_ADDR=ip or next(_ips), **extra)


def test_a_honeypot_bot_gets_the_thanks_page_no_mail_and_a_held_row_with_what_it_sent(mailoutbox):
    set_policy(honeypot_action="fake_success")
    response = post({**INQUIRY, HONEYPOT_FIELD: "https://bot.example"}, ip="203.0.113.9")
    assert response.status_code == 302 and response["Location"] == "/contact/thanks/"
    assert mailoutbox == []
    held = Submission.objects.get()
    assert held.status == SubmissionStatus.HELD and held.reason == Reason.HONEYPOT
    # Every field the visitor typed, in order; formguard's own and the secrets left out.
    assert held.fields == [["name", INQUIRY["name"]], ["email", INQUIRY["email"]], ["message", INQUIRY["message"]]]
    assert held.ip == "203.0.113.9" and held.path == "/contact/"
    assert held.page_language == "ja" and held.accept_language == "ja,en;q=0.5"
    assert held.user_agent == "Mozilla/5.0 (test)"
    assert held.fill_seconds is not None and 11 <= held.fill_seconds <= 60
    assert 29 <= (held.expires_at - held.created).days <= 30
    incidents.flush_pending()
    assert Incident.objects.get().reason == Reason.HONEYPOT


def test_a_rule_set_to_hold_keeps_the_message_and_says_hold_in_the_incident(mailoutbox):
    set_policy(links_action="hold", max_links=1)
    message = "見積もりをお願いします。https://a.example https://b.example https://c.example"
    response = post({**INQUIRY, "message": message})
    assert response.status_code == 302 and response["Location"] == "/contact/thanks/"
    assert mailoutbox == []
    held = Submission.objects.get()
    assert held.reason == Reason.LINKS and held.value("message") == message
    incidents.flush_pending()
    assert Incident.objects.get().detail["action"] == "hold"
    # A message the rule does not catch is delivered, and not kept.
    assert post(INQUIRY).status_code == 302
    assert len(mailoutbox) == 1 and Submission.objects.filter(status=SubmissionStatus.HELD).count() == 1


def test_a_honeypot_flood_from_one_address_keeps_a_bounded_number_of_rows_and_counts_every_one(mailoutbox):
    set_policy(honeypot_action="fake_success", rate_limit="1000/h", burst_count=1000)
    for _ in range(12):
        assert post({**INQUIRY, HONEYPOT_FIELD: "x"}, ip="203.0.113.50").status_code == 302
    assert Submission.objects.count() == holds.HELD_PER_HOUR
    incidents.flush_pending()
    assert sum(i.count for i in Incident.objects.filter(reason=Reason.HONEYPOT)) == 12
    assert mailoutbox == []


def test_purge_deletes_held_messages_past_their_retention_and_says_how_many(mailoutbox, capsys, monkeypatch):
    from datetime import timedelta

    import time_machine
    from django.core.management import call_command
    from django.utils import timezone, translation

    monkeypatch.setattr(holds, "purge_now_and_then", lambda now: None)  # the command deletes, not the automatic purge
    set_policy(honeypot_action="fake_success", hold_retention_days=7)
    with time_machine.travel(timezone.now() - timedelta(days=8), tick=False):
        post({**INQUIRY, HONEYPOT_FIELD: "old"})
    post({**INQUIRY, HONEYPOT_FIELD: "new"})
    assert Submission.objects.count() == 2
    with translation.override("en"):
        call_command("formguard", "purge", "--yes")
    out = capsys.readouterr().out
    assert "Messages kept past their retention: 1." in out and "Deleted: messages past their retention 1." in out
    assert [s.value("name") for s in Submission.objects.all()] == [INQUIRY["name"]]
    assert Submission.objects.get().expires_at > timezone.now()


def test_a_site_that_never_runs_purge_still_forgets_expired_messages_on_the_next_hold(mailoutbox):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    set_policy(honeypot_action="fake_success", hold_retention_days=1)
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        post({**INQUIRY, HONEYPOT_FIELD: "old"})
    holds.forget_purge_time()
    post({**INQUIRY, HONEYPOT_FIELD: "new"})
    assert Submission.objects.count() == 1
    # At most once an hour per process: the next hold does not look again.
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        post({**INQUIRY, HONEYPOT_FIELD: "old again"})
    post({**INQUIRY, HONEYPOT_FIELD: "new again"})
    assert Submission.objects.count() == 3


def test_a_hold_from_any_step_needs_a_post_djangos_csrf_check_accepts():
    from django.test import RequestFactory

    from formguard.attempt import Verdict
    from formguard.pipeline import make_attempt, run_checks

    def the_filter(attempt):
        return Verdict.hold("filter", Reason.FILTER, detail={"label": "sales", "score": 0.97})

    attempt = make_attempt(RequestFactory().post("/contact/", INQUIRY), "contact")
    attempt.__dict__["csrf_refused"] = True  # a forged POST: Django's CSRF check will refuse it
    assert run_checks(attempt, (the_filter,)).allowed  # on to the 403, no thanks page, nothing kept
    attempt.__dict__["csrf_refused"] = False
    assert run_checks(attempt, (the_filter,)).held
