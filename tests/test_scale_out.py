"""Scale-out: two server processes sharing one Redis and one PostgreSQL.

Run by scripts/test.sh against real servers it starts (pytest -m services,
with FORMGUARD_REDIS_URL and FORMGUARD_PG_* set).
"""

import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import override_settings

from formguard import incidents, policies, ratelimits, rules
from formguard.models import BlockRule, FormPolicy
from formguard.store import get_store
from formguard.testing import trap_fields

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _needs_services():
    if get_store().name != "redis" or connection.vendor != "postgresql":
        pytest.skip("scale-out tests need FORMGUARD_REDIS_URL and FORMGUARD_PG_NAME (run scripts/test.sh)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, mail_dir: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="project.settings",
            FORMGUARD_PG_NAME=connection.settings_dict["NAME"],  # the test database
            FORMGUARD_TRUSTED_PROXIES="127.0.0.1",
            DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            DJANGO_EMAIL_FILE_PATH=str(mail_dir),
            DJANGO_DEBUG="0",
            FORMGUARD_DEMO_CAPTCHA="off",  # counting across machines, not the captcha
        )
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/admin/login/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"server on {self.port} did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def servers(tmp_path):
    mail_dir = tmp_path / "mail"
    started = [Server(mail_dir), Server(mail_dir)]
    try:
        for server in started:
            server.wait()
        yield started, mail_dir
    finally:
        for server in started:
            server.stop()


_customers = itertools.count()


def contact(server, client_ip, method="post"):
    session = requests.Session()
    form = session.get(server.url + "/contact/", headers={"X-Forwarded-For": client_ip}, timeout=5)
    if method == "get" or form.status_code != 200:
        return form
    token = session.cookies.get("csrftoken")
    return session.post(
        server.url + "/contact/",
        data={
            "csrfmiddlewaretoken": token,
            "name": "山田",
            # Each from its own address, from a form shown a few seconds ago (formguard's traps).
            "email": f"c{next(_customers)}@example.jp",
            "message": "在庫はありますか",
            **trap_fields("contact", age=5),
        },
        headers={"X-Forwarded-For": client_ip, "Referer": server.url + "/contact/"},
        allow_redirects=False,
        timeout=5,
    )


def eventually(server, client_ip, status, method="get"):
    """The answer of ``server`` within one second: a switch flipped in another
    process is promised to arrive that fast, not at once."""
    deadline = time.monotonic() + 1.0
    while True:
        answered = contact(server, client_ip, method).status_code
        if answered == status or time.monotonic() > deadline:
            return answered
        time.sleep(0.02)


def mails(mail_dir):
    return sum(path.read_text().count("Subject:") for path in mail_dir.glob("*.log")) if mail_dir.exists() else 0


def test_counters_and_bans_are_shared_between_processes(servers):
    (a, b), mail_dir = servers
    # Counters run in fixed windows, and the servers' clocks cannot be
    # stopped: long windows make a window ending mid-test unlikely.
    FormPolicy.objects.update_or_create(
        form_key="*",
        defaults={
            "enabled": True,
            "monitor_only": False,
            "rate_limit": "5/d",
            "burst_count": 10,
            "burst_window": 86400,
        },
    )
    policies.invalidate()
    statuses = [contact(a if i % 2 else b, "203.0.113.10").status_code for i in range(12)]
    # One limit for the site, not one per process: 5 sent, then 429, then the ban.
    assert statuses[:5] == [302] * 5
    assert set(statuses[5:10]) == {429}
    assert statuses[10:] == [403, 403]
    assert mails(mail_dir) == 5
    rule = BlockRule.objects.get()
    assert rule.network == "203.0.113.10"
    # Both processes now refuse the banned client even on GET...
    assert eventually(a, "203.0.113.10", 403) == 403
    assert eventually(b, "203.0.113.10", 403) == 403
    # ...and serve everyone else.
    assert contact(a, "198.51.100.3").status_code == 302


