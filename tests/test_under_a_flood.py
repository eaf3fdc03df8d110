"""Under a flood: the bar goes up for everyone, the form stays open (issue 19, item 1).

Through the demo's /contact/ with Django's test client, CSRF enforced as a
browser meets it. A forged POST (no CSRF token, no time token) must not count
towards the flood; submissions that look real (the form loaded, its tokens
sent back) do, and past the limit every POST must pass the captcha until the
escalation ends by itself.
"""

import itertools
import logging
from datetime import UTC, datetime, timedelta

import altcha
import pytest
import time_machine
from django.conf import settings
from django.core.checks import run_checks
from django.test import Client, override_settings
from django.utils import timezone

from formguard import policies, ratelimits
from formguard.models import ActionLog, FormPolicy
from formguard.testing import captcha_solution
from tests.test_incidents_reports import OWNER
from tests.test_traps import FormInputs, set_policy

pytestmark = pytest.mark.django_db

INQUIRY = {"name": "山田 太郎", "message": "商品の在庫について教えてください。"}
_addresses = (f"10.{n // 250 % 250}.{n % 250}.{n // 62500 + 1}" for n in itertools.count(1))
_mails = itertools.count()


def a_window_start(period: int) -> datetime:
    """The start of the flood counter's window of ``period`` seconds (windows end at fixed times)."""
    end = ratelimits.window_end("*", period, int(timezone.now().timestamp()))
    return datetime.fromtimestamp(end + 1, tz=UTC)


def show_form(client: Client, ip: str) -> dict[str, str]:
    parser = FormInputs()
    parser.feed(client.get("/contact/", REMOTE_ADDR=ip).content.decode())
    return parser.fields


def send_like_a_person(client: Client, clock, ip: str | None = None, **extra_data):
    """Load the form, take a few seconds, send it back with its CSRF and time tokens and trap fields."""
    ip = ip or next(_addresses)
    fields = show_form(client, ip)
    fields.pop("altcha", None)
    clock.shift(5)
    data = {**fields, **INQUIRY, "email": f"c{next(_mails)}@example.jp", **extra_data}
    return client.post("/contact/", data, REMOTE_ADDR=ip)


def work(client: Client) -> int:
    """Tries a solver needs for a fresh challenge of the form's proof of work."""
    challenge = client.get("/contact/?formguard=altcha-challenge", REMOTE_ADDR="192.0.2.2").json()
    return altcha.solve_challenge(altcha.Challenge.from_dict(challenge)).counter


def no_false_alarm(caplog) -> None:
    assert not [r for r in caplog.records if "did not check it" in r.getMessage()]


def test_forged_posts_do_not_move_the_flood_counter_nor_log_false_alarms(mailoutbox, caplog):
    client = Client(enforce_csrf_checks=True)
    start = a_window_start(600)
    with override_settings(ADMINS=OWNER), time_machine.travel(start, tick=False) as clock:
        with caplog.at_level(logging.ERROR):
            # 230 empty POSTs without a CSRF token, from 230 addresses, in a second.
            forged = [client.post("/contact/", {}, REMOTE_ADDR=next(_addresses)).status_code for _ in range(230)]
            # A CSRF cookie fetched once and replayed, without the form's time token.
            fields = show_form(client, "192.0.2.250")
            token = fields["csrfmiddlewaretoken"]
            replayed = [
                client.post(
                    "/contact/",
                    {"csrfmiddlewaretoken": token, **INQUIRY, "email": "x@example.jp"},
                    REMOTE_ADDR=next(_addresses),
                ).status_code
                for _ in range(230)
            ]
        assert set(forged) == {403}  # Django's CSRF check
        assert set(replayed) == {200}  # the form again: "could not be checked"
        no_false_alarm(caplog)
        assert not FormPolicy.objects.get(form_key="contact").closed
        assert not ActionLog.objects.exists()  # neither closed nor escalated
        assert mailoutbox == []
        # The counter did not move: the demo's 200 real submissions still go through unescalated.
        policy = policies.get_policy("contact")
        assert policy.flood_limit == "200/10m"
        set_policy("*", flood_limit="3/10m")
        statuses = [send_like_a_person(client, clock).status_code for _ in range(3)]
        assert statuses == [302] * 3
        assert not ActionLog.objects.exists()


@pytest.fixture
def with_captcha():
    """The demo's self-hosted captcha (tests/settings.py switches it off), not asked of everyone."""
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD, ADMINS=OWNER):
        set_policy("*", captcha_required=False, captcha_difficulty=100, flood_limit="20/10m", flood_escalation=15 * 60)
        yield


