"""A tiny loopback websocket server for feed tests (aiohttp on its own event-loop thread).

It binds 127.0.0.1 on a free port, records every text frame each connection sends, answers
``PING`` with ``PONG`` (switchable), and lets a test push frames, drop sockets abruptly, close
them with a code, or go silent. Tests wait on :meth:`WsServer.wait_for` (a condition variable
with a timeout), never on sleeps. Always ``stop()`` it in teardown.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

Reply = Callable[["Conn", str], list[str]]


@dataclass(eq=False)
class Conn:
    """One client connection, as the server sees it."""

    n: int
    path: str
    ws: web.WebSocketResponse
    received: list[str] = field(default_factory=list)
    closed: bool = False


class WsServer:
    """Thread ownership: connections live on the server's loop thread; ``received`` lists and
    counters are appended there under ``self._cond`` and read by tests under it."""

    def __init__(self, *, answer_ping: bool = True, reply: Reply | None = None) -> None:
        self.answer_ping = answer_ping
        self.reply = reply
        self.conns: list[Conn] = []
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="wsserver",
                                        daemon=True)
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> WsServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None  # test helper: aiohttp always has a server after start()
        self.port = server.sockets[0].getsockname()[1]

    def url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        async def _stop() -> None:
            for c in list(self.conns):
                req = c.ws._req
                if req is not None and req.transport is not None:
                    req.transport.close()
            if self._runner is not None:
                await self._runner.cleanup()
        try:
            asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    # -- the handler (loop thread) -------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self._cond:
            conn = Conn(n=len(self.conns), path=request.path, ws=ws)
            self.conns.append(conn)
            self._cond.notify_all()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                with self._cond:
                    conn.received.append(msg.data)
                    self._cond.notify_all()
                if msg.data == "PING":
                    if self.answer_ping:
                        await ws.send_str("PONG")
                    continue
                if self.reply is not None:
                    for out in self.reply(conn, msg.data):
                        await ws.send_str(out)
        finally:
            with self._cond:
                conn.closed = True
                self._cond.notify_all()
        return ws

    # -- used by tests (any thread) ----------------------------------------------------------

    def wait_for(self, pred: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``pred()`` (evaluated under the lock) is truthy; fail after ``timeout``."""
        with self._cond:
            ok = self._cond.wait_for(pred, timeout)
        if not ok:
            raise TimeoutError("wsserver: condition not met in time")
        return ok

    def wait_conn(self, n: int, timeout: float = 10.0) -> Conn:
        """The ``n``-th connection (0-based), once it exists."""
        self.wait_for(lambda: len(self.conns) > n, timeout)
        return self.conns[n]

    def wait_frames(self, conn: Conn, count: int, timeout: float = 10.0) -> list[str]:
        """The first ``count`` frames the client sent on ``conn`` (PINGs excluded)."""
        def data() -> list[str]:
            return [f for f in conn.received if f != "PING"]
        self.wait_for(lambda: len(data()) >= count, timeout)
        with self._cond:
            return data()[:count]

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def send(self, conn: Conn, text: str | bytes) -> None:
        async def _send() -> None:
            if isinstance(text, bytes):
                await conn.ws.send_bytes(text)
            else:
                await conn.ws.send_str(text)
        self._call(_send())

    def close(self, conn: Conn, code: int = 1000) -> None:
        """Close with a close frame carrying ``code``."""
        self._call(conn.ws.close(code=code))

    def drop(self, conn: Conn) -> None:
        """Cut the TCP connection without a close frame (the client sees an abrupt loss)."""
        async def _drop() -> None:
            req = conn.ws._req
            if req is not None and req.transport is not None:
                req.transport.close()
        self._call(_drop())