def test_a_switch_flipped_in_one_process_reaches_the_others(servers):
    (a, b), _ = servers
    assert contact(a, "198.51.100.4", "get").status_code == 200
    assert contact(b, "198.51.100.4", "get").status_code == 200
    # This test process is a third one (as an admin worker would be).
    policies.set_closed("contact", True)
    assert eventually(a, "198.51.100.4", 503) == 503
    assert eventually(b, "198.51.100.4", 503) == 503
    policies.set_closed("contact", False)
    assert eventually(a, "198.51.100.4", 200) == 200
    assert eventually(b, "198.51.100.4", 200) == 200

    row = FormPolicy.objects.get(form_key="contact")
    row.rate_limit = "1/h"
    row.save()
    time.sleep(1.0)  # the promise: within a second
    assert contact(a, "198.51.100.5").status_code == 302
    assert contact(b, "198.51.100.5").status_code == 429

    rules.add_rule("198.51.100.0/24", reason="from the CLI")
    assert eventually(a, "198.51.100.77", 403) == 403
    assert eventually(b, "198.51.100.77", 403) == 403


def test_every_counter_key_expires():
    client = f"198.51.100.{uuid.uuid4().int % 250}"
    for _ in range(3):
        ratelimits.hit(
            [ratelimits.Limit("rate:contact", client, "5/m"), ratelimits.Limit("burst:contact", client, "9/7s")]
        )
    store = get_store()
    counter_keys = list(store._client.scan_iter(match=f"{store.prefix}:w:*"))
    assert len(counter_keys) == 2
    assert all(0 < store._client.ttl(k) <= 60 + ratelimits.EXPIRATION_FUDGE for k in counter_keys)


def test_django_redis_is_counted_through_its_own_pool():
    store = get_store()
    location = settings.CACHES["formguard"]["LOCATION"]
    timeouts = {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    config = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": location, "OPTIONS": timeouts}
    described = "Redis, cache 'dr'"
    if store.topology.kind == "sentinel":
        # django-redis' own Sentinel client, as its README configures it.
        sentinels = [(host, int(port)) for host, port in (h.split(":") for h in location.split("/")[2].split(","))]
        config["LOCATION"] = f"redis://{store.topology.service}/0"
        config["OPTIONS"] = {
            **timeouts,
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": sentinels,
        }
        described = f"Redis Sentinel (service {store.topology.service!r}), cache 'dr'"
    elif store.topology.kind == "cluster":
        # django-redis has no Cluster client: formguard makes its own from the URL.
        described = "Redis Cluster, cache 'dr'"
    with override_settings(CACHES={**settings.CACHES, "dr": config}, FORMGUARD={**settings.FORMGUARD, "CACHE": "dr"}):
        store = get_store()
        assert store.describe() == described
        limit = ratelimits.Limit("rate:contact", f"192.0.2.{uuid.uuid4().int % 250}", "2/m")
        assert [ratelimits.hit([limit])[0].count for _ in range(3)] == [1, 2, 3]


def test_the_per_address_count_holds_no_address_in_redis(client):
    inquiry = {"name": "山田", "message": "在庫はありますか"}
    statuses = []
    for n, address in enumerate(
        ["Victim@Example.org", "victim@example.org", "victim+x@EXAMPLE.org", "victim@example.org"]
    ):
        data = {**inquiry, "email": address, **trap_fields("contact")}
        statuses.append(client.post("/contact/", data, REMOTE_ADDR=f"203.0.113.{n + 1}").status_code)
    assert statuses == [302, 302, 302, 200]
    # The refusal's incident keeps what was typed (in the database, like every
    # incident's sample); the counting itself keeps a keyed hash only.
    incidents.flush_pending()
    store = get_store()
    keys = list(store._client.scan_iter(match=f"{store.prefix}:*"))
    assert any(b":w:{contact:" in key and b"}:recipient:contact:" in key for key in keys)
    dump = b" ".join(keys)
    for key in keys:
        if store._client.type(key) == b"string":
            dump += b" " + (store._client.get(key) or b"")
        elif store._client.type(key) == b"hash":
            dump += b" ".join(b"%s=%s" % kv for kv in store._client.hgetall(key).items())
    assert b"victim" not in dump.lower() and b"example.org" not in dump.lower()
