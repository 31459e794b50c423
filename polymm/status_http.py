"""A local HTTP status page: ``GET /healthz`` and ``GET /status`` as JSON.

Off by default (config ``status: {enabled, host, port}``). The server knows nothing about the
bot: it serves what ``provider()`` returns (the supervisor passes one that asks the actors with
timeouts: feed health, lags, open orders, inventory, kill switch). It runs stdlib
``ThreadingHTTPServer`` on its own thread, one short-lived thread per request, so a slow
provider delays only the request that called it and never an actor.

``/healthz`` answers from the server's thread without asking anyone (liveness) unless a
``health`` callable is given, which then decides 200 or 503. ``/status`` answers 200 with the
provider's dict, or 500 with the error's type and message if the provider raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from polymm.config_schema import Config

logger = logging.getLogger(__name__)

# The documents are whatever the callables return, serialised as JSON (``polymm.health``'s
# ``StatusView`` and ``HealthDetail`` in a run, anything in a test).
Provider = Callable[[], Mapping[str, object]]
Health = Callable[[], tuple[bool, Mapping[str, object]]]

_JSON_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_INDENT_2


class StatusServer:
    """Serves ``provider()`` as JSON on ``host:port`` (port 0 picks a free port).

    Thread ownership: ``start``/``stop`` belong to the caller (the supervisor, on the main
    thread); the listening loop runs on the ``StatusHTTP`` thread and each request on its own
    thread, which is where ``provider`` and ``health`` are called: they must be thread-safe
    (asking actors with a timeout is).

    Args:
        provider: returns the ``/status`` document. orjson serialises it, so dataclasses,
            enums and non-string keys are fine; anything else is turned into ``str``. It must
            never include secrets.
        health: optional; returns ``(ok, detail)`` for ``/healthz`` (503 when not ok).
    """

    def __init__(self, provider: Provider, *, host: str = "127.0.0.1", port: int = 0,
                 health: Health | None = None) -> None:
        self._provider = provider
        self._health = health
        self._started_s = time.monotonic()
        handler = type("_BoundHandler", (_Handler,), {"status_server": self})
        # Binds now, so a port in use fails at start-up in the caller's thread.
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> StatusServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="StatusHTTP", daemon=True)
        self._thread.start()
        logger.info("status page on %s (/healthz, /status)", self.url)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close the socket (in-flight requests finish on their threads)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout)
            self._thread = None
        self._httpd.server_close()

    # -- called on request threads ---------------------------------------------------------------

    def healthz(self) -> tuple[int, dict[str, object]]:
        doc: dict[str, object] = {"ok": True,
                                  "uptime_s": round(time.monotonic() - self._started_s, 3)}
        if self._health is not None:
            try:
                ok, detail = self._health()
            except Exception as exc:
                ok, detail = False, {"error": _describe(exc)}
            doc.update(detail)
            doc["ok"] = bool(ok)
        return (200 if doc["ok"] else 503), doc

    def status(self) -> tuple[int, Mapping[str, object]]:
        try:
            doc = self._provider()
        except Exception as exc:
            logger.warning("status page: provider failed: %s", _describe(exc))
            return 500, {"error": _describe(exc)}
        if not isinstance(doc, dict):
            return 500, {"error": f"provider returned {type(doc).__name__}, not a dict"}
        return 200, doc


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _Handler(BaseHTTPRequestHandler):
    status_server: StatusServer
    server_version = "polymm-status"
    # HTTP/1.0 (the default): one request per connection, so no handler thread lingers on an
    # idle keep-alive socket after stop().

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        doc: Mapping[str, object]
        if path == "/healthz":
            code, doc = self.status_server.healthz()
        elif path == "/status":
            code, doc = self.status_server.status()
        else:
            code, doc = 404, {"error": f"no such page: {path}", "pages": ["/healthz", "/status"]}
        self._send_json(code, doc)

    def _send_json(self, code: int, doc: Mapping[str, object]) -> None:
        try:
            body = orjson.dumps(doc, default=str, option=_JSON_OPTS) + b"\n"
        except (TypeError, orjson.JSONEncodeError) as exc:
            code, body = 500, orjson.dumps({"error": _describe(exc)}) + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Per request: DEBUG, not the handler's default stderr line.
        logger.debug("status page: %s - %s", self.address_string(), format % args)


def build_status_server(cfg: Config, provider: Provider,
                        health: Health | None = None) -> StatusServer | None:
    """A started server for config section ``status``, or None when it is disabled."""
    s = cfg.status
    if not s.enabled:
        return None
    return StatusServer(provider, host=s.host, port=s.port, health=health).start()


__all__ = ["Health", "Provider", "StatusServer", "build_status_server"]
