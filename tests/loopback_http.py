"""A threading HTTP server for tests whose ``server_close`` also ends the connections left open.

``requests`` keeps a socket open after a failed or timed-out request for as long as something
holds the half-read response (an exception's traceback is a reference cycle, freed only by the
garbage collector), and ``Session.close`` cannot close what its pools no longer hold. The
server's handler thread for such a keep-alive connection blocks reading the next request for
as long. ``server_close`` here shuts those sockets down and joins the handler threads (bounded),
so a test's server stops by itself and leaves no thread behind.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import ThreadingHTTPServer
from typing import Any

JOIN_S = 5.0


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that nothing listens on now (``kind``: stream or datagram)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ClosingHTTPServer(ThreadingHTTPServer):
    """Thread ownership: the open-request set is shared by the serving thread (adds), the
    handler threads (remove) and the closing thread (reads), under ``_open_lock``."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: dict[Any, threading.Thread] = {}
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                             name="loopback-http-request", daemon=True)
        with self._open_lock:
            self._open[request] = t
        t.start()

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            still_open = list(self._open.items())
        for sock, _ in still_open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # the handler's read returns: it ends
        for _, t in still_open:
            t.join(JOIN_S)
