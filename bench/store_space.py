"""How much disk the embedded store takes (issue 20). Prints numbers; asserts nothing.

    .venv/py311/bin/python bench/store_space.py [--clients 50000]

Counts a POST of each of N distinct clients in its two windows (rate limit and
burst, one transaction each, as a request does) and tallies a refusal of each
(one incident key per client), on an embedded store in a temporary directory.
Prints the database file, the largest the write-ahead log grew to, and both
after the flush settles the tallies and the ended windows are cleaned up.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50_000)
    args = parser.parse_args()
    from formguard.store import WindowCounter
    from formguard.store.embedded import EmbeddedStore

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "state.sqlite3"
        wal = Path(f"{path}-wal")
        store = EmbeddedStore(path)
        now = time.time()
        largest_wal = 0
        for i in range(args.clients):
            client = f"10.{i // 62500}.{i // 250 % 250}.{i % 250}"
            store.hit(
                [WindowCounter(f"rate:contact:{client}", 1, 600), WindowCounter(f"burst:contact:{client}", 1, 60)]
            )
            key = f"{int(now)}|0|blacklisted|POST|{client}|contact"
            if store.tally(key, now) == 1:
                store.annotate(
                    key, b'{"ip": "%s", "user_agent": "Mozilla/5.0 (bench)", "sample": {}}' % client.encode()
                )
            if i % 100 == 0 and wal.exists():
                largest_wal = max(largest_wal, wal.stat().st_size)

        def sizes() -> str:
            data = path.stat().st_size
            log = wal.stat().st_size if wal.exists() else 0
            return f"database {data / 2**20:.1f} MiB, WAL {log / 2**20:.2f} MiB"

        print(f"{args.clients:,} clients counted and tallied: {sizes()}; the WAL grew to {largest_wal / 2**20:.2f} MiB")
        per_client = path.stat().st_size / args.clients
        print(f"about {per_client:.0f} bytes per client in the longest window")
        store.settle({p.key: p.count for p in store.pending(args.clients)})
        # The clean-up as requests run it, a batch at a time, once the windows have ended.
        while store._run("SELECT COUNT(*) FROM counter")[0][0]:
            store._next_cleanup = 0
            store._maybe_clean_up(now + 10_000)
            largest_wal = max(largest_wal, wal.stat().st_size)
        print(
            f"after the flush and the clean-up (pages kept for reuse): {sizes()}; the WAL grew to {largest_wal / 2**20:.2f} MiB"
        )
        store.close()
        os.sync()


if __name__ == "__main__":
    main()
