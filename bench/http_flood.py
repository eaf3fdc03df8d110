"""A flood over HTTP: the demo under gunicorn (2 sync workers) and wrk on 127.0.0.1
(issue 10). Prints numbers; asserts nothing.

    .venv/py311/bin/python bench/http_flood.py [--duration 10] [--share 0.5] [--backends embedded,redis]

Needs gunicorn (requirements.txt) and wrk (``apt-get install -y wrk``). About 2.5
minutes with the defaults (a little over 1 minute per backend).

For each state backend -- the demo's defaults, and Redis (FORMGUARD_REDIS_URL) --
in a fresh temporary demo database:

1. requests per second of the bare contact form (an unguarded copy of the demo's
   ``/contact/``, bench/urls.py), valid POSTs with a CSRF token: form, mail, redirect;
2. requests per second of formguard's refusals from 500 rotating addresses
   (X-Forwarded-For, the proxy 127.0.0.1 trusted): the form closed
   (``manage.py formguard close``, 503) and a banned /16 (``formguard ban``, 403).
   Ratio to the bare form; goal ≥ 1.5: refusing must cost less than serving;
3. a legitimate visitor (GET /contact/ from its own address, one at a time) and its
   p99 latency, quiet and during a flood of POSTs from 500 addresses of the banned
   range. Goal: p99 during the flood ≤ 2 × quiet, and no 5xx.

The flood in 3 comes at a fixed rate, ``--share`` × what the bare form served in 1
(wrk's per-connection delay). An unbounded flood saturates any server, and the
visitor's latency then measures the flood's connection count, not formguard; at a
fixed rate it measures whether refusing keeps the server below saturation.

gunicorn is restarted for each state (open, closed, banned): on today's demo
defaults each worker has its own cache, and a switch flipped from the command
line does not reach running workers (issue 9). Every run is bounded by
``--duration``; servers bind 127.0.0.1 only and are stopped at exit. The CPU is
shared by the server, wrk and the visitor: compare ratios, not absolute figures.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import REPO, Redis, free_port, goal_mark, percentile, stop, wait_for_port  # noqa: E402

GOAL_RPS_RATIO = 1.5
GOAL_P99_RATIO = 2.0
CSRF_SECRET = "benchbenchbenchbenchbenchbench12"
POST_BODY = urlencode(
    {
        "csrfmiddlewaretoken": CSRF_SECRET,
        "name": "山田太郎",
        "email": "taro@example.jp",
        "message": "お問い合わせです。営業時間と定休日を教えてください。よろしくお願いします。",
    }
)
BANNED_RANGE = "114.114.0.0/16"
VISITOR_ADDRESS = "133.9.9.9"

# wrk: each request from the next of ADDRESSES addresses PREFIX.x.y (X-Forwarded-For);
# statuses counted per thread and summed up, printed as one JSON line.
WRK_SCRIPT = r"""
local method = os.getenv("BENCH_METHOD") or "POST"
local body = os.getenv("BENCH_BODY") or ""
local prefix = os.getenv("BENCH_PREFIX") or "133.2"
local count = tonumber(os.getenv("BENCH_ADDRESSES") or "500")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Cookie"] = "csrftoken=" .. (os.getenv("BENCH_CSRF") or ""),
  ["Accept-Language"] = "ja",
}
local threads = {}
counter = 0
statuses = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = id * 257
end

function request()
  local i = counter % count
  counter = counter + 1
  headers["X-Forwarded-For"] = prefix .. "." .. math.floor(i / 250) .. "." .. (i % 250 + 1)
  return wrk.format(method, nil, headers, body)
end

