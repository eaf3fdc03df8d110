"""State shared by every process, and floods from many addresses.

These run twice: on the demo's defaults (SQLite, the embedded store) in the
first pytest session, and on PostgreSQL + Redis in the scale-out session
(``-m "services or state"``, servers started by scripts/test.sh). The site
under test is always a real server process (runserver or gunicorn), and the
command line is a second one, as an operator's terminal would be.
"""

from __future__ import annotations

import itertools
import os
import resource
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from formguard import policies, ratelimits, reports, rules
from formguard.models import BlockRule, FormPolicy, Incident, Reason
from formguard.store import get_store
from formguard.testing import trap_fields

pytestmark = [pytest.mark.state, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    """The demo site as an operator runs it: its own database, its own processes."""

    def __init__(self, tmp_path: Path):
        self.mail_dir = tmp_path / "mail"
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="project.settings",
            FORMGUARD_TRUSTED_PROXIES="127.0.0.1",
            DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            DJANGO_EMAIL_FILE_PATH=str(self.mail_dir),
            DJANGO_DEBUG="0",
            PYTHONDONTWRITEBYTECODE="1",
            # These tests count POSTs across processes; the demo's captcha is not what they are about.
            FORMGUARD_DEMO_CAPTCHA="off",
        )
        if connection.vendor == "postgresql":
            # The test database, which this test process also sees.
            self.env["FORMGUARD_PG_NAME"] = connection.settings_dict["NAME"]
        else:
            # A file of the site's own, as `bash scripts/demo.sh` has: the
            # servers and the command line find the same embedded store by
            # themselves, from it.
            self.env["DEMO_DB"] = str(tmp_path / "site.sqlite3")
            self.manage("migrate", "--noinput", "-v", "0")
        self.servers: list[subprocess.Popen] = []

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done

    def start(self, *command: str) -> str:
        port = _free_port()
        if command[0] == "gunicorn":
            argv = [sys.executable, "-m", "gunicorn", *command[1:], "-b", f"127.0.0.1:{port}", "project.wsgi"]
        else:
            argv = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.servers.append(process)
        return self.answering(f"http://127.0.0.1:{port}")

    def answering(self, url: str) -> str:
        """``url`` once the server there answers."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(url + "/admin/login/", timeout=5)
                return url
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"the server at {url} did not start")

    def stop(self) -> None:
        for process in self.servers:
            process.terminate()
            process.wait(10)

    def mails(self) -> int:
        if not self.mail_dir.exists():
            return 0
        return sum(path.read_text().count("Subject:") for path in self.mail_dir.glob("*.log"))


@pytest.fixture
def site(tmp_path):
    made = Site(tmp_path)
    try:
        yield made
    finally:
        made.stop()


def get(url: str, ip: str) -> int:
    return requests.get(url + "/contact/", headers={"X-Forwarded-For": ip}, timeout=5).status_code


def wait_for(url: str, ip: str, status: int, limit: float = 1.0) -> float:
    """Seconds until ``GET /contact/`` from ``ip`` answers ``status``; fails after ``limit``."""
    started = time.monotonic()
    while True:
        answered = get(url, ip)
        elapsed = time.monotonic() - started
        if answered == status:
            return elapsed
        assert elapsed <= limit, f"still {answered} after {elapsed:.2f} s, wanted {status}"
        time.sleep(0.02)


def test_command_line_switches_reach_the_running_site_within_a_second(site):
    url = site.start("runserver")
    visitor, flooder = "198.51.100.20", "203.0.113.77"
    assert get(url, visitor) == 200
    delays = {}
    site.manage("formguard", "close", "--for", "1h")
    delays["close"] = wait_for(url, visitor, 503)
    site.manage("formguard", "open")
    delays["open"] = wait_for(url, visitor, 200)
    site.manage("formguard", "ban", flooder, "--for", "1d")
    delays["ban"] = wait_for(url, flooder, 403)
    assert get(url, visitor) == 200
    site.manage("formguard", "unban", flooder)
    delays["unban"] = wait_for(url, flooder, 200)
    print("seconds from the command's return to the site's answer:", {k: round(v, 3) for k, v in delays.items()})


_customers = itertools.count()


def post_contact(url: str, ip: str, session: requests.Session, token: str, timeout: float = 5) -> int:
    # A new connection each time, so that any worker may take it. Each
    # customer with their own address, from a form shown seconds ago.
    inquiry = {"name": "山田", "email": f"c{next(_customers)}@example.jp", "message": "在庫はありますか"}
    return session.post(
        url + "/contact/",
        data={"csrfmiddlewaretoken": token, **inquiry, **trap_fields("contact", age=5)},
        headers={"X-Forwarded-For": ip, "Referer": url + "/contact/", "Connection": "close"},
        allow_redirects=False,
        timeout=timeout,
    ).status_code


def test_several_workers_share_one_limit(site):
    url = site.start("gunicorn", "-w", "4")
    session = requests.Session()
    session.get(url + "/contact/", headers={"X-Forwarded-For": "192.0.2.1"}, timeout=5)
    token = session.cookies["csrftoken"]
    statuses = [post_contact(url, "203.0.113.10", session, token) for _ in range(20)]
    # The demo's policy: 5 per 10 minutes, then 429; more than 10 POSTs in
    # 60 s bans. Four workers, one count.
    assert statuses.count(302) == 5, statuses
    assert statuses[:5] == [302] * 5
    assert site.mails() == 5
    assert statuses[-1] == 403


def _policy(**values):
    # The demo's flood breaker would close the form under these floods; they test the limits per address.
    defaults = {"enabled": True, "monitor_only": False, "flood_limit": "off", **values}
    FormPolicy.objects.update_or_create(form_key="*", defaults=defaults)
    FormPolicy.objects.filter(form_key="plain").delete()
    policies.invalidate()


@pytest.mark.timeout(360)  # 20,000 requests: on a loaded machine and Redis, past the default 120 s
def test_a_botnet_rotating_500_addresses_meets_the_limit(client):
    # An hour's window: on a loaded machine the 20,000 POSTs take longer than
    # a minute, and with a one-minute window most addresses' windows ended
    # during the flood, so too few POSTs were over the limit to show anything.
    _policy(rate_limit="10/h", burst_count=1_000_000, burst_window=60)
    addresses = [f"10.{i // 250}.{i % 250}.{i % 7 + 1}" for i in range(500)]
    sent = 20_000
    # The clock runs (Redis expires keys by its own): an address whose
    # window ends during the flood may send 10 more. Which requests are over
    # the limit is worked out per address and window.
    in_window: dict[tuple[str, int], int] = {}
    over = 0
    statuses: dict[int, int] = {}
    refused_from: dict[str, int] = {}
    for i in range(sent):
        ip = addresses[i % 500]
        window = (ip, ratelimits.window_end(ip, 3600, int(time.time())))
        in_window[window] = in_window.get(window, 0) + 1
        over += in_window[window] > 10
        status = client.post("/t/plain/", {"m": "x"}, REMOTE_ADDR=ip).status_code
        statuses[status] = statuses.get(status, 0) + 1
        if status == 429:
            refused_from[ip] = refused_from.get(ip, 0) + 1
    refused = statuses.get(429, 0)
    print(f"{get_store().describe()}: {sent} POSTs from 500 addresses: {statuses}; {refused}/{over} over-limit refused")
    assert refused >= 0.98 * over
    assert over >= 10_000  # most of the flood is over the limit
    report = reports.build(timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1))
    assert report.total == refused
    assert {s.ip_bucket: s.count for s in report.senders} == refused_from


@pytest.mark.parametrize("order", ["round-robin", "per-address bursts"])
@pytest.mark.usefixtures("frozen_clock")
def test_refusals_from_500_addresses_are_counted_exactly(client, order):
    _policy(rate_limit="1000000/d", burst_count=1_000_000, burst_window=60)
    rules.add_rule("10.0.0.0/16", reason="botnet")
    addresses = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(500)]
    per_address = 40
    if order == "round-robin":
        sequence = [addresses[i % 500] for i in range(500 * per_address)]
    else:
        sequence = [a for a in addresses for _ in range(per_address)]
    for ip in sequence:
        assert client.post("/t/plain/", {"m": "spam"}, REMOTE_ADDR=ip).status_code == 403
    report = reports.build(timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1))
    assert report.total == len(sequence) == 20_000
    assert len(report.senders) == 500
    assert {s.ip for s in report.senders} == set(addresses)
    assert all(s.count == per_address and s.reasons == {Reason.BLACKLISTED: per_address} for s in report.senders)
    assert rules.find_block(addresses[0]) is not None
    assert BlockRule.objects.get().hits == 20_000
    assert Incident.objects.count() == 500


def _store_size(store) -> str:
    path = getattr(store, "path", None)
    if path:
        size = sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
        return f"file {size / 1e6:.1f} MB"
    info = store._client.info("memory")
    return f"Redis used_memory {info['used_memory'] / 1e6:.1f} MB"


def test_50000_distinct_addresses_leave_memory_and_disk_bounded():
    store = get_store()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    now = time.time()
    for i in range(50_000):
        client = f"11.{i // 62500}.{i // 250 % 250}.{i % 250}"
        ratelimits.hit(
            [ratelimits.Limit("rate:contact", client, "5/10m"), ratelimits.Limit("burst:contact", client, "10/60s")],
            now,
        )
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"after 50,000 addresses: {_store_size(store)}; this process's peak RSS grew {(rss_after - rss_before) / 1024:.1f} MB"
    )
    # Nothing of it is kept in the process.
    assert rss_after - rss_before < 50 * 1024
    if store.name == "embedded":
        rows = store._run("SELECT COUNT(*) FROM counter")[0][0]
        assert rows == 100_000
        # Once their windows end, later requests' clean-ups delete them, a batch at a time.
        for _ in range(100_000 // 5000 + 1):
            store._next_cleanup = 0
            with time_machine.travel(now + 3600):
                ratelimits.hit([ratelimits.Limit("rate:contact", "192.0.2.1", "5/10m")])
        left = store._run("SELECT COUNT(*) FROM counter")[0][0]
        print(f"an hour later: {left} counter rows, {_store_size(store)} (pages reused, not grown)")
        assert left == 1
    else:
        # Redis forgets each window by itself: every key has a TTL within its window.
        keys = list(store._client.scan_iter(match=f"{store.prefix}:w:*", count=5000))
        # (the first burst windows may have ended already)
        assert 50_000 <= len(keys) <= 100_000
        ttls = store._client.pipeline(transaction=False)
        for key in keys[:2000]:
            ttls.ttl(key)
        found = ttls.execute()
        # -1 would be a key that never goes; -2 one that has gone meanwhile.
        assert -1 not in found and max(found) <= 600 + ratelimits.EXPIRATION_FUDGE


def test_round_trips_per_request(client):
    _policy(rate_limit="1000000/d", burst_count=1_000_000, burst_window=60)
    store = get_store()

    def trips(method, ip, **data):
        before = store.operations
        response = getattr(client, method)("/t/plain/", data, REMOTE_ADDR=ip)
        return response.status_code, store.operations - before

    # The process's first requests load what it keeps (a POST also the form's flood state).
    client.get("/t/plain/", REMOTE_ADDR="192.0.2.1")
    client.post("/t/plain/", {"m": "hello"}, REMOTE_ADDR="192.0.2.1")
    # The generations are read at most twice a second, so at most one more.
    assert trips("get", "192.0.2.2")[1] <= 1
    status, used = trips("post", "192.0.2.3", m="hello")
    assert status == 200 and 1 <= used <= 2
    rules.add_rule("203.0.113.0/24")
    trips("post", "203.0.113.5", m="spam")  # a new incident: its detail too
    status, used = trips("post", "203.0.113.5", m="spam")
    assert status == 403 and 1 <= used <= 2


def test_a_sites_own_test_suite_passes_with_the_helper(tmp_path):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="project.settings", PYTHONDONTWRITEBYTECODE="1")
    # Its own test database, not this session's (on PostgreSQL both would be test_<name>).
    env.pop("FORMGUARD_PG_NAME", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "test", "project.contact", "-v", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Ran 5 tests" in done.stderr
    # Without the helper the same tests meet each other's counts.
    source = (ROOT / "project" / "contact" / "tests.py").read_text()
    bare = tmp_path / "tests_without_helper.py"
    bare.write_text(
        source.replace("class ContactFormTests(FormGuardTestMixin, TestCase):", "class ContactFormTests(TestCase):")
    )
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{ROOT}"
    done = subprocess.run(
        [sys.executable, "manage.py", "test", "tests_without_helper"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "429" in done.stderr


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_every_process_of_a_site_finds_the_same_store_by_itself(tmp_path):
    from formguard.store import default_state_path

    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "site.sqlite3")}
    postgres = {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "HOST": "127.0.0.1"}
    with override_settings(DATABASES={"default": sqlite}):
        assert default_state_path() == tmp_path / "site.sqlite3-formguard"
    with override_settings(DATABASES={"default": {**sqlite, "NAME": ":memory:"}}):
        assert str(os.getpid()) in default_state_path().name
    with override_settings(DATABASES={"default": postgres}):
        first = default_state_path()
        assert first == default_state_path() and first.parent.name.startswith("formguard-")
    with override_settings(DATABASES={"default": {**postgres, "NAME": "other_shop"}}):
        assert default_state_path() != first


def test_a_switch_is_announced_only_when_its_transaction_commits():
    from django.db import transaction

    from formguard import generations

    store = get_store()

    def generation():
        return store.read(["generation:policies"]).get("generation:policies", 0)

    before = generation()
    with transaction.atomic():
        policies.set_closed("contact", True)
        # Another process reloading now would read the old row: it must not
        # be told of a new generation yet.
        assert generation() == before
    assert generation() > before
    generations.expire()
    assert policies.get_policy("contact").closure_at(timezone.now()) is not None


def test_a_late_request_counts_in_the_newer_window():
    from formguard.store import WindowCounter

    store = get_store()
    assert store.hit([WindowCounter("late:x", 200, 60)]) == [1]
    assert store.hit([WindowCounter("late:x", 200, 60)]) == [2]
    # Read the clock before the boundary, written after the newer window
    # began: it must not start the newer window's count again.
    store.hit([WindowCounter("late:x", 100, 60)])
    assert store.hit([WindowCounter("late:x", 200, 60)])[0] >= 3
    assert store.hit([WindowCounter("late:x", 300, 60)]) == [1]


def test_a_state_directory_others_could_write_is_refused(tmp_path):
    from formguard.store import StoreUnavailable
    from formguard.store.embedded import EmbeddedStore

    shared = tmp_path / "formguard-someone"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(StoreUnavailable, match="this user's alone"):
        EmbeddedStore(shared / "state.sqlite3", private_dir=True).read(["x"])
    shared.chmod(0o700)
    assert EmbeddedStore(shared / "state.sqlite3", private_dir=True).read(["x"]) == {}


def test_a_reader_flush_ends_while_a_flood_goes_on(client):
    import threading

    from formguard import incidents

    rules.add_rule("10.9.0.0/16")
    for i in range(50):
        client.post("/t/plain/", {"m": "x"}, REMOTE_ADDR=f"10.9.0.{i + 1}")
    store = get_store()
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            store.tally(f"{int(time.time())}|0|closed|10.9.9.9|plain", time.time())

    thread = threading.Thread(target=flood)
    thread.start()
    try:
        started = time.monotonic()
        incidents.flush_pending()
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        thread.join()


def test_the_flood_breaker_escalates_the_form_once_for_four_workers(site):
    site.manage(
        "shell",
        "-c",
        "from formguard import policies; from formguard.models import FormPolicy; policies.ensure_row('*'); "
        "FormPolicy.objects.filter(form_key='*').update(flood_limit='30/d', flood_close_minutes=30); "
        "policies.invalidate()",
    )
    url = site.start("gunicorn", "-w", "4")
    session = requests.Session()
    session.get(url + "/contact/", headers={"X-Forwarded-For": "192.0.2.1"}, timeout=5)
    token = session.cookies["csrftoken"]
    # 40 customers from 40 addresses, each on a new connection (any worker).
    statuses = [post_contact(url, f"198.51.100.{n + 1}", session, token) for n in range(40)]
    # One count across the workers; past 30 the bar goes up (no captcha in
    # these runs: the customers still get through), and the form stays open.
    assert statuses == [302] * 40, statuses
    assert site.mails() == 40 + 0  # the site has no ADMINS: the inquiries only
    # One escalation, by one worker, marked automatic, whatever the others saw meanwhile.
    done = site.manage(
        "shell",
        "-c",
        "from formguard.models import ActionLog; "
        "print([(a.action, a.automatic, a.actor, a.detail, a.until is not None) for a in ActionLog.objects.all()])",
    )
    assert (
        done.stdout.strip().splitlines()[-1]
        == "[('escalated', True, 'auto', 'flood breaker: 31 POSTs over 30/d', True)]"
    )
    assert get(url, "203.0.113.50") == 200
