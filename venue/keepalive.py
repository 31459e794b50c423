"""The one HTTP client stack: a ``requests`` Session over the project's keep-alive adapter.

Every REST client (the CLOB's ``venue.rest.ClobClient``, Gamma's ``venue.gamma.GammaClient``)
talks through a ``requests.Session`` made by ``new_session``: environment look-ups off, no
cookies kept, no hooks, no default headers, and only ``KeepAliveAdapter`` mounted (the stock
urllib3 adapters are removed, so a request to an origin nobody mounted fails instead of
silently opening a second stack).

Why a custom adapter: on loopback against the simulated venue, urllib3's pool ``urlopen`` costs
about twice the raw ``http.client`` round trip, and the order path sends two requests per
re-price. ``KeepAliveAdapter`` drives one keep-alive socket itself: each request is joined into
one buffer and written with one ``sendall`` (http.client's ``putrequest``/``putheader`` build
the same bytes several times slower), and the reply is read by ``http.client.HTTPResponse``
(``Content-Length``, chunked, ``Connection: close``). No ``Content-Encoding`` is decoded, so
the sessions send no ``Accept-Encoding``.

Split write/read: ``Session.send`` writes and reads in one call, which cannot put a cancel in
flight while its replacement is posted. So the adapter also offers ``begin`` (write, keep the
connection) and ``finish`` (read, free it); ``send`` is ``finish(begin(request))``.

``sent_ns`` (on ``TimedResponse`` and ``Pending``): ``time.time_ns()`` right before the
request's ``sendall`` on a connected socket, i.e. after any reconnect or TLS handshake; zero
means nothing was written. A failure raises a ``requests`` exception whose ``__cause__`` is a
``TransportError`` saying whether the request left (``sent``) and whether it was a timeout,
which is how a caller tells "the venue cannot have seen it" from "it may have acted on it".

Keep-alive: an idle socket that has become readable (the server closed it, or sent junk) is
closed and reconnected before the next request, so a stale connection does not turn a request
into an unknown outcome. Timeouts are fixed per adapter (``connect_timeout_s`` bounds the TCP
connect and TLS handshake, ``timeout_s`` every later read or write); a per-request ``timeout``
given to ``Session.send`` is ignored.

Thread ownership: one request at a time per adapter; a lock serialises callers that share one
(held from ``begin`` to ``finish``).
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from http.cookiejar import DefaultCookiePolicy
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers
from urllib3.util.wait import wait_for_read

from messages.errors import PolymmError

__all__ = ["KeepAliveAdapter", "Pending", "TimedResponse", "TransportError", "new_session"]


class TransportError(Exception):
    """No reply. ``sent``: request bytes reached the socket; ``timeout``: a timeout, not a
    reset or refusal. The ``__cause__`` of the ``requests`` exception the adapter raises."""

    def __init__(self, what: str, *, sent: bool, timeout: bool) -> None:
        super().__init__(what)
        self.sent = sent
        self.timeout = timeout


class TimedResponse(requests.Response):
    """A fully read reply with its wire stamps: ``sent_ns`` (first byte written) and
    ``recv_ns`` (body read), both ``time.time_ns()``."""

    sent_ns: int = 0
    recv_ns: int = 0


class Pending:
    """A request ``KeepAliveAdapter.begin`` (or ``begin_raw``) wrote; ``finish`` reads its
    reply once. A raw request's ``PreparedRequest`` (for the reply and its errors) is only
    built when asked for, after the write."""

    __slots__ = ("_raw", "_request", "done", "sent_ns")

    def __init__(self, request: requests.PreparedRequest | None, sent_ns: int,
                 raw: tuple[str, str, bytes] | None = None) -> None:
        self._request = request
        self._raw = raw
        self.sent_ns = sent_ns
        self.done = False

    @property
    def request(self) -> requests.PreparedRequest:
        if self._request is None:
            method, url, body = self._raw or ("GET", "", b"")
            p = requests.PreparedRequest()
            p.method, p.url, p.body = method, url, body
            p.headers = CaseInsensitiveDict()
            self._request = p
        return self._request


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


def _as_requests_error(err: TransportError,
                       request: requests.PreparedRequest) -> requests.RequestException:
    """The ``requests`` exception a Session caller expects for ``err`` (chained by caller)."""
    cls: type[requests.RequestException]
    if err.timeout:
        cls = requests.exceptions.ReadTimeout if err.sent else requests.exceptions.ConnectTimeout
    else:
        cls = requests.exceptions.ConnectionError
    return cls(str(err), request=request)


_ILLEGAL = re.compile(r"[\r\n\x00]")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")  # a space or control would end the request line


class _Connection:
    """One keep-alive HTTP/1.1 connection: requests written as one pre-built buffer, replies
    read with ``http.client.HTTPResponse``."""

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
        if _BAD_TARGET.search(path):
            raise ValueError(f"illegal request target {path!r}")
        lines = [f"{method} {path} HTTP/1.1".encode("ascii")]
        given = set()
        for k, v in headers.items():
            # A CR/LF/NUL would let a value start a header (or a request) of its own.
            if _ILLEGAL.search(k) or _ILLEGAL.search(v) or ":" in k:
                raise ValueError(f"illegal header {k!r}")
            given.add(k.lower())
            lines.append(f"{k}: {v}".encode("latin-1"))
        if "host" not in given:
            lines.insert(1, b"Host: " + self.host_header)
        if "content-length" not in given and (body is not None
                                              or method in ("POST", "PUT", "PATCH")):
            lines.append(b"Content-Length: %d" % len(body or b""))
        self.write(b"\r\n".join(lines) + b"\r\n\r\n" + (body or b""))

    def request_raw(self, method: str, path: str, head: bytes, body: bytes) -> None:
        """Write one request whose header lines (``head``: each ending in CRLF, without Host
        and Content-Length) were built and checked by the caller."""
        self.sent_ns = 0
        self.method = method
        if _BAD_TARGET.search(path):
            raise ValueError(f"illegal request target {path!r}")
        self.write(b"".join((f"{method} {path} HTTP/1.1\r\nHost: ".encode("ascii"),
                             self.host_header, b"\r\n", head,
                             b"Content-Length: %d\r\n\r\n" % len(body), body)))

    def write(self, data: bytes) -> None:
        """Write a whole request (connecting first if needed: a failure there sends nothing)."""
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


class KeepAliveAdapter(BaseAdapter):
    """A ``requests`` transport adapter holding one keep-alive connection to one origin.

    Args:
        base_url: ``http(s)://host[:port][/prefix]``; only its origin matters here (requests
            carry full URLs).
        connect_timeout_s: bound on the TCP connect and TLS handshake.
        timeout_s: bound on every socket read or write after connecting.
        ssl_context: TLS settings for https (default: verify against requests' CA bundle).
    """

    def __init__(self, base_url: str, *, connect_timeout_s: float, timeout_s: float,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise PolymmError(f"not an http(s) URL: {base_url!r}")
        self.origin = f"{u.scheme}://{u.netloc}".lower()
        self._lock = threading.Lock()
        ctx = None
        if u.scheme == "https":
            ctx = ssl_context or ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)
        self._conn = _Connection(u.hostname, u.port or (443 if ctx else 80),
                                 connect_timeout_s=connect_timeout_s, read_timeout_s=timeout_s,
                                 ssl_context=ctx)

    def _target(self, request: requests.PreparedRequest) -> tuple[str, bytes | None]:
        """(path + query, body bytes) of ``request``, which must be for this origin."""
        url = request.url or ""
        n = len(self.origin)
        if url[:n].lower() != self.origin or url[n:n + 1] not in ("/", "?", ""):
            raise requests.exceptions.InvalidURL(f"adapter for {self.origin} got another "
                                                 "origin", request=request)
        path = url[n:].partition("#")[0]
        if not path.startswith("/"):
            path = "/" + path
        body = request.body.encode() if isinstance(request.body, str) else request.body
        if body is not None and not isinstance(body, bytes):
            raise requests.exceptions.InvalidURL("streamed bodies are not supported",
                                                 request=request)
        return path, body

    def begin(self, request: requests.PreparedRequest) -> Pending:
        """Write ``request`` and return without reading its reply; ``finish`` reads it.

        The connection stays taken (other callers wait) until ``finish``, which every caller
        of ``begin`` must reach, on every path (``try``/``finally``).

        Raises:
            requests.RequestException: the request could not be written (``__cause__``: a
                ``TransportError`` telling whether any of it left). The connection is free.
            ValueError: an illegal header (nothing was written).
        """
        path, body = self._target(request)
        sent_ns = self._write(
            lambda conn: conn.request(request.method or "GET", path, request.headers, body),
            lambda: request)
        return Pending(request, sent_ns)

    def begin_raw(self, method: str, path: str, head: bytes, body: bytes) -> Pending:
        """``begin`` for a request given as its parts: ``path`` (with any query) on this
        origin, ``head`` its header lines (each ending in CRLF; no Host, no Content-Length:
        added here), ``body`` its bytes. The order path builds its requests so (no
        ``PreparedRequest``, no per-header checks: ``head`` is the caller's, built from
        checked parts). Raises as ``begin``."""
        raw = (method, self.origin + path, body)
        sent_ns = self._write(lambda conn: conn.request_raw(method, path, head, body),
                              lambda: Pending(None, 0, raw).request)
        return Pending(None, sent_ns, raw)

    def _write(self, write: Callable[[_Connection], None],
               request: Callable[[], requests.PreparedRequest]) -> int:
        """Take the connection (held until ``finish``) and ``write`` one request on it; the
        wall clock of its first byte. A failure frees the connection and raises (see
        ``_write_failed``; ``request`` builds the request for its error)."""
        self._lock.acquire()
        conn = self._conn
        try:
            sock = conn.sock
            if sock is not None and wait_for_read(sock, timeout=0.0):
                conn.close()  # readable while idle: closed by the server (or stray bytes)
            write(conn)
        except BaseException as exc:
            self._write_failed(conn, exc, request)
        return conn.sent_ns

    def _write_failed(self, conn: _Connection, exc: BaseException,
                      request: Callable[[], requests.PreparedRequest]) -> NoReturn:
        """A ``begin`` that failed: free the connection and raise what failed."""
        try:
            err = _failed(conn, exc)
        finally:
            self._lock.release()
        if isinstance(err, TransportError):
            raise _as_requests_error(err, request()) from err
        raise exc

    def finish(self, pending: Pending) -> TimedResponse:
        """Read the reply of a ``begin`` and free the connection.

        Raises:
            requests.RequestException: no reply (``__cause__``: a ``TransportError``, ``sent``).
        """
        if pending.done:
            raise RuntimeError("KeepAliveAdapter.finish called twice for one request")
        pending.done = True
        conn = self._conn
        try:
            resp, data = conn.response()
        except BaseException as exc:
            err = _failed(conn, exc)
            if isinstance(err, TransportError):
                raise _as_requests_error(err, pending.request) from err
            raise
        finally:
            self._lock.release()
        r = TimedResponse()
        r.status_code = resp.status
        r.reason = resp.reason
        r.headers = CaseInsensitiveDict(resp.msg.items())
        r._content = data
        r._content_consumed = True  # type: ignore[attr-defined]
        r.url = pending.request.url or ""
        r.request = pending.request
        r.encoding = get_encoding_from_headers(r.headers)
        r.sent_ns = pending.sent_ns
        r.recv_ns = time.time_ns()
        return r

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> TimedResponse:
        """The ``requests`` adapter entry point: write ``request`` and read its reply."""
        return self.finish(self.begin(request))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def new_session(adapter: KeepAliveAdapter) -> requests.Session:
    """A Session that reaches ``adapter.origin`` through ``adapter`` and nothing else: no
    environment (proxy/netrc/CA) look-ups, no cookies kept, no hooks, no default headers."""
    session = requests.Session()
    for stock in session.adapters.values():
        stock.close()
    session.adapters.clear()
    session.trust_env = False
    session.cookies = RequestsCookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    session.hooks = {"response": []}
    session.headers.clear()
    session.mount(adapter.origin + "/", adapter)
    return session
