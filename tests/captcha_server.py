"""A real HTTP server standing in for a captcha provider's siteverify endpoint.

It speaks the protocol over a socket; what it answers depends on the token,
so each test picks the provider behaviour it needs.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


def _now(delta_seconds: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class SiteverifyServer:
    def __init__(self, hostname: str = "testserver"):
        self.hostname = hostname
        self.requests: list[dict[str, str]] = []
        self.seen_tokens: set[str] = set()
        self.seen_idempotency: set[str] = set()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with server._lock:
                    server.requests.append(form)
                server.answer(self, form)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # dropped connections on purpose
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/siteverify"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def _send(handler, status: int, body: str, content_type: str = "application/json"):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body.encode())))
        handler.end_headers()
        handler.wfile.write(body.encode())

    def _json(self, handler, payload: dict, status: int = 200):
        self._send(handler, status, json.dumps(payload))

    def _trickle(self, handler, token: str) -> None:
        """A few bytes every 0.25 s for 10 s: no single read ever waits long.

        ``trickle-body``: the headers at once, then the body; ``trickle-head``:
        the status line and headers themselves, a few bytes at a time.
        """
        body = json.dumps({"success": True, "hostname": self.hostname, "challenge_ts": _now()}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body) + 200}\r\n".encode()
        filler = b"X-Filler: " + b"a" * 200 + b"\r\n"
        if token == "trickle-head":
            pieces = [head, *[filler[i : i + 4] for i in range(0, len(filler), 4)], b"\r\n", body]
        else:
            pieces = [head, b"\r\n", *[body[i : i + 3] for i in range(0, len(body), 3)], b" " * 200]
        handler.close_connection = True
        started = time.monotonic()
        try:
            for piece in pieces:
                handler.wfile.write(piece)
                handler.wfile.flush()
                if time.monotonic() - started > 10:
                    return
                time.sleep(0.25)
        except OSError:  # formguard hung up: what it should do
            return

    def answer(self, handler, form: dict[str, str]) -> None:
        token = form.get("response", "")
        ok = {"success": True, "hostname": self.hostname, "challenge_ts": _now()}
        if "idempotency_key" in form:  # Turnstile: the widget's data-action, the demo form's key
            ok["action"] = "contact"
        if form.get("secret") == "bad-secret":
            return self._json(handler, {"success": False, "error-codes": ["invalid-input-secret"]})
        if token.startswith("ok"):
            return self._json(handler, ok)
        if token.startswith("v3:"):
            _, score, action = token.split(":")
            return self._json(handler, {**ok, "score": float(score), "action": action})
        if token == "bad":
            return self._json(handler, {"success": False, "error-codes": ["invalid-input-response"]})
        if token.startswith("dup"):
            with self._lock:
                seen = token in self.seen_tokens
                self.seen_tokens.add(token)
            if seen:
                return self._json(handler, {"success": False, "error-codes": ["timeout-or-duplicate"]})
            return self._json(handler, ok)
        if token.startswith("wronghost"):
            return self._json(handler, {**ok, "hostname": "evil.example"})
        if token.startswith("testkey"):
            return self._json(handler, {**ok, "hostname": "testkey.google.com"})
        if token == "old":
            return self._json(handler, {**ok, "challenge_ts": _now(-600)})
        if token == "http500":
            return self._send(handler, 500, "Internal Server Error", "text/plain")
        if token == "http429":
            return self._send(handler, 429, "Too Many Requests", "text/plain")
        if token == "html":
            return self._send(handler, 200, "<html><body>Service maintenance</body></html>", "text/html")
        if token == "garbage":
            return self._send(handler, 200, '{"success": tru', "application/json")
        if token == "list":
            return self._send(handler, 200, "[true]")
        if token == "stringtrue":
            return self._json(handler, {"success": "true", "hostname": self.hostname})
        if token == "one":
            return self._json(handler, {"success": 1, "hostname": self.hostname})
        if token == "nosuccess":
            return self._json(handler, {"hostname": self.hostname})
        if token == "nohost":
            return self._json(handler, {"success": True})
        if token.startswith("trickle"):
            return self._trickle(handler, token)
        if token == "stall":
            time.sleep(10)
            return self._json(handler, ok)
        if token == "flaky":
            # The first try with an idempotency key is lost (connection
            # dropped); the retry with the same key succeeds.
            key = form.get("idempotency_key", "")
            with self._lock:
                first = key not in self.seen_idempotency
                self.seen_idempotency.add(key)
            if first:
                handler.close_connection = True
                handler.connection.close()
                return None
            return self._json(handler, ok)
        return self._json(handler, {"success": False, "error-codes": ["invalid-input-response"]})
