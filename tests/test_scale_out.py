"""Scale-out: two server processes sharing one Redis and one PostgreSQL.

Run by scripts/test.sh against real servers it starts (pytest -m services,
with FORMGUARD_REDIS_URL and FORMGUARD_PG_* set).
"""

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
from django.core.cache import caches
from django.db import connection

from formguard import policies, ratelimits, rules
from formguard.models import BlockRule, FormPolicy

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _needs_services():
    backend = settings.CACHES["default"]["BACKEND"]
    if not backend.endswith("RedisCache") or connection.vendor != "postgresql":
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


def contact(server, client_ip, method="post"):
    session = requests.Session()
    form = session.get(server.url + "/contact/", headers={"X-Forwarded-For": client_ip}, timeout=5)
    if method == "get" or form.status_code != 200:
        return form
    token = session.cookies.get("csrftoken")
    return session.post(
        server.url + "/contact/",
        data={"csrfmiddlewaretoken": token, "name": "山田", "email": "a@example.jp", "message": "在庫はありますか"},
        headers={"X-Forwarded-For": client_ip, "Referer": server.url + "/contact/"},
        allow_redirects=False,
        timeout=5,
    )


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
    assert contact(a, "203.0.113.10", "get").status_code == 403
    assert contact(b, "203.0.113.10", "get").status_code == 403
    # ...and serve everyone else.
    assert contact(a, "198.51.100.3").status_code == 302


def test_a_switch_flipped_in_one_process_reaches_the_others(servers):
    (a, b), _ = servers
    assert contact(a, "198.51.100.4", "get").status_code == 200
    assert contact(b, "198.51.100.4", "get").status_code == 200
    # This test process is a third one (as an admin worker would be).
    policies.set_closed("contact", True)
    assert contact(a, "198.51.100.4", "get").status_code == 503
    assert contact(b, "198.51.100.4", "get").status_code == 503
    policies.set_closed("contact", False)
    assert contact(a, "198.51.100.4", "get").status_code == 200
    assert contact(b, "198.51.100.4", "get").status_code == 200

    row = FormPolicy.objects.get(form_key="contact")
    row.rate_limit = "1/h"
    row.save()
    assert contact(a, "198.51.100.5").status_code == 302
    assert contact(b, "198.51.100.5").status_code == 429

    rules.add_rule("198.51.100.0/24", reason="from the CLI")
    assert contact(a, "198.51.100.77", "get").status_code == 403
    assert contact(b, "198.51.100.77", "get").status_code == 403


def _redis():
    return caches["default"]._cache.get_client(None, write=True)


def test_every_counter_key_expires():
    group, client = "formguard:rate:contact", f"198.51.100.{uuid.uuid4().int % 250}"
    for _ in range(3):
        ratelimits.hit(group, client, "5/m")
    redis = _redis()
    counter_keys = [k for k in redis.scan_iter("*") if b"rl:" in k]
    assert counter_keys
    assert all(redis.ttl(k) > 0 for k in counter_keys)


class KeyExpiresDuringIncr:
    """Makes Django's RedisCache.incr lose its race: the key exists when
    EXISTS asks and is gone when INCR runs, as when its TTL ends between."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def exists(self, key):
        found = self._client.exists(key)
        self._client.delete(key)
        return found


@pytest.mark.parametrize("formguard_fixes_it", [True, False])
def test_a_key_recreated_by_incr_gets_its_expiry_back(monkeypatch, formguard_fixes_it):
    cache = caches["default"]
    real = cache._cache.get_client
    monkeypatch.setattr(cache._cache, "get_client", lambda *a, **kw: KeyExpiresDuringIncr(real(*a, **kw)))
    if not formguard_fixes_it:
        monkeypatch.setattr(ratelimits, "_ensure_expiry", lambda *a: None)
    group, client = "formguard:burst:contact", "203.0.113.99"
    ratelimits.hit(group, client, "10/60s")  # add(): has a TTL
    usage = ratelimits.hit(group, client, "10/60s")  # incr() recreates it
    assert usage.count == 1
    redis = real(None, write=True)
    ttls = [redis.ttl(k) for k in redis.scan_iter("*rl:*")]
    if formguard_fixes_it:
        assert ttls and all(t > 0 for t in ttls)
    else:
        # Without formguard's repair the key would live for ever.
        assert -1 in ttls
