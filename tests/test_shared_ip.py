"""Shared addresses (a school, an office, a carrier's CGNAT): the captcha instead of 429, up to a ceiling."""

import pytest
from django.conf import settings
from django.test import override_settings

from formguard import incidents, policies
from formguard.models import BlockRule, FormPolicy, Incident, Reason
from formguard.testing import trap_fields
from tests.test_altcha import post, solve

pytestmark = [pytest.mark.django_db, pytest.mark.state]

SCHOOL = "203.0.113.9"


@pytest.fixture(autouse=True)
def demo_settings(frozen_clock):
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD):
        yield


def policy(**values):
    policies.ensure_row("contact")
    FormPolicy.objects.filter(form_key="contact").update(captcha_difficulty=10, **values)
    policies.invalidate()


def visitor(n: int) -> dict[str, str]:
    return {
        "name": f"生徒 {n}",
        "email": f"student{n}@example.jp",
        "message": f"{n} 番目の問い合わせです。",
        **trap_fields("contact"),
    }


def test_thirty_people_behind_one_address_each_solving_all_get_through(client, mailoutbox):
    policy(shared_ip_challenge=True)  # rate limit 5/10m, burst 10/60s, ceiling 60: the defaults
    statuses = [post(client, visitor(n), solve(client, ip=SCHOOL), ip=SCHOOL).status_code for n in range(30)]
    assert statuses == [302] * 30
    assert len(mailoutbox) == 30
    assert not BlockRule.objects.exists()
    incidents.flush_pending()
    challenged = Incident.objects.get(reason=Reason.SHARED_IP)
    assert challenged.count == 25  # each POST past the rate limit, on the record
    assert not Incident.objects.exclude(reason=Reason.SHARED_IP).exists()


def test_without_shared_ip_mode_the_sixth_gets_429_even_with_a_solution(client, mailoutbox):
    policy()
    statuses = [post(client, visitor(n), solve(client, ip=SCHOOL), ip=SCHOOL).status_code for n in range(6)]
    assert statuses == [302] * 5 + [429]


def test_a_person_past_the_limit_gets_the_form_back_with_the_captcha_and_their_text(client):
    policy(shared_ip_challenge=True, captcha_required=False)
    for n in range(5):
        assert post(client, visitor(n), ip=SCHOOL).status_code == 302  # no captcha asked below the limit
    response = post(client, visitor(5), ip=SCHOOL)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert "<altcha-widget" in page and visitor(5)["message"] in page
    assert "Many messages have just come from your network" in page
    assert post(client, visitor(5), solve(client, ip=SCHOOL), ip=SCHOOL).status_code == 302


def test_a_bot_without_solutions_gets_429_then_is_banned_at_the_ceiling(client, mailoutbox):
    policy(shared_ip_challenge=True, captcha_required=False, shared_ip_ceiling=20)
    statuses = [post(client, visitor(n), ip=SCHOOL).status_code for n in range(22)]
    assert statuses[:5] == [302] * 5  # the rate limit lets five through
    assert statuses[5:20] == [429] * 15  # then the captcha, which the bot does not solve
    assert statuses[20:] == [403, 403]  # past the ceiling: the burst ban, as without shared-IP mode
    rule = BlockRule.objects.get()
    assert rule.source == BlockRule.Source.AUTOMATIC
    assert len(mailoutbox) == 5
    incidents.flush_pending()
    reasons = dict(Incident.objects.values_list("reason", "count"))
    assert reasons[Reason.SHARED_IP] == 15 and reasons[Reason.CAPTCHA] == 15 and reasons[Reason.BURST] == 1
