"""Rate limits, burst bans and block rules, end to end through the demo site."""

import itertools
import logging
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from formguard import incidents, policies
from formguard.models import BlockRule, FormPolicy, Incident, Reason
from formguard.testing import trap_fields

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


_senders = itertools.count()


def post(client, data, ip="203.0.113.5", **extra):
    # A flood of different senders, each from a form shown a moment ago:
    # these tests are about limits per IP (tests/test_traps.py has the rest).
    data = {**data, "email": f"sender{next(_senders)}@example.jp", **trap_fields("contact")}
    return client.post("/contact/", data, REMOTE_ADDR=ip, **extra)


def test_flood_from_one_ip_is_slowed_then_banned(client, mailoutbox, contact_data, admin_client):
    statuses = [post(client, contact_data).status_code for _ in range(12)]
    # Default policy: 5 per 10 minutes, then 429; more than 10 POSTs within 60 s: ban.
    assert statuses == [302] * 5 + [429] * 5 + [403] * 2
    assert len(mailoutbox) == 5

    limited = post(client, contact_data, ip="203.0.113.5")
    assert limited.status_code == 403
    assert client.get("/contact/", REMOTE_ADDR="203.0.113.5").status_code == 403

    rule = BlockRule.objects.get(network="203.0.113.5")
    assert rule.source == BlockRule.Source.AUTOMATIC
    assert rule.offence == 1
    assert rule.form_key == "contact"
    # One hour, plus up to 10 % so that a bot cannot time its return.
    assert timedelta(hours=1) <= rule.expires_at - timezone.now() <= timedelta(hours=1.1)
    assert "burst" in rule.reason

    page = admin_client.get("/admin/formguard/blockrule/").content.decode()
    assert "203.0.113.5" in page and "11 sends within 1 minute" in page

    # Everyone else keeps posting.
    assert post(client, contact_data, ip="198.51.100.20").status_code == 302
    assert len(mailoutbox) == 6


def test_rate_limited_answer_has_retry_after_and_keeps_the_message(client, contact_data):
    for _ in range(5):
        post(client, contact_data)
    response = post(client, contact_data)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 600
    assert contact_data["message"] in response.content.decode()


def test_incidents_count_the_flood_exactly(client, contact_data):
    for _ in range(30):
        post(client, contact_data)
    incidents.flush_pending()
    counts = dict(Incident.objects.values_list("reason", "count"))
    assert counts == {Reason.RATE_LIMITED: 5, Reason.BURST: 1, Reason.AUTO_BANNED: 19}
    assert BlockRule.objects.get().hits == 19


def test_ban_expires_and_the_next_burst_earns_a_longer_ban(client, contact_data):
    for _ in range(11):
        post(client, contact_data)
    first = BlockRule.objects.get()
    assert post(client, contact_data).status_code == 403

    with time_machine.travel(first.expires_at + timedelta(seconds=1), tick=False):
        assert post(client, contact_data).status_code == 302
        for _ in range(11):
            post(client, contact_data)
        second = BlockRule.objects.filter(offence=2).get()
        assert timedelta(hours=4) <= second.expires_at - timezone.now() <= timedelta(hours=4.4)
        assert post(client, contact_data).status_code == 403

    with time_machine.travel(second.expires_at + timedelta(seconds=1), tick=False):
        for _ in range(12):
            post(client, contact_data)
        third = BlockRule.objects.get(offence=3)
        assert timedelta(hours=16) <= third.expires_at - timezone.now() <= timedelta(hours=17.6)


def burst_from(client, contact_data, ip="203.0.113.5"):
    for _ in range(11):
        post(client, contact_data, ip=ip)
    return BlockRule.objects.filter(network=ip).latest("created_at")


def ban_length(rule):
    return rule.expires_at - rule.created_at


def test_a_ban_long_after_the_last_one_is_a_first_offence_again(client, contact_data):
    # A dynamic address reassigned to a new customer does not inherit the
    # old holder's history (default look-back: 30 days).
    assert burst_from(client, contact_data).offence == 1
    with time_machine.travel(timezone.now() + timedelta(days=40), tick=False):
        again = burst_from(client, contact_data)
        assert again.offence == 1
        assert timedelta(hours=1) <= ban_length(again) <= timedelta(hours=1.1)


def test_within_the_look_back_window_bans_grow(client, contact_data):
    assert burst_from(client, contact_data).offence == 1
    with time_machine.travel(timezone.now() + timedelta(days=10), tick=False):
        second = burst_from(client, contact_data)
        assert second.offence == 2
        assert timedelta(hours=4) <= ban_length(second) <= timedelta(hours=4.4)


