"""A Redis that freezes (SIGSTOP) and comes back, or dies (SIGTERM) and is restarted (issue 20).

The site (gunicorn, two workers, PostgreSQL) talks to a private redis-server
this test starts, so that stopping it disturbs nothing else; run by
scripts/test.sh with the session's PostgreSQL (pytest -m services).
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.test_state import _free_port
from tests.test_store_faults import DOWN, UNWRITABLE, UP, WORKERS, FaultySite

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_services():
    import shutil

    if connection.vendor != "postgresql" or shutil.which("redis-server") is None:
        pytest.skip("needs PostgreSQL and redis-server (run scripts/test.sh)")


class Redis:
    """A private redis-server that the test can freeze, kill and start again on the same port."""

    def __init__(self, directory: Path):
        self.port = _free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout != b"PONG\n":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(10)


def test_a_frozen_then_killed_redis_costs_one_timeout_and_counts_each_refusal_once(tmp_path):
    redis = Redis(tmp_path)
    site = FaultySite(tmp_path, FORMGUARD_REDIS_URL=redis.url)
    try:
        visitors = site.open_to_a_flood()
        visitors.for_seconds(1)
        before = visitors.slowest

        # Frozen: the tallies sent just before run when it resumes.
        redis.signal(signal.SIGSTOP)
        visitors.for_seconds(3)
        check = site.run("check")
        status = site.run("formguard", "status").stdout
        visitors.for_seconds(1)
        redis.signal(signal.SIGCONT)
        frozen = visitors.slowest
        visitors.for_seconds(5)
        print(f"slowest request: {before:.2f} s before, {frozen:.2f} s while Redis was frozen")
        # The breaker: one socket timeout (0.5 s) per request at most, not one per operation.
        assert frozen < 1.25
        assert "formguard.W002" in check.stdout + check.stderr
        assert UNWRITABLE in status
        assert 1 <= site.lines(DOWN) <= WORKERS, site.log()
        assert site.lines(UP) == site.lines(DOWN), site.log()
        report, said = site.report()
        # Each refusal once: not in the database and again when Redis ran the tally it had received.
        assert (report["total"], report["uncounted"]) == (visitors.refused, 0), said

        # Killed and started again empty (nothing pending was in it: the report flushed it).
        redis.signal(signal.SIGTERM)
        redis.process.wait(10)
        visitors.for_seconds(3)
        redis.start()
        visitors.for_seconds(5)
        assert site.lines(UP) == site.lines(DOWN) <= 2 * WORKERS, site.log()
        report, said = site.report()
        assert (report["total"], report["uncounted"]) == (visitors.refused, 0), said
        visitors.no_server_errors()
        assert visitors.slowest < 1.25
    finally:
        site.stop()
        redis.stop()
