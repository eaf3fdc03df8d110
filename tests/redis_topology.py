"""Throwaway Redis topologies on loopback ports: Sentinel (a master, a replica, three
sentinels) and Cluster (three masters), from Debian's ``redis-server`` alone.

One implementation for both users: ``scripts/services.sh`` starts the
session's topologies with it (``python -m tests.redis_topology sentinel DIR``
prints the URL to give ``FORMGUARD_REDIS_URL``; ``stop DIR`` ends them), and
the failover test starts a private one that it can break. Every server runs
daemonized with a pid file in DIR, so that the shell that started it may
exit and a test may signal (SIGSTOP, SIGKILL) one server by its pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

SERVICE = "formguard"
COMMON = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "yes")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cluster_port() -> int:
    # The cluster bus listens 10,000 above the port, which must then be at most 55535.
    while True:
        port = free_port()
        if port <= 55535:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port


def _wait(what: str, ready, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready within {seconds} s")
        time.sleep(0.1)


def _server(directory: Path, port: int, *extra: str) -> int:
    subprocess.run(
        ["redis-server", "--port", str(port), *COMMON, "--dir", str(directory), *_files(directory, port), *extra],
        check=True,
    )
    _wait(f"redis-server on {port}", lambda: redis.Redis(port=port).ping())
    return port


def _files(directory: Path, port: int) -> tuple[str, ...]:
    return ("--pidfile", str(directory / f"{port}.pid"), "--logfile", str(directory / f"{port}.log"))


def pid(directory: Path, port: int) -> int:
    """The pid of the server on ``port`` (its pid file appears a moment after it answers)."""
    path = directory / f"{port}.pid"
    _wait(f"the pid file of {port}", path.exists, 5)
    return int(path.read_text())


class Sentinel:
    """A master, its replica and three sentinels watching it (quorum 2), failover after 1 s down
    (an election that fails, on a loaded machine, is tried again after 6 s)."""

    def __init__(self, directory: Path, down_after_ms: int = 1000):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.master = _server(directory, free_port())
        self.replica = _server(directory, free_port(), "--replicaof", "127.0.0.1", str(self.master))
        self.sentinels = [free_port() for _ in range(3)]
        for port in self.sentinels:
            conf = directory / f"sentinel-{port}.conf"
            conf.write_text(
                "\n".join(
                    [
                        f"port {port}",
                        "bind 127.0.0.1",
                        "daemonize yes",
                        f"pidfile {directory / f'{port}.pid'}",
                        f"logfile {directory / f'{port}.log'}",
                        f"dir {directory}",
                        f"sentinel monitor {SERVICE} 127.0.0.1 {self.master} 2",
                        f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}",
                        f"sentinel failover-timeout {SERVICE} 3000",
                        "",
                    ]
                )
            )
            subprocess.run(["redis-server", str(conf), "--sentinel"], check=True)

        def watching() -> bool:
            for port in self.sentinels:
                state = redis.Redis(port=port).sentinel_master(SERVICE)
                if state["num-other-sentinels"] < 2 or state["num-slaves"] < 1:
                    return False
            return True

        # Sentinels find each other and the replica through hello messages (every 2 s).
        _wait("the sentinels", watching)
        self.url = "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in self.sentinels) + f"/{SERVICE}/0"

    def master_port(self) -> int:
        """The master's port as the first sentinel that answers names it."""
        for port in self.sentinels:
            try:
                return int(redis.Redis(port=port).sentinel_get_master_addr_by_name(SERVICE)[1])
            except (redis.RedisError, OSError, TypeError):
                continue
        raise RuntimeError("no sentinel answers")


class Cluster:
    """Three masters sharing the 16384 slots, no replicas."""

    def __init__(self, directory: Path, masters: int = 3):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.nodes = []
        for _ in range(masters):
            port = _cluster_port()
            extra = ("--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf")
            self.nodes.append(_server(directory, port, *extra, "--cluster-node-timeout", "2000"))
        addresses = [f"127.0.0.1:{p}" for p in self.nodes]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _wait(
            "the cluster", lambda: all(redis.Redis(port=p).cluster("INFO")["cluster_state"] == "ok" for p in self.nodes)
        )
        self.url = "redis+cluster://" + ",".join(addresses)


def stop_one(directory: Path, port: int, number: int = signal.SIGKILL) -> None:
    """Signal the server on ``port`` (SIGSTOP: frozen, as a hung machine)."""
    os.kill(pid(directory, port), number)


def stop(directory: Path) -> None:
    """End every server started in ``directory`` (a stopped one is woken to die)."""
    for path in directory.glob("*.pid"):
        try:
            number = int(path.read_text())
            os.kill(number, signal.SIGCONT)
            os.kill(number, signal.SIGKILL)
        except (ValueError, ProcessLookupError):
            pass


if __name__ == "__main__":
    kind, where = sys.argv[1], Path(sys.argv[2])
    if kind == "stop":
        stop(where)
    else:
        print((Sentinel if kind == "sentinel" else Cluster)(where).url)
