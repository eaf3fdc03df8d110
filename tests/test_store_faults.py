"""When the store fails: seen, bounded, recovered, and no report silently wrong (issue 20).

Each fault is made for real beside a running site: gunicorn with two workers,
the command line as another process (as an operator's terminal is), a flusher
killed with SIGKILL, the state file deleted, its modes made read-only with the
site running bound by file modes (root without CAP_DAC_OVERRIDE, which is what
a site's own user is: the interpreter lives under /root here, so `nobody` could
not start it), a small tmpfs filled up. The Redis faults (SIGSTOP, SIGTERM) are
in tests/test_store_faults_redis.py.

After each fault: no 5xx, one log line when the outage starts and one when it
ends, `check` and `status` truthful, recovery without a restart, and a report
that counts every refusal the clients got or says in numbers what it left out.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.utils import timezone

from tests.test_state import ROOT, Site, _free_port, post_contact, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# Root, but bound by file modes as any other user is.
BOUND_BY_MODES = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all")
WORKERS = 2
# "is unavailable" / "answers again": one line each per process and outage.
DOWN, UP = "is unavailable", ") answers again."
# The command line speaks the demo's language (LANGUAGE_CODE "ja"): `status`
# says "does not answer or cannot be written", "it wants at least 16 MiB";
# the report "N refusals are not in these counts yet".
UNWRITABLE = "応答がないか、書き込めません"
WANTS_16_MIB = "16 MiB 以上必要です"
NOT_YET = "件の拒否が、この件数にまだ入っていません"


@pytest.fixture(autouse=True)
def _embedded_only():
    if connection.vendor != "sqlite":
        pytest.skip("these faults are the embedded store's (Redis: test_store_faults_redis.py)")


class FaultySite(Site):
    """The demo site under gunicorn, its log kept, its processes optionally bound by file modes."""

    workers = WORKERS

    def __init__(self, tmp_path: Path, *, prefix: tuple[str, ...] = (), **env: str):
        self.prefix = prefix
        self.extra = env
        self.log_path = tmp_path / "server.log"
        super().__init__(tmp_path)
        self.env.update(env)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        self.env.update(self.extra)
        return subprocess.run(
            [*self.prefix, sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done

    def start(self, *command: str) -> str:
        port = _free_port()
        argv = [*self.prefix, sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{port}"]
        log = self.log_path.open("a")
        process = subprocess.Popen(
            [*argv, "project.wsgi"], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=log
        )
        self.servers.append(process)
        return self.answering(f"http://127.0.0.1:{port}")

    def open_to_a_flood(self) -> Visitors:
        """The site started, with the flood breaker off and 203.0.113.0/24 banned; its visitors."""
        _quiet_flood_breaker(self)
        self.manage("formguard", "ban", "203.0.113.0/24", "--for", "1d")
        return Visitors(self.start())

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def lines(self, text: str) -> int:
        return sum(text in line for line in self.log().splitlines())

    def report(self) -> tuple[dict, str]:
        """The JSON report of yesterday to tomorrow from the command line, and what it said on stderr."""
        today = timezone.localdate()
        done = self.manage(
            "formguard",
            "report",
            "--since",
            str(today - timedelta(days=1)),
            "--until",
            str(today + timedelta(days=1)),
            "--format",
            "json",
        )
        return json.loads(done.stdout), done.stderr


class Visitors:
    """Clients of the running site: customers (each from an address of their own) and banned senders."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()
        self.session.get(url + "/contact/", headers={"X-Forwarded-For": "192.0.2.1"}, timeout=5)
        self.token = self.session.cookies["csrftoken"]
        self.statuses: list[int] = []
        self.slowest = 0.0
        self.customer = 0

    def post(self, ip: str) -> int:
        started = time.monotonic()
        status = post_contact(self.url, ip, self.session, self.token)
        self.slowest = max(self.slowest, time.monotonic() - started)
        self.statuses.append(status)
        return status

    def banned(self, n: int) -> None:
        for i in range(n):
            assert self.post(f"203.0.113.{i % 200 + 1}") == 403

    def customers(self, n: int) -> list[int]:
        seen = []
        for _ in range(n):
            self.customer += 1
            seen.append(self.post(f"198.18.{self.customer // 250}.{self.customer % 250 + 1}"))
        return seen

    def one_sender(self, n: int) -> list[int]:
        """``n`` POSTs from one new address (the demo's rate limit is 5 in 10 minutes)."""
        self.customer += 1
        ip = f"198.18.{self.customer // 250}.{self.customer % 250 + 1}"
        return [self.post(ip) for _ in range(n)]

    def for_seconds(self, seconds: float) -> None:
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            self.banned(2)
            self.customers(1)

    @property
    def refused(self) -> int:
        """What the report counts: submissions refused (403 banned, 429 over the limit)."""
        return self.statuses.count(403) + self.statuses.count(429)

    def no_server_errors(self) -> None:
        assert not [s for s in self.statuses if s >= 500], self.statuses


