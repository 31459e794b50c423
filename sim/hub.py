"""Websocket connections of every channel, their send queues and socket faults.

Each connection has a deque of outgoing text frames and a writer task that drains it, so
producers (matching, price ticks, the load generator) never await a slow client. A frozen
connection silently discards data frames but still answers pings; a dropped one has its TCP
transport aborted (no close frame). All of it is owned by the simulator's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from sim.stats import Stats

logger = logging.getLogger(__name__)

MAX_QUEUE = 200_000
WRITE_HIGH_WATER = 4 * 1024 * 1024


def _text_frame(text: str) -> bytes:
    """An unmasked, uncompressed, final websocket text frame (RFC 6455 §5.2)."""
    data = text.encode()
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + data
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + data
CHANNELS = ("market", "user", "prices", "rtds")


@dataclass(eq=False, slots=True)
class Conn:
    """One websocket client. ``assets``/``custom`` (market), ``api_key``/``markets`` (user),
    ``authed``/``subs``/``seq`` (prices, rtds) are per channel."""

    channel: str
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    queue: deque[str] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    frozen_until: float = 0.0
    dead: bool = False
    subscribed: bool = False
    sent: int = 0
    assets: set[str] = field(default_factory=set)
    custom: bool = False
    api_key: str = ""
    markets: set[str] | None = None
    excluded: set[str] = field(default_factory=set)
    authed: bool = False
    subs: dict[tuple[str, str], Any] = field(default_factory=dict)
    seq: dict[str, int] = field(default_factory=dict)


class Hub:
    """The registry of live connections, with routing for the market channel."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.conns: dict[str, set[Conn]] = {c: set() for c in CHANNELS}
        self.market_subs: dict[str, set[Conn]] = {}
        self.now = asyncio.get_running_loop().time
        # Outage fault: new connections on a channel are refused (HTTP 503) until then.
        self.refuse_until: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def serve(self, conn: Conn) -> asyncio.Task[None]:
        self.conns[conn.channel].add(conn)
        self.stats.connections[conn.channel] += 1
        return asyncio.get_running_loop().create_task(self._writer(conn))

    def forget(self, conn: Conn) -> None:
        conn.dead = True
        conn.wake.set()
        self.conns[conn.channel].discard(conn)
        for asset in conn.assets:
            subs = self.market_subs.get(asset)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self.market_subs[asset]
        conn.assets.clear()

    async def _writer(self, conn: Conn) -> None:
        # Frames are written straight to the transport, a whole batch per write call: one
        # syscall per wake-up instead of one per frame (the load knob needs >= 20k frames/s).
        # aiohttp's own writer (pongs, close) also writes whole frames, so they never interleave.
        transport = conn.transport
        try:
            while not conn.dead:
                await conn.wake.wait()
                conn.wake.clear()
                queue = conn.queue
                while queue and not conn.dead:
                    if transport is None or transport.is_closing():
                        return
                    n = min(len(queue), 2048)
                    transport.write(b"".join(_text_frame(queue.popleft()) for _ in range(n)))
                    conn.sent += n
                    while (not conn.dead and not transport.is_closing()
                           and transport.get_write_buffer_size() > WRITE_HIGH_WATER):
                        await asyncio.sleep(0.005)  # the client is slow: let the kernel drain
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            conn.dead = True

    # -- sending -----------------------------------------------------------------------------

    def frozen(self, conn: Conn) -> bool:
        return conn.frozen_until > self.now()

    def send(self, conn: Conn, text: str) -> None:
        """Queue a data frame (dropped silently while the connection is frozen)."""
        if conn.dead or (conn.frozen_until and self.frozen(conn)):
            return
        queue = conn.queue
        if len(queue) >= MAX_QUEUE:
            self.stats.slow_consumers += 1
            logger.warning("closing a slow %s consumer (%d frames queued)", conn.channel,
                           len(queue))
            self.drop(conn)
            return
        queue.append(text)
        if len(queue) == 1:
            conn.wake.set()

    async def requests(self, conn: Conn, ws: web.WebSocketResponse
                       ) -> AsyncIterator[dict[str, Any]]:
        """The client's JSON object frames; text ``PING`` is answered ``PONG``, anything else
        (binary, bad JSON, non-objects) is ignored, as the venue does."""
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            if msg.data == "PING":
                self.reply(conn, "PONG")
                continue
            try:
                req = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(req, dict):
                yield req

    def reply(self, conn: Conn, text: str) -> None:
        """Queue a control reply (PONG, acks): answered even while frozen."""
        if not conn.dead:
            conn.queue.append(text)
            conn.wake.set()

    def mark_subscribed(self, conn: Conn) -> None:
        """The client completed its subscription handshake on this connection (counted once)."""
        if not conn.subscribed:
            conn.subscribed = True
            self.stats.subscribed[conn.channel] += 1

    def subscribe_assets(self, conn: Conn, assets: list[str]) -> None:
        for asset in assets:
            conn.assets.add(asset)
            self.market_subs.setdefault(asset, set()).add(conn)

    def unsubscribe_assets(self, conn: Conn, assets: list[str]) -> None:
        for asset in assets:
            conn.assets.discard(asset)
            subs = self.market_subs.get(asset)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self.market_subs[asset]

    # -- faults ------------------------------------------------------------------------------

    def drop(self, conn: Conn) -> None:
        """Close abruptly: abort the TCP connection without a close frame."""
        self.forget(conn)
        if conn.transport is not None:
            conn.transport.abort()

    def freeze(self, conn: Conn, seconds: float) -> None:
        conn.frozen_until = self.now() + seconds
        conn.queue.clear()

    def refuse(self, channel: str, seconds: float) -> None:
        """Refuse new connections on ``channel`` for ``seconds`` (a venue-side outage)."""
        if seconds > 0:
            self.refuse_until[channel] = max(self.refuse_until.get(channel, 0.0),
                                             self.now() + seconds)

    def refused(self, channel: str) -> bool:
        return self.refuse_until.get(channel, 0.0) > self.now()

    async def close_all(self) -> None:
        for chan in CHANNELS:
            for conn in list(self.conns[chan]):
                self.forget(conn)
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown")

    def counts(self) -> dict[str, int]:
        return {chan: len(conns) for chan, conns in self.conns.items()}

    def subscribed_counts(self) -> dict[str, int]:
        """Live connections per channel that completed their subscription handshake."""
        return {chan: sum(1 for c in conns if c.subscribed and not c.dead)
                for chan, conns in self.conns.items()}
