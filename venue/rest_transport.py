"""The CLOB client's transport: one keep-alive connection behind a ``requests`` Session.

Why not plain ``requests``: measured on loopback against a minimal server in another process
(see the REST helper's report), ``Session.post`` costs ~1 ms per call, ``Session.send`` with a
pre-built request ~0.5 ms, urllib3's pool ``urlopen`` ~0.32 ms, raw ``http.client`` on the same
connection ~0.17 ms. The order path wants the last figure or better, so ``Transport`` is a
``requests`` transport adapter (the library's documented extension point) that drives one
keep-alive socket directly: each request is joined into one buffer and written with one
``sendall`` (``_Connection``; http.client's ``request`` spent ~88 µs building the same bytes),
and the reply is read by ``http.client.HTTPResponse``. The ``ClobClient`` calls ``exchange``
with a pre-built header dict and the body bytes exactly as signed, while anything using the
Session (``session.get(...)``) goes through the same connection via ``send``.

What ``sent_ns`` is: ``time.time_ns()`` taken right before the first ``sendall`` of the request
(request line, headers and body, coalesced into one write) on a connected socket, i.e. after
any reconnect or TLS handshake. Zero means nothing was written, which is how the client tells a
failure *before* sending (connect refused or timed out: the venue cannot have seen the request)
from one *after* it (timeout, reset, no reply: the venue may have acted on it).

Keep-alive: an idle socket that has become readable (the server closed it, or sent junk) is
closed and reconnected before the next request, so a stale connection does not turn a request
into an unknown outcome. Timeouts: ``connect_timeout_s`` bounds the TCP connect (and TLS
handshake), ``timeout_s`` every later socket read or write.

Pipelining: ``begin`` writes a request and keeps the connection; ``finish`` reads the reply and
frees it. The OrderManager writes a cancel this way on its own connection and posts the
replacement on another before the cancel's reply arrives.

Thread ownership: one caller at a time; a lock serialises callers that share a client (held
from ``begin`` to ``finish``).
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers
from urllib3.util.wait import wait_for_read

from messages.errors import PolymmError

__all__ = ["Pending", "RawReply", "Transport", "TransportError"]


@dataclass(frozen=True, slots=True)
class RawReply:
    """One HTTP reply, fully read. ``sent_ns``/``recv_ns``: first byte written / body read."""

    status: int
    reason: str
    headers: Message
    data: bytes
    sent_ns: int
    recv_ns: int


class TransportError(Exception):
    """No reply. ``sent``: request bytes reached the socket; ``timeout``: a timeout, not a
    reset or refusal."""

    def __init__(self, what: str, *, sent: bool, timeout: bool) -> None:
        super().__init__(what)
        self.sent = sent
        self.timeout = timeout


class Pending:
    """A request ``Transport.begin`` wrote; ``Transport.finish`` reads its reply once."""

    __slots__ = ("done", "sent_ns")

    def __init__(self, sent_ns: int) -> None:
        self.sent_ns = sent_ns
        self.done = False


def _failed(conn: _Connection, exc: BaseException) -> BaseException:
    """Close ``conn`` after a failed request and say what failed (``TransportError`` for
    socket and protocol errors; anything else, e.g. an illegal header value, as it was)."""
    conn.close()  # leave a clean connection behind
    if isinstance(exc, TimeoutError):
        return TransportError(f"timed out ({exc})" if str(exc) else "timed out",
                              sent=bool(conn.sent_ns), timeout=True)
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return TransportError(f"{type(exc).__name__}: {exc}".rstrip(": "),
                              sent=bool(conn.sent_ns), timeout=False)
    return exc


_ILLEGAL = re.compile(r"[\r\n\x00]")


class _Connection:
    """One keep-alive HTTP/1.1 connection: requests written as one pre-built buffer, replies
    read with ``http.client.HTTPResponse`` (status line, headers, ``Content-Length`` or
    chunked bodies, ``Connection: close``).

    Why not ``http.client.HTTPConnection.request``: it builds the request line and every header
    through ``putrequest``/``putheader``/``endheaders`` in Python, ~88 µs per request on this
    machine against ~8 µs for the same bytes joined here and written with one ``sendall``
    (both timed on a connected loopback socket), and the order path writes two requests per
    re-price (the cancel and the post).
    """

    def __init__(self, host: str, port: int, *, connect_timeout_s: float,
                 read_timeout_s: float, ssl_context: ssl.SSLContext | None) -> None:
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.ssl_context = ssl_context
        default_port = 443 if ssl_context is not None else 80
        self.host_header = (host if port == default_port else f"{host}:{port}").encode("idna")
        self.sock: socket.socket | None = None
        self.sent_ns = 0
        self.method = ""

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.connect_timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                sock = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(self.read_timeout_s)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()

    def request(self, method: str, path: str, headers: Mapping[str, str],
                body: bytes | None) -> None:
        """Write one request (connecting first if needed: a failure there sends nothing)."""
        self.sent_ns = 0
        self.method = method
        lines = [f"{method} {path} HTTP/1.1".encode("ascii")]
        given = set()
        for k, v in headers.items():
            if _ILLEGAL.search(k) or _ILLEGAL.search(v) or ":" in k:
                raise ValueError(f"illegal header {k!r}")
            given.add(k.lower())
            lines.append(f"{k}: {v}".encode("latin-1"))
        if "host" not in given:
            lines.insert(1, b"Host: " + self.host_header)
        if "content-length" not in given and (body is not None
                                              or method in ("POST", "PUT", "PATCH")):
            lines.append(b"Content-Length: %d" % len(body or b""))
        data = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sent_ns = time.time_ns()
        self.sock.sendall(data)

    def response(self) -> tuple[http.client.HTTPResponse, bytes]:
        """Read the reply of the last request (the socket is closed if the server says so)."""
        assert self.sock is not None
        resp = http.client.HTTPResponse(self.sock, method=self.method)
        resp.begin()
        data = resp.read()
        if resp.will_close:
            self.close()
        return resp, data


class Transport(BaseAdapter):
    """One keep-alive connection to one origin (``http(s)://host:port``).

    ``base_url`` may carry a path prefix; ``exchange`` targets are relative to it. For https
    the certificate is checked against requests' CA bundle unless ``ssl_context`` is given.
    """

    def __init__(self, base_url: str, *, connect_timeout_s: float, timeout_s: float,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise PolymmError(f"not an http(s) URL: {base_url!r}")
        self.origin = f"{u.scheme}://{u.netloc}"
        self.prefix = u.path.rstrip("/")
        self._lock = threading.Lock()
        ctx = None
        if u.scheme == "https":
            ctx = ssl_context or ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)
        self._conn = _Connection(u.hostname, u.port or (443 if ctx else 80),
                                 connect_timeout_s=connect_timeout_s, read_timeout_s=timeout_s,
                                 ssl_context=ctx)

    def exchange(self, method: str, target: str, headers: Mapping[str, str],
                 body: bytes | None) -> RawReply:
        """Send one request (``target`` = path + query below the base URL) and read the reply.

        Raises:
            TransportError: no reply; ``sent`` tells whether the request left.
        """
        return self._exchange(method, self.prefix + target, headers, body)

    def begin(self, method: str, target: str, headers: Mapping[str, str],
              body: bytes | None) -> Pending:
        """Write one request and return without reading its reply; ``finish`` reads it.

        The connection stays taken (other callers wait) until ``finish``, which every caller
        of ``begin`` must reach, on every path (``try``/``finally``).

        Raises:
            TransportError: the request could not be written; ``sent`` tells whether any of it
                left. The connection is free again.
        """
        return self._begin(method, self.prefix + target, headers, body)

    def finish(self, pending: Pending) -> RawReply:
        """Read the reply of a ``begin`` and free the connection.

        Raises:
            TransportError: no reply (the request was sent: ``sent`` is true).
        """
        if pending.done:
            raise RuntimeError("Transport.finish called twice for one request")
        pending.done = True
        conn = self._conn
        try:
            resp, data = conn.response()
        except BaseException as exc:
            err = _failed(conn, exc)
            if err is exc:
                raise
            raise err from exc
        finally:
            self._lock.release()
        return RawReply(status=resp.status, reason=resp.reason, headers=resp.msg,
                        data=data, sent_ns=conn.sent_ns, recv_ns=time.time_ns())

    def _begin(self, method: str, path: str, headers: Mapping[str, str],
               body: bytes | None) -> Pending:
        self._lock.acquire()
        conn = self._conn
        try:
            sock = conn.sock
            if sock is not None and wait_for_read(sock, timeout=0.0):
                conn.close()  # readable while idle: closed by the server (or stray bytes)
            conn.request(method, path, headers, body)
        except BaseException as exc:
            try:
                err = _failed(conn, exc)
            finally:
                self._lock.release()
            if err is exc:
                raise
            raise err from exc
        return Pending(conn.sent_ns)

    def _exchange(self, method: str, path: str, headers: Mapping[str, str],
                  body: bytes | None) -> RawReply:
        return self.finish(self._begin(method, path, headers, body))

    # -- requests transport-adapter interface -----------------------------------------------

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        """Serve a Session request on the same connection (``timeout`` is fixed per client)."""
        u = urlsplit(request.url or "")
        if f"{u.scheme}://{u.netloc}" != self.origin:
            raise requests.exceptions.InvalidURL(f"transport for {self.origin} got another "
                                                 "origin", request=request)
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        body = request.body.encode() if isinstance(request.body, str) else request.body
        if body is not None and not isinstance(body, bytes):
            raise requests.exceptions.InvalidURL("streamed bodies are not supported",
                                                 request=request)
        try:
            reply = self._exchange(request.method or "GET", path, request.headers, body)
        except TransportError as exc:
            if exc.timeout:
                err: type[requests.RequestException] = (
                    requests.exceptions.ReadTimeout if exc.sent
                    else requests.exceptions.ConnectTimeout)
            else:
                err = requests.exceptions.ConnectionError
            raise err(str(exc), request=request) from exc
        r = requests.Response()
        r.status_code = reply.status
        r.reason = reply.reason
        r.headers = CaseInsensitiveDict(reply.headers.items())
        r._content = reply.data
        r._content_consumed = True  # type: ignore[attr-defined]
        r.url = request.url or ""
        r.request = request
        r.encoding = get_encoding_from_headers(r.headers)
        return r

    def close(self) -> None:
        with self._lock:
            self._conn.close()