def test_the_look_back_counts_from_the_end_of_the_last_ban(client, contact_data):
    # A repeat offender who sat out a ban at the cap (30 days, as long as the
    # look-back) is still one when it comes back: the window starts when the
    # earlier ban ended, not when it began.
    from formguard.rules import add_rule

    served = add_rule(
        "203.0.113.5", duration=timedelta(days=30), source=BlockRule.Source.AUTOMATIC, offence=6, form_key="contact"
    )
    with time_machine.travel(served.expires_at + timedelta(hours=1), tick=False):
        again = burst_from(client, contact_data)
        assert again.offence == 7
        # Never above the cap, jitter included.
        assert ban_length(again) == timedelta(days=30)


def test_the_look_back_window_is_a_policy_value(client, contact_data):
    client.get("/contact/")
    FormPolicy.objects.filter(form_key="contact").update(ban_lookback=24 * 3600)
    from formguard import policies

    policies.invalidate()
    assert burst_from(client, contact_data).offence == 1
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        assert burst_from(client, contact_data).offence == 1
        with time_machine.travel(timezone.now() + timedelta(hours=12), tick=False):
            assert burst_from(client, contact_data).offence == 2


def test_automatic_ban_lengths_vary_and_stay_within_bounds(client, contact_data):
    # 220 POSTs within a minute: more than the demo's flood breaker allows
    # (tests/test_traps.py), which this test is not about.
    FormPolicy.objects.filter(form_key="*").update(flood_limit="off")
    policies.invalidate()
    lengths = [ban_length(burst_from(client, contact_data, ip=f"198.51.100.{i}")) for i in range(1, 21)]
    assert all(timedelta(hours=1) <= length <= timedelta(hours=1.1) for length in lengths)
    assert len(set(lengths)) > 1


def test_ban_growth_is_capped():
    from formguard.rules import ban_duration

    assert [ban_duration(n, 3600, 4.0, 86400) for n in (1, 2, 3, 4)] == [3600, 14400, 57600, 86400]


def test_policy_values_from_the_admin_apply(client, contact_data):
    client.get("/contact/")
    FormPolicy.objects.filter(form_key="contact").update(rate_limit="2/h", burst_count=3, burst_window=30)
    from formguard import policies

    policies.invalidate()
    statuses = [post(client, contact_data).status_code for _ in range(5)]
    assert statuses == [302, 302, 429, 403, 403]


def test_cli_ban_of_a_range_and_unban(client, contact_data, capsys):
    call_command("formguard", "ban", "203.0.113.0/24", "--reason", "spam range")
    assert post(client, contact_data, ip="203.0.113.77").status_code == 403
    assert client.get("/contact/", REMOTE_ADDR="203.0.113.77").status_code == 403
    assert post(client, contact_data, ip="203.0.114.1").status_code == 302

    with pytest.raises(CommandError, match="203.0.113.0/24"):
        call_command("formguard", "unban", "203.0.113.77")
    call_command("formguard", "unban", "203.0.113.0/24")
    assert post(client, contact_data, ip="203.0.113.77").status_code == 302
    assert "Lifted 1" in capsys.readouterr().out


def test_cli_ban_for_a_time(client, contact_data):
    call_command("formguard", "ban", "2001:db8:1::/48", "--for", "1d")
    rule = BlockRule.objects.get()
    assert rule.network == "2001:db8:1::/48"
    assert timedelta(hours=23, minutes=59) < rule.expires_at - timezone.now() <= timedelta(days=1)
    assert post(client, contact_data, ip="2001:db8:1:ff::1").status_code == 403
    with time_machine.travel(rule.expires_at + timedelta(seconds=1), tick=False):
        assert post(client, contact_data, ip="2001:db8:1:ff::1").status_code == 302


@pytest.mark.parametrize("bad", ["not-an-ip", "10.0.0.0/33", "::g"])
def test_cli_refuses_bad_networks(bad):
    with pytest.raises(CommandError, match="Not an IP"):
        call_command("formguard", "ban", bad)
    assert not BlockRule.objects.exists()


def test_allowlisted_ip_is_never_limited_nor_banned(client, contact_data, mailoutbox):
    call_command("formguard", "allow", "192.0.2.0/28", "--reason", "office")
    statuses = {post(client, contact_data, ip="192.0.2.3").status_code for _ in range(30)}
    assert statuses == {302}
    assert len(mailoutbox) == 30
    assert not BlockRule.objects.filter(kind=BlockRule.Kind.BLOCK).exists()


def test_ipv6_addresses_of_one_64_share_one_counter_and_one_ban(client, contact_data):
    first, second = "2001:db8:aa:bb::1", "2001:db8:aa:bb:ffff::2"
    statuses = [post(client, contact_data, ip=first if i % 2 else second).status_code for i in range(11)]
    assert statuses == [302] * 5 + [429] * 5 + [403]
    rule = BlockRule.objects.get()
    assert rule.network == "2001:db8:aa:bb::/64"
    assert post(client, contact_data, ip=first).status_code == 403
    assert client.get("/contact/", REMOTE_ADDR=second).status_code == 403
    # The neighbouring /64 is another household.
    assert post(client, contact_data, ip="2001:db8:aa:bc::1").status_code == 302


