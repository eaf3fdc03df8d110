"""The embedded default: a local SQLite file shared by every process of the machine.

Why SQLite by hand and not a cache library (measured, README "Where formguard
keeps its state"): on this job's 2-core machine, counting a POST in its two
windows costs 20 µs as one multi-row ``INSERT … ON CONFLICT … RETURNING``,
against 95 µs with ``diskcache.DjangoCache`` (``add`` + ``incr`` per window, no
way to count both at once through its public API) and 181 µs inside its
``transact()``. SQLite itself is the well-kept library here: its file locking
makes every statement atomic across processes, WAL mode lets readers run
beside the one writer, and nothing is ever evicted: a row goes only when its
window has ended, so a botnet of any size cannot push live counters out.

Rows are reused: a window counter is one row per (check, client) whose count
restarts when the window changes, so disk stays bounded by the clients seen
within the longest window (expired rows are deleted once a minute). The
write-ahead log is checkpointed every ``WAL_PAGES`` pages and cut back to
``WAL_LIMIT`` bytes, so it cannot grow to fill a small disk.

The file can go away under a running site (``rm db.sqlite3*`` to "reset" a
demo, a clean-up of /tmp): each process would go on writing to the deleted
file while new ones share a new one. So every process compares, at most every
``CHECK_INTERVAL``, the device and inode of the path with those of the file it
opened; when they differ it moves what the old file still held (pending
incident counts, open windows) into the file the path now names, logs it once
and goes on there. A connection that failed is closed, so a file whose modes
are restored (SQLite opens a file it cannot write read-only, silently) or a
disk with room again is opened anew by the next try.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import Pending, Store, WindowCounter

logger = logging.getLogger("formguard.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS counter (
    key TEXT PRIMARY KEY, window INTEGER NOT NULL, n INTEGER NOT NULL, expires REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claim (key TEXT PRIMARY KEY, value BLOB, expires REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tally (
    key TEXT PRIMARY KEY, n INTEGER NOT NULL, last REAL NOT NULL, detail BLOB
) WITHOUT ROWID;
"""

# Plain counters (generations) never expire.
FOREVER = 1e18
# How often each process deletes ended windows and claims.
CLEANUP_INTERVAL = 60.0
CLEANUP_BATCH = 5000
# A writer waits this long for another process's write before the store
# counts as unavailable: a stuck disk must not hang a worker.
BUSY_TIMEOUT = 1.0
# How often each process checks that the path still names the file it has open.
CHECK_INTERVAL = 0.5
# The write-ahead log is checkpointed into the database every this many pages
# (4 KiB each; SQLite's default is 1,000) and truncated back to WAL_LIMIT.
WAL_PAGES = 256
WAL_LIMIT = 1 << 20
# Free space the store wants where its file lives (measured, README "Where
# formguard keeps its state"): below it, `check` and `status` warn.
MIN_FREE = 16 << 20
# Below this much free space the store counts as full (a WAL's worth and some pages).
NEEDS_FREE = 1 << 20


@lru_cache(maxsize=8)
def _hit_sql(count: int) -> str:
    rows = ",".join(["(?, ?, 1, ?)"] * count)
    return (
        f"INSERT INTO counter (key, window, n, expires) VALUES {rows} "  # noqa: S608 (placeholders only)
        "ON CONFLICT (key) DO UPDATE SET "
        # A newer window starts from 1; a request that read the clock just
        # before a boundary but writes after it counts in the newer one.
        "n = CASE WHEN excluded.window > counter.window THEN 1 ELSE counter.n + 1 END, "
        "window = MAX(counter.window, excluded.window), expires = MAX(counter.expires, excluded.expires) "
        "RETURNING key, n"
    )


def _check_private(directory: Path) -> None:
    """Refuse a directory another user could write: they could plant the state file."""
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise PermissionError(
            f"{directory} is not a directory of this user's alone (mode 0700): set FORMGUARD['STATE_PATH']"
        )


def _hand_over(path: Path) -> None:
    """A state file made by root (``migrate`` or the command line run as root)
    goes to the owner of its directory, the site's user: else the site could
    not write it and would stop counting. SQLite gives its -wal and -shm files
    the owner of the database file by itself."""
    if os.geteuid() != 0:
        return
    owner = path.parent.stat()
    if owner.st_uid != 0:
        os.chown(path, owner.st_uid, owner.st_gid)


@lru_cache(maxsize=8)
def _placeholders(count: int) -> str:
    return ",".join(["?"] * count)