def _quiet_flood_breaker(site: FaultySite) -> None:
    # These tests count refusals per address; the demo's flood breaker would close the form under them.
    site.manage(
        "shell",
        "-c",
        "from formguard import policies; from formguard.models import FormPolicy; policies.ensure_row('*'); "
        "FormPolicy.objects.filter(form_key='*').update(flood_limit='off'); policies.invalidate()",
    )


def _flusher(site: FaultySite, action: str) -> subprocess.Popen:
    """A command-line process that takes the incident flush and then does ``action`` in place of the batch.

    It loops until it has tallies to flush, so it holds the claim when the action runs."""
    code = (
        "import os, signal, time\n"
        "from formguard import incidents\n"
        f"incidents._flush_batch = lambda items: {action}\n"
        "while True:\n"
        "    incidents.flush_pending()\n"
        "    time.sleep(0.05)\n"
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=site.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_flusher_killed_holding_the_claim_leaves_no_report_silently_wrong(tmp_path):
    site = FaultySite(tmp_path)
    try:
        visitors = site.open_to_a_flood()
        visitors.banned(20)
        # A process dies (SIGKILL) in the middle of a flush, holding the claim.
        killed = _flusher(site, "os.kill(os.getpid(), signal.SIGKILL)")
        while killed.poll() is None:
            visitors.banned(2)
        assert killed.returncode == -signal.SIGKILL
        visitors.banned(20)
        report, said = site.report()
        # Its claim is taken over at once: every refusal the clients got is counted.
        assert (report["total"], report.get("uncounted")) == (visitors.refused, 0), said
        assert "took over the incident flush" in said + site.log()

        # A live flusher that is slow (and keeps renewing its claim) is waited
        # for, then the report says in numbers what it could not count.
        slow = _flusher(site, "[(incidents._renew(incidents.get_store()), time.sleep(0.5)) for _ in range(600)]")
        try:
            while True:
                visitors.banned(2)
                assert slow.poll() is None, "the slow flusher ended"
                holder = site.manage(
                    "shell", "-c", "from formguard.store import get_store; print(get_store().get('incidents:flush'))"
                ).stdout
                if f"|{slow.pid}|" in holder:
                    break
            visitors.banned(10)
            report, said = site.report()
            assert report["uncounted"] > 0 and report["complete"] is False
            assert report["total"] + report["uncounted"] == visitors.refused
            assert f"{report['uncounted']} {NOT_YET}" in said
        finally:
            slow.kill()
            slow.wait(10)
        # Its claim is free as soon as it has died.
        report, said = site.report()
        assert (report["total"], report["uncounted"]) == (visitors.refused, 0), said
        visitors.no_server_errors()
    finally:
        site.stop()


def test_the_state_file_deleted_under_the_running_site(tmp_path):
    site = FaultySite(tmp_path)
    try:
        visitors = site.open_to_a_flood()
        visitors.banned(20)
        assert visitors.customers(3) == [302] * 3
        state = Path(f"{site.env['DEMO_DB']}-formguard")
        assert state.exists()
        # An operator "resets" the state: the files go while every worker has them open.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{state}{suffix}").unlink(missing_ok=True)
        visitors.for_seconds(1.5)
        # A ban from the command line (which opens the file the path names now) reaches every worker in time.
        site.manage("formguard", "ban", "198.51.100.0/24", "--for", "1d")
        delays = [wait_for(visitors.url, f"198.51.100.{n}", 403, limit=2.0) for n in range(1, 9)]
        print("seconds from the ban to the site's answer, after the file was deleted:", [round(d, 2) for d in delays])
        visitors.banned(20)
        report, said = site.report()
        # What the workers counted in the deleted file was moved over: nothing lost. (The report
        # holds every refusal: the eight GETs that first met the ban too.)
        assert (report["total"], report["uncounted"]) == (visitors.refused + len(delays), 0), said
        # Each worker said so once; no outage.
        assert 1 <= site.lines("was deleted or replaced") <= WORKERS, site.log()
        assert site.lines(DOWN) == 0, site.log()
        assert UNWRITABLE not in site.manage("formguard", "status").stdout
        visitors.no_server_errors()
    finally:
        site.stop()


def _modes(state_dir: Path, files: int, directory: int) -> None:
    for path in state_dir.iterdir():
        path.chmod(files)
    state_dir.chmod(directory)


def test_a_store_that_cannot_be_written_is_said_once_and_recovers(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    site = FaultySite(tmp_path, prefix=BOUND_BY_MODES, FORMGUARD_STATE_PATH=str(state_dir / "state.sqlite3"))
    try:
        site.manage("formguard", "status")  # makes the state file
        assert (state_dir / "state.sqlite3").exists()
        # Read-only, as the issue found it: files 0400, directory 0500, then
        # workers start (a file already open stays writable).
        _modes(state_dir, 0o400, 0o500)
        visitors = site.open_to_a_flood()
        visitors.for_seconds(5)
        # It answers reads but refuses writes: one line per worker, no flapping.
        assert 1 <= site.lines(DOWN) <= WORKERS, site.log()
        assert site.lines(UP) == 0, site.log()
        check = site.run("check")
        assert "formguard.W002" in check.stdout + check.stderr
        assert UNWRITABLE in site.manage("formguard", "status").stdout
        # The modes restored: every worker writes again, without a restart.
        _modes(state_dir, 0o600, 0o700)
        visitors.for_seconds(5)
        assert visitors.one_sender(6)[-1] == 429  # the rate limit (5/10m) counts again
        assert 1 <= site.lines(UP) <= WORKERS, site.log()
        assert site.lines(DOWN) <= WORKERS, site.log()
        check = site.run("check")
        assert "formguard.W002" not in check.stdout + check.stderr
        assert UNWRITABLE not in site.manage("formguard", "status").stdout
        # Refusals during the outage went straight to the log: every one counted.
        report, said = site.report()
        assert (report["total"], report["uncounted"]) == (visitors.refused, 0), said
        visitors.no_server_errors()
        # No request waited more than the store's busy timeout and a little.
        assert visitors.slowest < 2.0, visitors.slowest
    finally:
        site.stop()
        _modes(state_dir, 0o600, 0o700)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs (root can mount one); skipped where mounting is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_the_write_ahead_log_stays_small_on_a_small_disk(tmp_path, small_disk):
    site = FaultySite(tmp_path, FORMGUARD_STATE_PATH=str(small_disk / "state.sqlite3"))
    # 3,000 requests' counting, one transaction each, from a process of the site.
    wal = small_disk / "state.sqlite3-wal"
    done = site.manage(
        "shell",
        "-c",
        "import os\n"
        "from formguard import ratelimits\n"
        "failed, largest = 0, 0\n"
        "for i in range(3000):\n"
        "    try:\n"
        "        ratelimits.hit([ratelimits.Limit('rate:contact', f'10.1.{i // 250}.{i % 250}', '5/10m')])\n"
        "    except Exception:\n"
        "        failed += 1\n"
        f"    largest = max(largest, os.stat({str(wal)!r}).st_size)\n"
        "print(failed, largest, sum(os.stat(p).st_size for p in os.scandir(os.path.dirname("
        f"{str(wal)!r}))))",
    )
    failed, largest, total = map(int, done.stdout.split()[-3:])
    print(f"3,000 counts on a 4 MiB disk: {failed} failed; the WAL at most {largest} bytes, the files {total} bytes")
    assert failed == 0
    assert largest <= 1.5 * 2**20


def test_a_full_disk_is_said_once_warned_before_and_recovers(tmp_path, small_disk):
    site = FaultySite(tmp_path, FORMGUARD_STATE_PATH=str(small_disk / "state.sqlite3"))
    try:
        visitors = site.open_to_a_flood()
        visitors.for_seconds(1)
        # 4 MiB is less than the store asks to have free: check and status warn before it runs out.
        check = site.run("check")
        assert "formguard.W008" in check.stdout + check.stderr
        assert WANTS_16_MIB in site.manage("formguard", "status").stdout
        filler = _fill(small_disk)
        visitors.for_seconds(5)
        assert 1 <= site.lines(DOWN) <= WORKERS, site.log()
        assert site.lines(UP) == 0, site.log()
        assert UNWRITABLE in site.manage("formguard", "status").stdout
        check = site.run("check")
        assert "formguard.W002" in check.stdout + check.stderr
        filler.unlink()
        visitors.for_seconds(5)
        assert visitors.one_sender(6)[-1] == 429
        assert site.lines(UP) == site.lines(DOWN), site.log()
        assert UNWRITABLE not in site.manage("formguard", "status").stdout
        report, said = site.report()
        assert (report["total"], report["uncounted"]) == (visitors.refused, 0), said
        visitors.no_server_errors()
    finally:
        site.stop()
