"""One HTTP POST that ends by a total deadline, with requests.

requests' ``timeout`` bounds each socket operation (the connect, and each read),
not the exchange: a provider that trickles its answer a few bytes every 0.25 s
never trips it and holds the worker as long as it likes (requests has no total
timeout: psf/requests #3099, and urllib3's ``Timeout(total=...)`` too is checked
per read). So a timer shuts the exchange's socket down at the deadline, which
ends whatever read is blocked; each exchange has its own session (as
``requests.post`` has), so the socket cut is its own. The adapter only records
the sockets its connections open (urllib3's pools take a connection class).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class _Deadline:
    def __init__(self) -> None:
        self.passed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.passed.is_set():
                _shut(sock)

    def cut(self) -> None:
        with self._lock:
            self.passed.set()
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _Tracked:
    sock: Any

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.opened(self.sock)


class _Connection(_Tracked, HTTPConnection):
    pass


class _SecureConnection(_Tracked, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _SecurePool(HTTPSConnectionPool):
    ConnectionCls = _SecureConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _SecurePool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = {"http": _Pool, "https": _SecurePool}
        return manager


def post_by_deadline(url: str, *, data: dict[str, str], seconds: float) -> requests.Response:
    """``requests.post`` that returns or raises ``requests.Timeout`` within ``seconds``
    (plus the time to resolve the host's name, which no socket option bounds)."""
    deadline = _Deadline()
    timer = threading.Timer(seconds, deadline.cut)
    timer.daemon = True
    adapter = _Adapter(max_retries=0)
    with requests.Session() as session:
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _current.deadline = deadline
        timer.start()
        try:
            response = session.post(url, data=data, timeout=seconds, allow_redirects=False)
        except requests.RequestException as exc:
            if deadline.passed.is_set():
                raise requests.Timeout(f"no complete answer within {seconds:.1f} s") from exc
            raise
        finally:
            timer.cancel()
            _current.deadline = None
    if deadline.passed.is_set():  # a body cut short that still parsed
        raise requests.Timeout(f"no complete answer within {seconds:.1f} s")
    return response