def test_ipv4_mapped_clients_count_as_their_ipv4_address(client, contact_data):
    for i in range(5):
        assert post(client, contact_data, ip=f"::ffff:192.0.2.{i + 1}").status_code == 302
    # Five different IPv4 clients, none of them limited: no shared /64 bucket.
    assert post(client, contact_data, ip="::ffff:192.0.2.1").status_code == 302


@override_settings(FORMGUARD={"TRUSTED_PROXIES": ["10.0.0.0/8"]})
def test_behind_a_trusted_proxy_the_real_client_is_banned(client, contact_data):
    for _ in range(11):
        post(client, contact_data, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.50")
    assert BlockRule.objects.get().network == "203.0.113.50"
    # Another visitor through the same proxy is fine.
    assert post(client, contact_data, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 302


@override_settings(FORMGUARD={"TRUSTED_PROXIES": ["::ffff:10.0.0.2"]})
def test_customers_behind_a_proxy_written_ipv4_mapped_are_counted_apart(client, contact_data):
    # A dual-stack server reports the IPv4 proxy as ::ffff:10.0.0.2; the
    # sixth real customer behind it must not inherit the others' count.
    statuses = [
        post(client, contact_data, ip="::ffff:10.0.0.2", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
        for i in range(1, 7)
    ]
    assert statuses == [302] * 6
    assert not BlockRule.objects.exists()


def test_without_trusted_proxies_a_forged_header_changes_nothing(client, contact_data):
    statuses = [
        post(client, contact_data, ip="198.51.100.77", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(11)
    ]
    assert statuses[-1] == 403
    assert BlockRule.objects.get().network == "198.51.100.77"


def test_admin_bulk_actions_on_rules(client, contact_data, admin_client):
    for _ in range(11):
        post(client, contact_data)
    rule = BlockRule.objects.get()
    admin_client.post("/admin/formguard/blockrule/", {"action": "make_permanent", "_selected_action": [rule.pk]})
    rule.refresh_from_db()
    assert rule.expires_at is None
    admin_client.post("/admin/formguard/blockrule/", {"action": "lift_rules", "_selected_action": [rule.pk]})
    rule.refresh_from_db()
    assert not rule.is_active_at(timezone.now())
    # Lifting does not reset the counters; once the burst window has passed
    # the IP is back under the ordinary rate limit, and not banned again.
    with time_machine.travel(timezone.now() + timedelta(seconds=70), tick=False):
        assert post(client, contact_data).status_code in (302, 429)
    assert BlockRule.objects.count() == 1


def test_admin_extend_action(admin_client):
    call_command("formguard", "ban", "198.51.100.1", "--for", "1h")
    rule = BlockRule.objects.get()
    before = rule.expires_at
    admin_client.post("/admin/formguard/blockrule/", {"action": "extend_rules", "_selected_action": [rule.pk]})
    rule.refresh_from_db()
    assert rule.expires_at - before == timedelta(days=7)


def test_admin_adds_a_rule_and_it_applies_at_once(client, contact_data, admin_client):
    response = admin_client.post(
        "/admin/formguard/blockrule/add/",
        {"network": "203.0.113.0/25", "kind": "block", "source": "manual", "reason": "by hand", "offence": 1},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert post(client, contact_data, ip="203.0.113.100").status_code == 403


def test_admin_rejects_a_bad_network(admin_client):
    response = admin_client.post(
        "/admin/formguard/blockrule/add/", {"network": "10.0.0.300", "kind": "block", "source": "manual"}
    )
    assert response.status_code == 200
    assert not BlockRule.objects.exists()


def test_admin_search_and_filters(admin_client):
    call_command("formguard", "ban", "198.51.100.1")
    call_command("formguard", "ban", "198.51.100.2", "--for", "1h")
    BlockRule.objects.filter(network="198.51.100.2").update(expires_at=timezone.now() - timedelta(hours=1))
    in_force = admin_client.get("/admin/formguard/blockrule/?active=yes").content.decode()
    assert "198.51.100.1" in in_force and "198.51.100.2" not in in_force
    found = admin_client.get("/admin/formguard/blockrule/?q=198.51.100.2").content.decode()
    assert "198.51.100.2" in found


def test_incident_admin_bans_selected_ips(client, admin_client, contact_data):
    call_command("formguard", "close", "--form", "contact")
    post(client, contact_data, ip="203.0.113.8")
    call_command("formguard", "open", "--form", "contact")
    incident = Incident.objects.get()
    admin_client.post("/admin/formguard/incident/", {"action": "ban_incident_ips", "_selected_action": [incident.pk]})
    assert post(client, contact_data, ip="203.0.113.8").status_code == 403


def test_inspect_page_shows_the_proxy_reading(admin_client):
    call_command("formguard", "ban", "203.0.113.0/24", "--reason", "spam range")
    with override_settings(FORMGUARD={"TRUSTED_PROXIES": ["127.0.0.1"]}):
        response = admin_client.get(
            "/admin/formguard/blockrule/inspect/?ip=203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 2001:db8::7"
        )
    page = response.content.decode()
    assert response.status_code == 200
    assert '<code id="fg-client-ip">2001:db8::7</code>' in page
    assert "2001:db8::/64" in page
    assert "X-Forwarded-For: 1.2.3.4, 2001:db8::7" in page
    assert "203.0.113.0/24" in page  # the rule matching the typed IP


def test_inspect_command(client, capsys):
    client.get("/contact/")
    call_command("formguard", "ban", "203.0.113.0/24")
    capsys.readouterr()
    call_command("formguard", "inspect", "203.0.113.9")
    out = capsys.readouterr().out
    assert "203.0.113.0/24" in out
    # What the visitor meets, in words (issue 23): no HTTP status code for the owner to decode.
    assert "contact: opening the form: refused: blacklisted" in out
    assert "403" not in out


BROKEN_REDIS = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:9/0",
    "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
}


@pytest.fixture(params=["redis", "embedded"])
def dead_cache(request, settings):
    """formguard's store, dead: a real Redis client pointed at a port nobody
    listens on, or an embedded store whose file cannot be created."""
    if request.param == "redis":
        overrides = {"CACHES": {**settings.CACHES, "fg": BROKEN_REDIS}, "FORMGUARD": {"CACHE": "fg"}}
    else:
        overrides = {"FORMGUARD": {"STATE_PATH": "/proc/formguard-dead/state.sqlite3"}}
    with override_settings(**overrides):
        yield


def test_dead_cache_fail_open_lets_visitors_through_and_logs_once(contact_data, dead_cache, client, mailoutbox, caplog):
    with caplog.at_level(logging.ERROR, logger="formguard.store"):
        statuses = [post(client, contact_data).status_code for _ in range(8)]
    assert statuses == [302] * 8
    assert len(mailoutbox) == 8
    outage_lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(outage_lines) == 1


def test_dead_cache_fail_closed_refuses_posts_but_serves_the_form(dead_cache, client, contact_data, mailoutbox):
    from django.conf import settings

    with override_settings(FORMGUARD={**settings.FORMGUARD, "CACHE_FAILURE": "closed"}):
        _fail_closed(client, contact_data, mailoutbox)


def _fail_closed(client, contact_data, mailoutbox):
    assert client.get("/contact/").status_code == 200
    response = post(client, contact_data)
    assert response.status_code == 503
    assert mailoutbox == []
    assert contact_data["message"] in response.content.decode()
    assert Incident.objects.get().reason == Reason.CACHE_UNAVAILABLE


def test_dead_cache_blacklist_and_close_switch_still_work(dead_cache, client, contact_data):
    call_command("formguard", "ban", "203.0.113.66")
    assert post(client, contact_data, ip="203.0.113.66").status_code == 403
    call_command("formguard", "close", "--form", "contact")
    assert client.get("/contact/").status_code == 503
    assert Incident.objects.filter(reason=Reason.CLOSED).exists()


def test_an_ipv6_48_spraying_its_64s_is_limited_and_banned_as_one(client, contact_data, mailoutbox):
    """One holder of a /48 owns 65,536 /64s: each /64 alone stays under the
    per-client limit, the /48 does not (policy: 20 per 10 minutes, burst 40)."""
    FormPolicy.objects.filter(form_key="*").update(burst_count=1000, ipv6_network_burst_count=30)
    from formguard import policies

    policies.invalidate()
    sprayer = [f"2001:db8:77:{i:x}::1" for i in range(40)]
    statuses = [post(client, contact_data, ip=ip).status_code for ip in sprayer]
    assert statuses[:20] == [302] * 20
    assert set(statuses[20:30]) == {429}
    assert statuses[30] == 403
    rule = BlockRule.objects.get()
    assert rule.network == "2001:db8:77::/48" and rule.source == BlockRule.Source.AUTOMATIC
    # Every /64 of it is refused now, and the neighbouring /48 is not.
    assert post(client, contact_data, ip="2001:db8:77:ffff::9").status_code == 403
    assert post(client, contact_data, ip="2001:db8:78::1").status_code == 302
    assert len(mailoutbox) == 21


def test_ipv4_clients_have_no_network_counter(client, contact_data):
    # 30 addresses of one /24 are 30 clients: no wider counter for IPv4.
    statuses = [post(client, contact_data, ip=f"198.51.100.{i}").status_code for i in range(1, 31)]
    assert statuses == [302] * 30
