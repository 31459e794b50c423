"""The CLOB client's transport: one keep-alive connection behind a ``requests`` Session.

Why not plain ``requests``: measured on loopback against a minimal server in another process
(see the REST helper's report), ``Session.post`` costs ~1 ms per call, ``Session.send`` with a
pre-built request ~0.5 ms, urllib3's pool ``urlopen`` ~0.32 ms, raw ``http.client`` on the same
connection ~0.17 ms. The order path wants the last figure, so ``Transport`` is a ``requests``
transport adapter (the library's documented extension point) that drives one
``http.client`` connection directly: the ``ClobClient`` calls ``exchange`` with a pre-built
header dict and the body bytes exactly as signed, while anything using the Session
(``session.get(...)``) goes through the same connection via ``send``.

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

from polymm.errors import PolymmError

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


def _failed(conn: _TimedConnection, exc: BaseException) -> BaseException:
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


class _TimedConnection(http.client.HTTPConnection):
    """``http.client`` connection that stamps the first write and sends head and body together.

    http.client writes the header block and the body in two ``sendall`` calls (two segments
    with TCP_NODELAY); holding the head back until the body comes saves the peer a wake-up.
    """

    def __init__(self, host: str, port: int | None, *, connect_timeout_s: float,
                 read_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(host, port, timeout=connect_timeout_s, **kwargs)
        self.read_timeout_s = read_timeout_s
        self.sent_ns = 0
        self.hold_head = False
        self._held: bytes | None = None

    def connect(self) -> None:
        super().connect()  # http.client sets TCP_NODELAY
        if self.sock is not None:
            self.sock.settimeout(self.read_timeout_s)

    def send(self, data: Any) -> None:
        if self.sock is None:
            self.connect()  # a failure here happens before anything was sent
        if self.hold_head:
            self.hold_head = False
            self._held = bytes(data)
            return
        if self._held is not None:
            data, self._held = self._held + bytes(data), None
        if not self.sent_ns:
            self.sent_ns = time.time_ns()
        super().send(data)

    def reset(self) -> None:
        """Prepare for a new request."""
        self.sent_ns = 0
        self.hold_head = False
        self._held = None


class _TimedTLSConnection(_TimedConnection, http.client.HTTPSConnection):
    """The same over TLS (MRO: ``connect`` reaches ``HTTPSConnection.connect``)."""


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
        self._conn: _TimedConnection
        if u.scheme == "https":
            ctx = ssl_context or ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)
            self._conn = _TimedTLSConnection(u.hostname, u.port, context=ctx,
                                             connect_timeout_s=connect_timeout_s,
                                             read_timeout_s=timeout_s)
        else:
            self._conn = _TimedConnection(u.hostname, u.port,
                                          connect_timeout_s=connect_timeout_s,
                                          read_timeout_s=timeout_s)

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
            resp = conn.getresponse()
            data = resp.read()
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
            conn.reset()
            conn.hold_head = bool(body)
            conn.request(method, path, body=body, headers=dict(headers))
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