def test_real_looking_flood_escalates_asks_everyone_for_the_captcha_and_ends_by_itself(
    with_captcha, mailoutbox, caplog, admin_client
):
    client = Client(enforce_csrf_checks=True)
    start = a_window_start(600)
    with time_machine.travel(start, tick=False) as clock, caplog.at_level(logging.ERROR):
        # A page with no captcha before the flood; its proof of work (when asked) is the usual one.
        assert "altcha-widget" not in client.get("/contact/", REMOTE_ADDR="192.0.2.1").content.decode()
        assert max(work(client) for _ in range(5)) <= 100
        before = [send_like_a_person(client, clock).status_code for _ in range(20)]
        assert before == [302] * 20
        assert not ActionLog.objects.exists()
        # The 21st in the window escalates; it is asked for the captcha itself, its text kept.
        crossing = send_like_a_person(client, clock, message="二十一通目です。在庫はありますか。")
        assert crossing.status_code == 200
        page = crossing.content.decode()
        assert "altcha-widget" in page and "二十一通目です。在庫はありますか。" in page
        started = ActionLog.objects.get(action="escalated")
        assert started.at == timezone.now() and started.until == started.at + timedelta(minutes=15)

        # During it: every POST without a solution gets the form back with the captcha and its text.
        for _ in range(5):
            asked = send_like_a_person(client, clock, message="注文の件でご相談があります。")
            assert asked.status_code == 200
            assert (
                "altcha-widget" in asked.content.decode() and "注文の件でご相談があります。" in asked.content.decode()
            )
        # The proof of work asks the flood factor (4) times the usual work (100 here: at most 100 tries).
        assert max(work(client) for _ in range(5)) > 100
        # With a solution it passes.
        solved = send_like_a_person(client, clock, **captcha_solution("contact"))
        assert solved.status_code == 302 and solved["Location"].endswith("/contact/thanks/")

        # Never closed; the owner sees it in the admin, the action log and one mail.
        row = FormPolicy.objects.get(form_key="contact")
        assert not row.closed
        admin_page = admin_client.get(f"/admin/formguard/formpolicy/{row.pk}/change/").content.decode()
        assert "every POST must pass the captcha until" in admin_page and "21 sends" in admin_page
        dashboard = admin_client.get("/admin/formguard/incident/dashboard/").content.decode()
        assert "Under a flood: captcha for everyone" in dashboard and "until" in dashboard
        assert started.automatic and started.target == "contact" and started.actor == "auto"
        assert started.detail == "flood breaker: 21 POSTs over 20/10m"
        admin_mails = [m for m in mailoutbox if "owner@example.jp" in m.to]
        assert len(admin_mails) == 1 and "under a flood" in admin_mails[0].subject

        # It ends by itself: a later visitor gets the usual form, no captcha asked.
        assert "altcha-widget" in client.get("/contact/", REMOTE_ADDR="192.0.2.3").content.decode()
        clock.move_to(started.until + timedelta(seconds=1))
        page = client.get("/contact/", REMOTE_ADDR="192.0.2.3").content.decode()
        assert "altcha-widget" not in page
        assert send_like_a_person(client, clock).status_code == 302
        ended = ActionLog.objects.get(action="escalation_ended")
        assert ended.at == started.until and ended.automatic
        assert len([m for m in mailoutbox if "owner@example.jp" in m.to]) == 1
        assert not FormPolicy.objects.get(form_key="contact").closed
    no_false_alarm(caplog)


def test_under_a_flood_without_a_captcha_customers_still_get_through_and_the_traps_are_strict(mailoutbox):
    # tests/settings.py: no captcha configured. The owner is warned (system check, admin).
    set_policy("*", flood_limit="5/10m", time_trap_action="challenge")
    ids = {m.id for m in run_checks(databases=["default"])}
    assert "formguard.W009" in ids
    client = Client(enforce_csrf_checks=True)
    with time_machine.travel(a_window_start(600), tick=False) as clock:
        statuses = [send_like_a_person(client, clock).status_code for _ in range(30)]
        assert statuses == [302] * 30  # escalated at the 6th, nobody refused, never closed
        assert ActionLog.objects.get(action="escalated").detail == "flood breaker: 6 POSTs over 5/10m"
        assert not FormPolicy.objects.get(form_key="contact").closed
        # Strict traps: sent too fast, which only asked for the captcha, is refused (the text kept).
        fields = show_form(client, "192.0.2.9")
        clock.shift(1)
        fast = client.post(
            "/contact/", {**fields, **INQUIRY, "email": "fast@example.jp"}, REMOTE_ADDR="192.0.2.9"
        ).content.decode()
        assert "too quickly" in fast and INQUIRY["message"] in fast


def test_closing_by_itself_is_a_last_resort_the_owner_opts_into(mailoutbox):
    set_policy("*", flood_limit="5/10m", flood_close_minutes=30)
    client = Client(enforce_csrf_checks=True)
    with time_machine.travel(a_window_start(600), tick=False) as clock:
        assert [send_like_a_person(client, clock).status_code for _ in range(20)] == [302] * 20
        assert not FormPolicy.objects.get(form_key="contact").closed
    set_policy("*", flood_close=True)
    with time_machine.travel(a_window_start(600) + timedelta(hours=1), tick=False) as clock:
        statuses = [send_like_a_person(client, clock).status_code for _ in range(14)]
        # Escalated at the 6th; without a captcha 5 more pass; the 6th to pass under the flood closes it.
        assert statuses == [302] * 10 + [503] * 4, statuses
        row = FormPolicy.objects.get(form_key="contact")
        assert row.closed and row.closed_until is not None
        log = ActionLog.objects.get(action="closed")
        assert log.automatic and log.detail == "flood breaker: 6 POSTs over 5/10m"


def test_no_false_alarm_when_csrf_refuses_first_or_formguard_answers_itself(caplog):
    set_policy("*", flood_limit="off")
    client = Client(enforce_csrf_checks=True)
    links = {"message": "http://a.example/ http://b.example/ http://c.example/", "email": "a@example.jp"}
    with caplog.at_level(logging.ERROR):
        # The demo's view shows formguard's errors, but Django's CSRF check refuses first: the view never runs.
        assert client.post("/contact/", {}, REMOTE_ADDR="192.0.2.20").status_code == 403
        assert client.post("/contact/", links, REMOTE_ADDR="192.0.2.21").status_code == 403
        # A view that never asked for form errors: formguard answers with its own page, the view never runs.
        refused = Client().post("/t/plain/", links, REMOTE_ADDR="192.0.2.22")
        assert refused.status_code == 400 and "http://c.example/" in refused.content.decode()
    no_false_alarm(caplog)
