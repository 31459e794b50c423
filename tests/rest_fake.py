"""A tiny stdlib CLOB on 127.0.0.1 for the REST client tests: checks L2 auth, canned replies.

The server verifies every private request's HMAC independently of ``venue.auth`` (path without
query, body exactly as received). Routes map ``(METHOD, path)`` to a function of the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from eth_account import Account

from tests.loopback_http import ClosingHTTPServer
from venue.auth import ApiCreds

PRIVATE_KEY = "0x" + "4c" * 32
ADDRESS = Account.from_key(PRIVATE_KEY).address
SECRET = base64.urlsafe_b64encode(b"top-secret-hmac-key-0123456789ab").decode()
CREDS = ApiCreds(api_key="11111111-2222-3333-4444-555555555555", secret=SECRET,
                 passphrase="very-secret-passphrase")
PUBLIC = {"/time", "/book", "/tick-size", "/auth/api-key", "/auth/derive-api-key", "/cookie"}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int]


Reply = tuple[int, Any, dict[str, str]]


@dataclass
class FakeClob:
    """Routes ``(METHOD, path)`` to a function of the request returning (status, body, headers);
    ``body`` is JSON-encoded unless it is bytes."""

    routes: dict[tuple[str, str], Callable[[Seen], Reply | None]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)  # a connection ended
    url: str = ""

    def on(self, method: str, path: str, status: int = 200, body: Any = None,
           headers: dict[str, str] | None = None) -> None:
        self.routes[(method, path)] = lambda _req: (status, body, headers or {})


def _sign(ts: str, method: str, path: str, body: bytes) -> str:
    key = base64.urlsafe_b64decode(SECRET)
    msg = ts.encode() + method.encode() + path.encode() + body
    return base64.urlsafe_b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def _handler(fake: FakeClob) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _handle(self) -> None:
            u = urlsplit(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            req = Seen(self.command, u.path, parse_qs(u.query), dict(self.headers.items()),
                       body, self.client_address)
            fake.seen.append(req)
            if u.path not in PUBLIC and not self._auth_ok(req):
                return self._send(401, {"error": "Unauthorized/Invalid api key"}, {})
            route = fake.routes.get((self.command, u.path))
            if route is None:
                return self._send(404, {"error": "not found"}, {})
            out = route(req)
            if out is None:  # drop the connection without a reply
                self.close_connection = True
                return None
            status, payload, headers = out
            if headers.pop("X-Test-Close", None):
                self.close_connection = True  # close silently after replying
            return self._send(status, payload, headers)

        def _auth_ok(self, req: Seen) -> bool:
            h = req.headers
            ts = h.get("POLY_TIMESTAMP", "")
            return (h.get("POLY_ADDRESS") == ADDRESS and h.get("POLY_API_KEY") == CREDS.api_key
                    and h.get("POLY_PASSPHRASE") == CREDS.passphrase and ts.isdigit()
                    and h.get("POLY_SIGNATURE") == _sign(ts, req.method, req.path, req.body))

        def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

    return Handler


class _QuietServer(ClosingHTTPServer):
    fake: FakeClob

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is what some tests do on purpose

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.fake.closed.set()


@pytest.fixture
def fake() -> Iterator[FakeClob]:
    fake = FakeClob()
    server = _QuietServer(("127.0.0.1", 0), _handler(fake))
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fake-clob", daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