class EmbeddedStore(Store):
    name = "embedded"
    # A local file fails or answers at once: try it again sooner than a server.
    break_seconds = 1.0

    def __init__(self, path: str | os.PathLike[str], *, private_dir: bool = False):
        super().__init__()
        self.path = str(path)
        # The default directory under /tmp: it must be this user's alone.
        self.private_dir = private_dir
        self._local = threading.local()
        self._next_cleanup = 0.0

    def describe(self) -> str:
        return f"embedded SQLite {self.path}"

    def _connect(self) -> sqlite3.Connection:
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.private_dir:
            _check_private(path.parent)
        created = not path.exists()
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit is not fsync'ed, so counting costs no disk
        # flush; a crash of a process loses nothing, a power cut at most the
        # last moments of counts.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        connection.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        connection.executescript(SCHEMA)
        if created:
            _hand_over(path)
        return connection

    def _open(self, local: threading.local) -> None:
        connection = self._connect()
        try:
            info = os.stat(self.path)
        except OSError:
            info = None
        local.connection = connection
        local.identity = None if info is None else (info.st_dev, info.st_ino)
        local.check_at = time.monotonic() + CHECK_INTERVAL
        local.pid = os.getpid()

    def _same_file(self, local: threading.local) -> bool:
        try:
            info = os.stat(self.path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == local.identity

    def _reopen(self, local: threading.local) -> None:
        """The path names another file now, or none: move what the old one holds there."""
        old = local.connection
        self._open(local)
        moved = 0
        try:
            old.execute("ATTACH DATABASE ? AS fresh", (self.path,))
            old.execute("BEGIN IMMEDIATE")
            try:
                moved = old.execute("SELECT COALESCE(SUM(n), 0) FROM main.tally").fetchone()[0]
                for sql in _MOVE:
                    old.execute(sql)
                old.execute("COMMIT")
            except BaseException:
                old.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as exc:
            logger.error("formguard: could not move the old state file's counts to %s (%s).", self.path, exc)
        finally:
            old.close()
        logger.error(
            "formguard: its state file %s was deleted or replaced while the site ran; reopened it "
            "(%d pending incident counts moved over).",
            self.path,
            moved,
        )

    @property
    def _connection(self) -> sqlite3.Connection:
        local = self._local
        # A connection must not cross a fork (gunicorn's preload): each
        # process, and each thread, opens its own.
        if getattr(local, "pid", None) != os.getpid() or getattr(local, "connection", None) is None:
            self._open(local)
        elif time.monotonic() >= local.check_at:
            local.check_at = time.monotonic() + CHECK_INTERVAL
            if not self._same_file(local):
                self._reopen(local)
        return local.connection

    def _drop(self) -> None:
        # A failed connection is not kept: the next try opens the file anew.
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):
                connection.close()

    def _run(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.guard()
        self.operations += 1
        try:
            rows = self._connection.execute(sql, parameters).fetchall()
        except (sqlite3.Error, OSError) as exc:
            self._drop()
            self.failed(exc)
        self.answered()
        return rows

    def _transaction(self, statements: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        self.guard()
        self.operations += 1
        try:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                for sql, many in statements:
                    connection.executemany(sql, many)
                connection.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as exc:
            self._drop()
            self.failed(exc)
        self.answered()

    def probe(self) -> None:
        # A disk nearly full takes a small write and refuses the next new
        # page: below NEEDS_FREE the store counts as full, so the outage does
        # not flap and `check` and `status` say what the requests meet.
        space = self.space()
        if space is not None and space[0] < NEEDS_FREE:
            raise OSError(errno.ENOSPC, f"only {space[0] // 1024} KiB free beside {self.path}")
        try:
            self._connection.execute(
                "INSERT OR REPLACE INTO claim (key, value, expires) VALUES ('store:probe', NULL, ?)",
                (time.time() + 60,),
            )
        except BaseException:
            self._drop()
            raise

    def space(self) -> tuple[int, int] | None:
        try:
            info = os.statvfs(Path(self.path).parent)
        except OSError:
            return None
        return info.f_bavail * info.f_frsize, MIN_FREE

    def _maybe_clean_up(self, now: float) -> None:
        if now < self._next_cleanup:
            return
        self._next_cleanup = now + CLEANUP_INTERVAL
        # A batch at a time: one transaction must not grow the write-ahead
        # log by megabytes after a flood's windows end (50,000 rows: 4 MiB).
        deleted = self._run(
            "DELETE FROM counter WHERE key IN (SELECT key FROM counter WHERE expires < ? LIMIT ?) RETURNING 1",
            (now, CLEANUP_BATCH),
        )
        self._run("DELETE FROM claim WHERE expires < ?", (now,))
        if len(deleted) == CLEANUP_BATCH:
            self._next_cleanup = now + 1.0  # more ended windows: the next batch soon

    def hit(self, counters: Sequence[WindowCounter]) -> list[int]:
        now = time.time()
        self._maybe_clean_up(now)
        parameters: list[Any] = []
        for counter in counters:
            parameters += (counter.key, counter.window, now + counter.ttl)
        counts = dict(self._run(_hit_sql(len(counters)), parameters))
        return [counts[counter.key] for counter in counters]

    def read(self, keys: Sequence[str]) -> dict[str, int]:
        sql = f"SELECT key, n FROM counter WHERE key IN ({_placeholders(len(keys))})"  # noqa: S608
        return dict(self._run(sql, list(keys)))

    def bump(self, keys: Sequence[str]) -> None:
        self._transaction(
            [
                (
                    "INSERT INTO counter (key, window, n, expires) VALUES (?, 0, 1, ?) "
                    "ON CONFLICT (key) DO UPDATE SET n = counter.n + 1",
                    [(key, FOREVER) for key in keys],
                )
            ]
        )

    def claim(self, key: str, ttl: float, holder: str = "") -> bool:
        now = time.time()
        rows = self._run(
            "INSERT INTO claim (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
            "WHERE claim.expires < ? RETURNING 1",
            (key, json.dumps(holder), now + ttl, now),
        )
        return bool(rows)

    def swap(self, key: str, holder: str, new: str | None, ttl: float) -> bool:
        now = time.time()
        if new is None:
            sql, parameters = (
                "DELETE FROM claim WHERE key = ? AND value = ? AND expires >= ? RETURNING 1",
                (key, json.dumps(holder), now),
            )
        else:
            sql, parameters = (
                "UPDATE claim SET value = ?, expires = ? WHERE key = ? AND value = ? AND expires >= ? RETURNING 1",
                (json.dumps(new), now + ttl, key, json.dumps(holder), now),
            )
        return bool(self._run(sql, parameters))

    def release(self, key: str) -> None:
        self._run("DELETE FROM claim WHERE key = ?", (key,))

    def get(self, key: str) -> Any:
        rows = self._run("SELECT value FROM claim WHERE key = ? AND expires >= ?", (key, time.time()))
        if not rows or rows[0][0] is None:
            return None
        return json.loads(rows[0][0])

    def put(self, key: str, value: Any, ttl: float | None) -> None:
        expires = FOREVER if ttl is None else time.time() + ttl
        self._run(
            "INSERT OR REPLACE INTO claim (key, value, expires) VALUES (?, ?, ?)",
            (key, json.dumps(value), expires),
        )

    def tally(self, key: str, now: float) -> int:
        rows = self._run(
            "INSERT INTO tally (key, n, last) VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET n = tally.n + 1, last = MAX(tally.last, excluded.last) RETURNING n",
            (key, now),
        )
        return rows[0][0]

    def annotate(self, key: str, detail: bytes) -> None:
        self._run("UPDATE tally SET detail = ? WHERE key = ? AND detail IS NULL", (detail, key))

    def pending(self, limit: int) -> list[Pending]:
        rows = self._run("SELECT key, n, last, detail FROM tally WHERE n > 0 ORDER BY last LIMIT ?", (limit,))
        return [Pending(key, n, last, detail) for key, n, last, detail in rows]

    def settle(self, amounts: dict[str, int]) -> None:
        self._transaction(
            [
                ("UPDATE tally SET n = n - ? WHERE key = ?", [(n, key) for key, n in amounts.items()]),
                ("DELETE FROM tally WHERE n <= 0", [()]),
            ]
        )

    def clear(self) -> None:
        self._transaction([(f"DELETE FROM {table}", [()]) for table in ("counter", "claim", "tally")])  # noqa: S608

    def close(self) -> None:
        self._drop()
        self._local = threading.local()


# What ``_reopen`` moves from a deleted file (main) into the one the path names
# now (fresh): the pending incident counts and the counters, added to what the
# fresh file counted meanwhile; generations grow, so every process reloads.
_MOVE = (
    "INSERT INTO fresh.tally (key, n, last, detail) SELECT key, n, last, detail FROM main.tally WHERE true "
    "ON CONFLICT (key) DO UPDATE SET n = n + excluded.n, last = MAX(last, excluded.last), "
    "detail = COALESCE(detail, excluded.detail)",
    "INSERT INTO fresh.counter (key, window, n, expires) SELECT key, window, n, expires FROM main.counter "
    "WHERE true ON CONFLICT (key) DO UPDATE SET "
    "n = CASE WHEN excluded.window = window THEN n + excluded.n WHEN excluded.window > window THEN excluded.n "
    "ELSE n END, window = MAX(window, excluded.window), expires = MAX(expires, excluded.expires)",
    "DELETE FROM main.tally",
    "DELETE FROM main.counter",
)
