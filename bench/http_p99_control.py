"""The control for http_flood.py's visitor p99: is it formguard, or the flood's volume?

    .venv/py311/bin/python bench/http_p99_control.py [--rate-delay-ms 28] [--seconds 6]

The demo under gunicorn (2 sync workers) on 127.0.0.1; a legitimate visitor GETs
/contact/ one request at a time and its latency is measured: quiet, then during
two floods at the same fixed rate from 500 addresses (wrk, 16 connections, each
pausing ``--rate-delay-ms`` between requests):

1. GETs of an unguarded, trivial page (/contact/thanks/): what any flood of that
   volume does to the visitor, formguard or not;
2. POSTs to /contact/ from a banned /16: formguard's refusals.

If the two p99s match, the visitor's latency is the machine's capacity at that
volume, not the cost of refusing. About 30 s. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import REPO, free_port, median, percentile, stop, wait_for_port  # noqa: E402

FLOOD = r"""
local path, method = os.getenv("FLOOD_PATH"), os.getenv("FLOOD_METHOD")
counter = 0
function request()
  counter = counter + 1
  local i = counter % 500
  local headers = {["X-Forwarded-For"] = "114.114." .. math.floor(i / 250) .. "." .. (i % 250 + 1),
                   ["Content-Type"] = "application/x-www-form-urlencoded"}
  return wrk.format(method, path, headers, method == "POST" and "message=spam" or nil)
end
function delay() return tonumber(os.getenv("FLOOD_DELAY_MS")) end
"""


def visitor(port: int, seconds: float) -> list[float]:
    latencies = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        started = time.perf_counter()
        connection.request("GET", "/contact/", headers={"X-Forwarded-For": "133.5.5.5", "Accept-Language": "ja"})
        connection.getresponse().read()
        connection.close()
        latencies.append(time.perf_counter() - started)
        time.sleep(0.02)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate-delay-ms", type=int, default=28)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="formguard-p99-") as tmp:
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="project.settings",
            DEMO_DB=str(Path(tmp) / "demo.sqlite3"),
            FORMGUARD_TRUSTED_PROXIES="127.0.0.1",
            DJANGO_DEBUG="0",
            DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            # Comparable with earlier runs: the pass path without the demo's captcha.
            FORMGUARD_DEMO_CAPTCHA="off",
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
        subprocess.run(
            [*manage, "formguard", "ban", "114.114.0.0/16"], cwd=REPO, env=env, check=True, capture_output=True
        )
        script = Path(tmp) / "flood.lua"
        script.write_text(FLOOD)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "project.wsgi:application", "--workers", "2", "-b", f"127.0.0.1:{port}"],
            cwd=REPO,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            if not wait_for_port(port, 20, server):
                print("gunicorn did not start")
                return
            visitor(port, 1)  # warm up both workers
            quiet = visitor(port, args.seconds)
            print(f"quiet: visitor p99 {percentile(quiet, 99) * 1e3:.1f} ms, median {median(quiet) * 1e3:.1f} ms")
            for label, path, method in (
                ("GET of an unguarded page (/contact/thanks/)", "/contact/thanks/", "GET"),
                ("POST to /contact/ from a banned /16 (formguard refuses)", "/contact/", "POST"),
            ):
                flood = subprocess.Popen(
                    ["wrk", "-t1", "-c16", f"-d{args.seconds + 2:.0f}s", "-s", str(script), f"http://127.0.0.1:{port}"],
                    env=dict(os.environ, FLOOD_PATH=path, FLOOD_METHOD=method, FLOOD_DELAY_MS=str(args.rate_delay_ms)),
                    stdout=subprocess.PIPE,
                    text=True,
                )
                time.sleep(1)
                loud = visitor(port, args.seconds)
                output = flood.communicate(timeout=60)[0]
                rate = next((line.split()[-1] for line in output.splitlines() if "Requests/sec" in line), "?")
                print(
                    f"flood of {label}, {rate} req/s: visitor p99 {percentile(loud, 99) * 1e3:.1f} ms "
                    f"(×{percentile(loud, 99) / percentile(quiet, 99):.2f} quiet), median {median(loud) * 1e3:.1f} ms"
                )
        finally:
            stop(server)


if __name__ == "__main__":
    main()
