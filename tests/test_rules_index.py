"""The block-rule index: right answers, and kept up to date across processes."""

import ipaddress
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from formguard import generations, rules
from formguard.models import BlockRule
from formguard.store import get_store

pytestmark = pytest.mark.django_db


def random_network(rnd):
    if rnd.random() < 0.5:
        return ipaddress.ip_network((rnd.getrandbits(32), rnd.choice([8, 16, 24, 28, 32])), strict=False)
    return ipaddress.ip_network((rnd.getrandbits(128), rnd.choice([16, 32, 48, 56, 64, 128])), strict=False)


def test_index_agrees_with_a_linear_scan():
    rnd = random.Random(11)
    now = timezone.now()
    made = []
    for i in range(400):
        expires = None if i % 3 else now + timedelta(seconds=rnd.choice([-60, 60]))
        made.append(
            BlockRule(network=str(random_network(rnd)), kind=rnd.choice(["block", "allow"]), expires_at=expires)
        )
    BlockRule.objects.bulk_create(made)
    stored = list(BlockRule.objects.all())
    index = rules.RuleIndex(stored)
    probes = [ipaddress.ip_address(r.ip_network.network_address) for r in stored[:100]]
    probes += [ipaddress.IPv4Address(rnd.getrandbits(32)) for _ in range(200)]
    probes += [ipaddress.IPv6Address(rnd.getrandbits(128)) for _ in range(200)]
    for probe in probes:
        expected = {
            r.pk
            for r in stored
            if probe.version == r.ip_network.version and probe in r.ip_network and r.is_active_at(now)
        }
        found = index.matches(probe, now)
        assert {m.rule_id for m in found} == expected
        assert [m.prefixlen for m in found] == sorted((m.prefixlen for m in found), reverse=True)


def other_process_changed_rules(*, full=False):
    """What another worker's save or delete leaves in the store, seen one sync interval later."""
    get_store().bump(["generation:rules", "generation:rules_full"] if full else ["generation:rules"])
    generations.expire()


def rule_queries(ctx):
    return [q["sql"] for q in ctx.captured_queries if "formguard_blockrule" in q["sql"]]


def test_a_rule_added_elsewhere_is_fetched_alone():
    BlockRule.objects.bulk_create([BlockRule(network=f"10.{i // 250}.{i % 250}.0/24") for i in range(300)])
    rules.invalidate(full=True)
    assert rules.get_index().size == 300
    # Another process bans an IP: its row, then the generation in the store.
    BlockRule.objects.bulk_create([BlockRule(network="198.51.100.7", source="auto")])
    other_process_changed_rules()
    with CaptureQueriesContext(connection) as ctx:
        index = rules.get_index()
    assert index.first(ipaddress.ip_address("198.51.100.7"), "block", timezone.now()) is not None
    (query,) = rule_queries(ctx)
    assert '"id" >' in query or 'id" >' in query or '."id" >' in query
    assert index.size == 301


def test_a_lift_elsewhere_is_seen():
    rule = rules.add_rule("198.51.100.0/24")
    assert rules.is_blocked("198.51.100.9")
    now = timezone.now()
    BlockRule.objects.filter(pk=rule.pk).update(expires_at=now, updated_at=now)
    other_process_changed_rules()
    assert not rules.is_blocked("198.51.100.9")


def test_a_deletion_elsewhere_rebuilds():
    rule = rules.add_rule("198.51.100.0/24")
    assert rules.is_blocked("198.51.100.9")
    BlockRule.objects.filter(pk=rule.pk).delete()  # a queryset delete of another process
    other_process_changed_rules(full=True)
    assert not rules.is_blocked("198.51.100.9")


def test_a_rule_from_a_server_whose_clock_is_behind():
    rule = rules.add_rule("198.51.100.0/24", duration=timedelta(hours=1))
    assert rules.is_blocked("198.51.100.9")
    # Lifted by a server 3 s behind: its updated_at is before our last sync.
    earlier = timezone.now() - timedelta(seconds=3)
    BlockRule.objects.filter(pk=rule.pk).update(expires_at=earlier, updated_at=earlier)
    other_process_changed_rules()
    assert not rules.is_blocked("198.51.100.9")


def test_admin_actions_reach_other_processes(admin_client):
    rule = rules.add_rule("198.51.100.0/24", duration=timedelta(minutes=5))
    rules.get_index()
    admin_client.post("/admin/formguard/blockrule/", {"action": "lift_rules", "_selected_action": [rule.pk]})
    assert not rules.is_blocked("198.51.100.9")
    rule2 = rules.add_rule("203.0.113.0/24", duration=timedelta(minutes=5))
    admin_client.post("/admin/formguard/blockrule/", {"action": "make_permanent", "_selected_action": [rule2.pk]})
    rule2.refresh_from_db()
    assert rule2.expires_at is None and rule2.updated_at > rule2.created_at
