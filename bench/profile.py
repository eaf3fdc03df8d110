"""Where formguard's time goes: cProfile of the passing POST and of each refusal
kind, on the embedded store, as bench/lean.py sends them (issue 24). Prints
numbers; asserts nothing.

    .venv/py311/bin/python bench/profile.py [--requests 2000] [--top 15] [--only REGEX]

About a minute on 2 cores. The run's output is kept in bench/results-latest.txt.

Per path: the lean view's and the floor's median µs without the profiler, the
path's own, then the profile of ``--requests`` requests (after a warm-up): the
top functions by cumulative time and by own time over the whole request
(Django's included), and the top formguard functions by cumulative time. Times
are wall µs per request (the total over the run / requests; on a busy
machine a preemption is charged to whatever function was running), calls per
request beside them. cProfile's own overhead inflates every figure, functions with
many small calls most: read them as shares, not as absolute costs. Then the
top formguard functions by cumulative and by own time.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where this file
# would stand in for the standard library's ``profile`` that cProfile imports.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402

from bench import lean  # noqa: E402
from bench._support import REPO, Wsgi, median  # noqa: E402

PATHS = (
    "formguard passing POST",
    "refusal: banned address, 500",
    "refusal: closed form, 500",
    "refusal: rate-limited, 500",
)


def where(filename: str) -> str:
    """A short place for a function: path inside the repo or the package, not the venv's."""
    path = Path(filename)
    if filename.startswith("~") or filename.startswith("<"):
        return filename
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        pass
    parts = path.parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :])
    if "lib" in parts:
        return "/".join(parts[len(parts) - 2 :])
    return filename


def lines(stats: pstats.Stats, requests: int, key: int, top: int, only: str = "") -> list[str]:
    """Top ``top`` functions by ``key`` (2: own time, 3: cumulative), µs and calls per request."""
    rows = []
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        place = where(filename)
        if only and not place.startswith(only):
            continue
        rows.append((own if key == 2 else cumulative, own, cumulative, calls, f"{place}:{line}({name})"))
    rows.sort(reverse=True)
    out = [f"  {'cum µs/req':>10} {'own µs/req':>10} {'calls/req':>9}  function"]
    for _sort, own, cumulative, calls, label in rows[:top]:
        out.append(
            f"  {cumulative / requests * 1e6:10.1f} {own / requests * 1e6:10.1f} {calls / requests:9.2f}  {label}"
        )
    return out


def timed_median(wsgi: Wsgi, variant: lean.Variant, count: int) -> float:
    with variant.store.active():
        samples = [variant.send(wsgi)[0] for _ in range(count)]
    return median(samples) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="profiled requests per path (default 2000)")
    parser.add_argument("--top", type=int, default=15, help="lines per list (default 15)")
    parser.add_argument("--only", default="", help="only paths whose name matches this regex")
    parser.add_argument("--dump", default="", help="also write each path's stats to DIR/<n>.prof (pstats, for callers)")
    args = parser.parse_args()

    lean.boot(None)
    import django

    wsgi = Wsgi()
    with tempfile.TemporaryDirectory(prefix="formguard-bench-profile-") as state_dir:
        stores = lean.stores(Path(state_dir), None)
        lean.prepare_rows()
        lean.prepare_store(wsgi, stores["embedded"])
        by_name = {v.name: v for v in lean.variants(stores)}
        print(
            f"Django {django.get_version()}, Python {sys.version.split()[0]}; embedded store, the demo's policy "
            f"(captcha off, every other check on: bench/lean.py); {args.requests} profiled requests per path"
        )
        reference = {name: timed_median(wsgi, by_name[name], 500) for name in ("lean bare form view, POST",)}
        reference["floor"] = timed_median(wsgi, by_name["floor: constant view, CSRF-exempt"], 500)
        for name in PATHS:
            if args.only and not re.search(args.only, name, re.IGNORECASE):
                continue
            variant = by_name[name]
            unprofiled = timed_median(wsgi, variant, 500)
            lean_us = timed_median(wsgi, by_name["lean bare form view, POST"], 500)
            floor_us = timed_median(wsgi, by_name["floor: constant view, CSRF-exempt"], 500)
            # The default (wall) clock: a timer of our own (process_time) costs a Python call per
            # event and inflates functions with many small calls several times over.
            profiler = cProfile.Profile()
            statuses: dict[int, int] = {}
            with variant.store.active():
                for _ in range(50):
                    variant.send(wsgi)
                profiler.enable()
                for _ in range(args.requests):
                    status = variant.send(wsgi)[1]
                    statuses[status] = statuses.get(status, 0) + 1
                profiler.disable()
            stats = pstats.Stats(profiler)
            if args.dump:
                Path(args.dump).mkdir(parents=True, exist_ok=True)
                stats.dump_stats(str(Path(args.dump) / f"{PATHS.index(name)}.prof"))
            print(f"\n== {name} [{variant.store.label}], {variant.path}, statuses {statuses}")
            print(
                f"   without the profiler: {unprofiled:.0f} µs median; lean view POST {lean_us:.0f} µs, "
                f"floor {floor_us:.0f} µs (ratio {unprofiled / lean_us:.2f} × lean, {unprofiled / floor_us:.2f} × floor)"
            )
            total = sum(own for (_cc, _n, own, _cum, _callers) in stats.stats.values()) / args.requests * 1e6  # type: ignore[attr-defined]
            print(f"   under the profiler: {total:.0f} µs per request in all")
            print(f" by cumulative time (top {args.top}):")
            print("\n".join(lines(stats, args.requests, 3, args.top)))
            print(f" by own time (top {args.top}):")
            print("\n".join(lines(stats, args.requests, 2, args.top)))
            print(f" formguard's functions by cumulative time (top {args.top}):")
            print("\n".join(lines(stats, args.requests, 3, args.top, only="formguard/")))
            print(f" formguard's functions by own time (top {args.top}):")
            print("\n".join(lines(stats, args.requests, 2, args.top, only="formguard/")))


if __name__ == "__main__":
    main()
