"""The decision function, tested directly on Attempts."""

import ipaddress
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from formguard import rules
from formguard.models import BlockRule, Reason
from formguard.pipeline import CHECKS, Attempt, Verdict, check_blacklist, check_closed, run_checks
from formguard.policies import Closure, Policy

pytestmark = pytest.mark.django_db
rf = RequestFactory()


def policy(**overrides):
    values = dict(
        form_key="contact",
        enabled=True,
        monitor_only=False,
        rate_limit="3/m",
        burst_count=5,
        burst_window=60,
        ban_duration=600,
        ban_growth=2.0,
        ban_max=3600,
    )
    values.update(overrides)
    return Policy(**values)


def attempt(ip="198.51.100.7", method="post", **policy_overrides):
    request = getattr(rf, method)("/contact/", REMOTE_ADDR=ip)
    return Attempt(
        request=request,
        form_key="contact",
        policy=policy(**policy_overrides),
        ip=ipaddress.ip_address(ip),
        now=timezone.now(),
    )


def closed_until(minutes):
    until = timezone.now() + timedelta(minutes=minutes) if minutes else None
    return (Closure(scope="form", until=until, message_ja="", message_en=""),)


def test_nothing_to_object_to_allows():
    verdict = run_checks(attempt())
    assert verdict.allowed
    assert verdict.monitored == ()


def test_closed_is_503_with_retry_after():
    verdict = run_checks(attempt(closures=closed_until(10)))
    assert not verdict.allowed
    assert verdict.reason == Reason.CLOSED
    assert verdict.status == 503
    assert 590 <= verdict.retry_after <= 600


def test_closed_without_reopen_time_has_no_retry_after():
    verdict = run_checks(attempt(closures=closed_until(None)))
    assert verdict.status == 503
    assert verdict.retry_after is None


def test_longer_closure_wins():
    now = timezone.now()
    both = (
        Closure(scope="site", until=now + timedelta(hours=1), message_ja="", message_en=""),
        Closure(scope="form", until=None, message_ja="", message_en=""),
    )
    assert policy(closures=both).closure_at(now).scope == "form"


def test_allowlist_skips_every_later_check():
    rules.add_rule("198.51.100.0/24", kind=BlockRule.Kind.ALLOW)
    rules.add_rule("198.51.100.7", reason="also blacklisted")
    verdict = run_checks(attempt(closures=closed_until(10)))
    assert verdict.allowed
    assert verdict.check == "allowlist"


def test_blacklist_is_403_and_names_the_rule():
    rule = rules.add_rule("198.51.100.0/24", reason="spam")
    verdict = run_checks(attempt())
    assert (verdict.allowed, verdict.status, verdict.reason) == (False, 403, Reason.BLACKLISTED)
    assert verdict.rule_id == rule.pk


def test_blacklist_applies_to_get_too():
    rules.add_rule("198.51.100.7")
    assert run_checks(attempt(method="get")).status == 403


def test_first_verdict_wins_closed_before_blacklist():
    rules.add_rule("198.51.100.7")
    verdict = run_checks(attempt(closures=closed_until(10)))
    assert verdict.reason == Reason.CLOSED


def test_monitor_only_runs_every_check_and_refuses_nothing():
    rules.add_rule("198.51.100.7")
    verdict = run_checks(attempt(monitor_only=True, closures=closed_until(10)))
    assert verdict.allowed
    assert [v.reason for v in verdict.monitored] == [Reason.CLOSED, Reason.BLACKLISTED]


def test_disabled_protection_keeps_only_allowlist_and_close_switch():
    rules.add_rule("198.51.100.7")
    assert run_checks(attempt(enabled=False)).allowed
    assert run_checks(attempt(enabled=False, closures=closed_until(10))).status == 503


def test_rate_limit_counts_posts_only():
    for _ in range(10):
        assert run_checks(attempt(method="get")).allowed


@pytest.mark.usefixtures("frozen_clock")
def test_rate_limit_then_burst():
    statuses = [run_checks(attempt()).status for _ in range(6)]
    # 3/m allowed, then 429; the 6th POST within the minute exceeds the burst of 5.
    assert statuses == [200, 200, 200, 429, 429, 403]
    burst = run_checks(attempt())
    assert burst.reason == Reason.BURST
    assert burst.ban["network"] == ipaddress.ip_network("198.51.100.7/32")


def test_an_expired_rule_does_not_match():
    BlockRule.objects.create(network="198.51.100.7", expires_at=timezone.now() - timedelta(seconds=1))
    rules.invalidate()
    assert run_checks(attempt()).allowed


def test_checks_are_in_the_documented_order():
    names = [c.__name__ for c in CHECKS]
    assert names == [
        "check_released",
        "check_allowlist",
        "check_closed",
        "check_escalated",
        "check_blacklist",
        "check_country",
        "check_verified",
        "check_rate_limit",
        "check_burst",
        "check_flood",
        "check_traps",
        "check_captcha",
        "check_flood_last_resort",
        "check_filter",
    ]


def test_run_checks_with_a_subset():
    rules.add_rule("198.51.100.7")
    verdict = run_checks(attempt(closures=closed_until(5)), (check_blacklist, check_closed))
    assert verdict.reason == Reason.BLACKLISTED
    assert isinstance(verdict, Verdict)


@pytest.mark.parametrize("rate", ["5/10m", "10/m", "9/7s", "3/h", "100/d"])
def test_windows_end_where_django_ratelimits_do(rate):
    """formguard counts in django-ratelimit's windows; its public get_usage says where they end."""
    import time_machine
    from django.http import HttpRequest
    from django.test import override_settings
    from django_ratelimit.core import get_usage

    from formguard import ratelimits

    _, period = ratelimits.parse_rate(rate)
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    for moment in (1_700_000_000, 1_700_000_123, 1_700_003_599, 1_800_000_001):
        for client in ("192.0.2.1", "2001:db8::/64", "203.0.113.77"):
            with time_machine.travel(moment, tick=False), override_settings(CACHES=caches):
                usage = get_usage(HttpRequest(), group="g", key=lambda g, r, c=client: c, rate=f"1/{period}s")
                assert ratelimits.window_end(client, period, moment) == moment + usage["time_left"]