function response(status, hdrs, resp_body)
  statuses[status] = (statuses[status] or 0) + 1
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local parts = {}
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + n
    end
  end
  for status, n in pairs(totals) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p99_us": %d, "errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each measured run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each rate run (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument(
        "--share", type=float, default=0.5, help="flood rate during the p99 run, × the bare form's req/s (default 0.5)"
    )
    parser.add_argument("--backends", default="embedded,redis", help="which of embedded,redis (default both)")
    return parser.parse_args()


# -- the server --------------------------------------------------------------


@dataclass
class Site:
    """The demo in a temporary directory: its database, its environment, its gunicorn."""

    workdir: Path
    redis_url: str | None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "bench.http_settings",
            "DJANGO_DEBUG": "0",
            "DEMO_DB": str(self.workdir / "demo.sqlite3"),
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "FORMGUARD_TRUSTED_PROXIES": "127.0.0.1",
            # For the embedded store, should the demo read it; harmless otherwise.
            "FORMGUARD_STATE_PATH": str(self.workdir / "formguard-state.sqlite3"),
        }
        env.pop("FORMGUARD_REDIS_URL", None)
        if self.redis_url:
            env["FORMGUARD_REDIS_URL"] = self.redis_url
        return env

    def manage(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        log = open(self.workdir / "gunicorn.log", "a")  # noqa: SIM115 (the child writes it until stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "project.wsgi:application", "--workers", "2"]
            + ["--bind", f"127.0.0.1:{self.port}", "--timeout", "30", "--graceful-timeout", "5"]
            + ["--log-level", "warning"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        log.close()
        if not wait_for_port(self.port, 20.0, self.proc):
            self.stop()
            raise RuntimeError(f"gunicorn did not start; see {self.workdir / 'gunicorn.log'}")

    def stop(self) -> None:
        stop(self.proc, timeout=10.0)
        self.proc = None

    @contextlib.contextmanager
    def serving(self):
        self.start()
        try:
            yield self
        finally:
            self.stop()


# -- load and a visitor ------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    p99_ms: float
    errors: int
    statuses: Counter

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(site: Site, script: Path, path: str, seconds: float, connections: int, **env: str) -> Load:
    """One wrk run against ``path``, bounded by ``seconds``."""
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(script)]
        + [f"http://127.0.0.1:{site.port}{path}"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk said:\n{done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return Load(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p99_ms=data["p99_us"] / 1e3,
        errors=data["errors"],
        statuses=Counter({int(k): v for k, v in data["statuses"].items()}),
    )


def flood_env(prefix: str, *, method: str = "POST", body: str = POST_BODY, delay_ms: int = 0) -> dict[str, str]:
    return {
        "BENCH_METHOD": method,
        "BENCH_BODY": body,
        "BENCH_PREFIX": prefix,
        "BENCH_ADDRESSES": "500",
        "BENCH_DELAY_MS": str(delay_ms),
        "BENCH_CSRF": CSRF_SECRET,
    }


class Visitor(threading.Thread):
    """A legitimate visitor: GET /contact/, read it, pause, again; until ``seconds`` have passed."""

    def __init__(self, port: int, seconds: float, pause: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.port, self.seconds, self.pause = port, seconds, pause
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()

    def run(self) -> None:
        stop_at = time.monotonic() + self.seconds
        while time.monotonic() < stop_at:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            start = time.perf_counter()
            try:
                conn.request("GET", "/contact/", headers={"X-Forwarded-For": VISITOR_ADDRESS, "Accept-Language": "ja"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0  # refused, reset or timed out
            finally:
                conn.close()
            self.latencies.append(time.perf_counter() - start)
            self.statuses[status] += 1
            time.sleep(self.pause)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1e3


def format_statuses(statuses: Counter) -> str:
    return " ".join(f"{'error' if s == 0 else s}×{n}" for s, n in sorted(statuses.items())) or "none"


# -- scenarios ---------------------------------------------------------------


@dataclass
class Outcome:
    backend: str
    bare: Load | None = None
    refusals: dict[str, Load] = field(default_factory=dict)
    quiet_p99: float = float("nan")
    flood_p99: float = float("nan")
    fivexx: int = 0
    note: str = ""


def measure_rate(site: Site, script: Path, args: argparse.Namespace, path: str, prefix: str) -> Load:
    wrk(site, script, path, args.warmup, args.connections, **flood_env(prefix))
    return wrk(site, script, path, args.duration, args.connections, **flood_env(prefix))


def bare_rate(site: Site, script: Path, args: argparse.Namespace, outcome: Outcome) -> None:
    with site.serving():
        outcome.bare = measure_rate(site, script, args, "/bench/bare/", "133.2")
    print(f"  bare form, valid POSTs: {outcome.bare.rate:7.0f} req/s ({format_statuses(outcome.bare.statuses)})")


def refusal_rate(
    site: Site, script: Path, args: argparse.Namespace, outcome: Outcome, name: str, prefix: str, *commands: list[str]
) -> None:
    for command in commands:
        site.manage("formguard", *command)
    with site.serving():
        load = measure_rate(site, script, args, "/contact/", prefix)
    outcome.refusals[name] = load
    ratio = load.rate / outcome.bare.rate if outcome.bare and outcome.bare.rate else float("nan")
    print(
        f"  {name}: {load.rate:7.0f} req/s, ratio to bare {ratio:5.2f} "
        f"goal {goal_mark(ratio, GOAL_RPS_RATIO, at_most=False)} ({format_statuses(load.statuses)}, "
        f"socket errors {load.errors})"
    )


def visitor_p99(site: Site, script: Path, args: argparse.Namespace, outcome: Outcome) -> None:
    """Quiet, then during a fixed-rate flood from 500 addresses of the banned range."""
    site.manage("formguard", "open")
    site.manage("formguard", "ban", BANNED_RANGE, "--reason", "bench")
    target = args.share * (outcome.bare.rate if outcome.bare else 100.0)
    delay_ms = max(1, round(args.connections * 1000 / max(target, 1.0)))
    with site.serving():
        # Concurrent GETs, so that every worker has served the page before the visitor comes.
        wrk(site, script, "/contact/", args.warmup, 4, **flood_env("133.9", method="GET", body=""))
        quiet = Visitor(site.port, args.duration)
        quiet.run()
        loud = Visitor(site.port, args.duration)
        loud.start()
        flood = wrk(
            site, script, "/contact/", args.duration, args.connections, **flood_env("114.114", delay_ms=delay_ms)
        )
        loud.join(args.duration + 10)
    outcome.quiet_p99, outcome.flood_p99 = quiet.p99_ms, loud.p99_ms
    fivexx = sum(n for s, n in (flood.statuses + loud.statuses + quiet.statuses).items() if s >= 500)
    outcome.fivexx = fivexx
    ratio = loud.p99_ms / quiet.p99_ms
    print(
        f"  visitor's p99: quiet {quiet.p99_ms:6.1f} ms ({len(quiet.latencies)} GETs, {format_statuses(quiet.statuses)}); "
        f"during the flood {loud.p99_ms:6.1f} ms ({len(loud.latencies)} GETs, {format_statuses(loud.statuses)})\n"
        f"    ratio {ratio:5.2f} goal {goal_mark(ratio, GOAL_P99_RATIO)}; 5xx {fivexx} (goal 0); "
        f"flood {flood.rate:.0f} req/s (aimed at {target:.0f} = {args.share} × bare) from 500 banned addresses, "
        f"{format_statuses(flood.statuses)}, socket errors {flood.errors}"
    )


def run_backend(label: str, redis_url: str | None, script: Path, args: argparse.Namespace) -> Outcome:
    outcome = Outcome(label)
    print(f"\n[{label}]", flush=True)
    with tempfile.TemporaryDirectory(prefix="formguard-bench-http-") as workdir:
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url, socket_timeout=2).flushdb()
        site = Site(Path(workdir), redis_url)
        try:
            site.manage("migrate", "--noinput", "-v", "0")
            bare_rate(site, script, args, outcome)
            refusal_rate(site, script, args, outcome, "closed form (503), 500 addresses", "133.3", ["close"])
            refusal_rate(
                site,
                script,
                args,
                outcome,
                "banned /16 (403), 500 addresses",
                "114.114",
                ["open"],
                ["ban", BANNED_RANGE, "--reason", "bench"],
            )
            visitor_p99(site, script, args, outcome)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            outcome.note = str(exc)
            print(f"  stopped: {exc}")
        finally:
            site.stop()
    return outcome


def print_table(outcomes: list[Outcome]) -> None:
    print(
        "\n| state | bare req/s | closed req/s (ratio) | banned req/s (ratio) | goal | p99 quiet → flood (ratio) | goal | 5xx |"
    )
    print("|---|---:|---:|---:|---|---:|---|---:|")
    for o in outcomes:
        if o.bare is None:
            print(f"| {o.backend} | not available: {o.note} |||||||")
            continue
        cells = []
        for name in ("closed form (503), 500 addresses", "banned /16 (403), 500 addresses"):
            load = o.refusals.get(name)
            cells.append(f"{load.rate:.0f} ({load.rate / o.bare.rate:.2f})" if load else "–")
        ratios = [load.rate / o.bare.rate for load in o.refusals.values()]
        worst = min(ratios) if ratios else float("nan")
        p99_ratio = o.flood_p99 / o.quiet_p99
        print(
            f"| {o.backend} | {o.bare.rate:.0f} | {cells[0]} | {cells[1]} | "
            f"{goal_mark(worst, GOAL_RPS_RATIO, at_most=False)} | "
            f"{o.quiet_p99:.1f} → {o.flood_p99:.1f} ms ({p99_ratio:.2f}) | {goal_mark(p99_ratio, GOAL_P99_RATIO)} | "
            f"{o.fivexx} |"
        )


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: install it with `apt-get install -y wrk` (Debian/Ubuntu), then run again.")
        return
    if subprocess.run([sys.executable, "-c", "import gunicorn"], capture_output=True).returncode:
        print(f"gunicorn not found: {sys.executable} -m pip install -r requirements.txt")
        return
    has_store = (REPO / "formguard" / "store").is_dir()
    embedded = (
        "embedded default"
        if has_store
        else "demo defaults: LocMemCache per worker, today (embedded default not available)"
    )
    started = time.monotonic()
    redis = Redis()
    outcomes = []
    try:
        with tempfile.TemporaryDirectory(prefix="formguard-bench-wrk-") as tmp:
            script = Path(tmp) / "flood.lua"
            script.write_text(WRK_SCRIPT)
            print(
                f"gunicorn 2 sync workers on 127.0.0.1, wrk -t1 -c{args.connections}, {args.duration:.0f} s per run; "
                f"{redis.label}"
            )
            wanted = args.backends.split(",")
            if "embedded" in wanted:
                outcomes.append(run_backend(embedded, None, script, args))
            if "redis" in wanted:
                if redis.url:
                    outcomes.append(run_backend("Redis (FORMGUARD_REDIS_URL)", redis.url, script, args))
                else:
                    print(f"\n[Redis] not available: {redis.why_not}")
                    outcomes.append(Outcome("Redis (FORMGUARD_REDIS_URL)", note=redis.why_not))
    finally:
        redis.close()
    print_table(outcomes)
    print(f"\n{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
