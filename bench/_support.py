"""What both bench scripts share: a throwaway Redis on loopback, and small helpers.

Nothing here imports Django at import time: the scripts start Redis before Django
reads its settings (the cache aliases need its address).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent


# Django accepts the unmasked secret as the form's token: one cookie serves every request.
CSRF_SECRET = "benchbenchbenchbenchbenchbench12"
# The demo's contact form as a person fills it in (the benches add formguard's trap fields).
FIELDS = {
    "csrfmiddlewaretoken": CSRF_SECRET,
    "name": "山田太郎",
    "email": "taro@example.jp",
    "message": "お問い合わせです。営業時間と定休日を教えてください。よろしくお願いします。",
}
BODY = urlencode(FIELDS).encode()

# Japanese addresses (the country filter admits them); a banned /16 and one banned IP in China.
JP_ADDRESSES = [f"133.1.{i // 250}.{i % 250 + 1}" for i in range(500)]
JP_ONE = ["133.1.9.9"]
BANNED_RANGE = "114.114.0.0/16"
BANNED_ADDRESSES = [f"114.114.{i // 250}.{i % 250 + 1}" for i in range(500)]
BANNED_ONE = ["114.200.0.9"]


def setup_django() -> None:
    """Django on the bench's settings (bench/settings.py), DEBUG off, mail kept in memory."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django

    django.setup()


class Wsgi:
    """POSTs straight into Django's WSGI handler, one environ per request."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler  # after django.setup()

        self.handler = WSGIHandler()

    def post(self, path: str, address: str, body: bytes = BODY) -> tuple[float, int]:
        return self.send(post_environ(path, address, body, f"csrftoken={CSRF_SECRET}"))

    def get(self, path: str, address: str) -> tuple[float, int]:
        environ = post_environ(path, address, b"", f"csrftoken={CSRF_SECRET}")
        environ.update(REQUEST_METHOD="GET", CONTENT_TYPE="", CONTENT_LENGTH="")
        return self.send(environ)

    def send(self, environ: dict) -> tuple[float, int]:
        """Time one request through the handler: (seconds, status)."""
        status = []
        start = time.perf_counter()
        response = self.handler(environ, lambda s, headers, exc_info=None: status.append(s))
        for _chunk in response:
            pass
        response.close()  # request_finished, as a server would
        return time.perf_counter() - start, int(status[0][:3])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """Whether 127.0.0.1:``port`` accepts a connection within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
        time.sleep(0.05)
    return False


def stop(proc: subprocess.Popen | None, timeout: float = 5.0) -> None:
    """Stop a child process we started: SIGTERM, then SIGKILL after ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


class Redis:
    """A Redis to bench against: FORMGUARD_BENCH_REDIS_URL or FORMGUARD_TEST_REDIS_URL,
    or a throwaway redis-server.

    ``url`` is None when none is there; ``why_not`` then says why.
    """

    def __init__(self) -> None:
        self.env = next((n for n in ("FORMGUARD_BENCH_REDIS_URL", "FORMGUARD_TEST_REDIS_URL") if os.environ.get(n)), "")
        self.url: str | None = os.environ.get(self.env) if self.env else None
        self.why_not = ""
        self.owned = False
        self._proc: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None
        if self.url:
            return
        binary = shutil.which("redis-server")
        if binary is None:
            self.why_not = "redis-server not found (apt-get install redis-server) and FORMGUARD_TEST_REDIS_URL unset"
            return
        self._dir = tempfile.TemporaryDirectory(prefix="formguard-bench-redis-")
        port = free_port()
        # No persistence, loopback only: a scratch server for this run.
        self._proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", self._dir.name, "--logfile", str(Path(self._dir.name) / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for_port(port, 5.0, self._proc):
            self.close()
            self.why_not = "redis-server did not start within 5 s"
            return
        self.url = f"redis://127.0.0.1:{port}/0"
        self.owned = True

    @property
    def label(self) -> str:
        if not self.url:
            return f"Redis: not available ({self.why_not})"
        return f"Redis: {self.url} ({'throwaway redis-server' if self.owned else self.env})"

    def close(self) -> None:
        stop(self._proc)
        self._proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def percentile(samples: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``samples``, nearest rank."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def goal_mark(value: float, goal: float | None, *, at_most: bool = True) -> str:
    """``≤0.50 ✓`` / ``≥1.50 ✗``: the goal, and whether ``value`` meets it."""
    if goal is None:
        return "—"
    if value != value:  # NaN: not measured
        return f"{'≤' if at_most else '≥'}{goal:.2f} ?"
    met = value <= goal if at_most else value >= goal
    return f"{'≤' if at_most else '≥'}{goal:.2f} {'✓' if met else '✗'}"


def post_environ(path: str, address: str, body: bytes, cookie: str) -> dict:
    """The WSGI environ of a form POST from ``address``, as a server hands it to Django."""

    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_ACCEPT_LANGUAGE": "ja",
        "HTTP_COOKIE": cookie,
        "REMOTE_ADDR": address,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


# The policy every bench runs under, in the site-wide row: limits no run reaches
# (every POST has the same sender address and passes; the flood limit counts all
# of them), the captcha off, and the country filter on (the GeoIP lookup runs on
# every POST; Japan is admitted).
BENCH_POLICY = {
    "enabled": True,
    "monitor_only": False,
    "rate_limit": "1000000/d",
    "burst_count": 1_000_000,
    "burst_window": 60,
    "captcha_required": False,
    "recipient_limit": "1000000/d",
    "flood_limit": "1000000/d",
    "country_mode": "block",
    "allowed_countries": "JP",
}
