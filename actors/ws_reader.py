"""The reader thread of a websocket feed: connect, handshake, receive, decode, emit, reconnect.

A :class:`ReaderLoop` is a plain object owned by one :class:`actors.ws_feed.WsFeed`; the feed
starts a thread (``<Class>-reader``) on :meth:`ReaderLoop.run`. websocket-client connects and
sends; frames are read with ``venue.ws_frames.FrameReader`` (whole messages parsed out of large
``recv`` chunks: a fraction of websocket-client's per-frame cost, which was most of the reader's
time under load). Each frame is decoded on arrival (``ts_recv_ns`` taken first) and handed to
the feed's sinks directly (a Pykka ``tell`` is a non-blocking queue put). When the socket drops
the loop emits ``FeedStatus(connected=False)`` at once and reconnects with jittered exponential
backoff.

Thread ownership: the backoff and the log limiters here belong to the reader thread alone. The
feed's socket reference, close reason and handshake hooks are taken under the feed's lock; its
frame counters, ``last_lag_ms`` and the ``_last_frame``/``_last_data``/``_next_ping`` clocks
are written here and read by the feed's actor thread (single stores of ints and floats).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Generic, TypeVar

import websocket

from actors.ws_support import LogLimiter, ReconnectBackoff, WsConn, close_code, retry_after_s
from runtime import trace
from venue.ws_frames import OP_CLOSE, TOO_LARGE, FrameReader

if TYPE_CHECKING:
    from actors.ws_feed import WsFeed

# The feed's own logger: operators and the log checks know the feeds' lines by that name.
logger = logging.getLogger("actors.ws_feed")

KEEPALIVE_FRAMES = frozenset((b"", b"PONG", b"pong"))
"""Text frames that prove the socket is alive but carry no data (not counted for liveness)."""

M = TypeVar("M")


class ReaderLoop(Generic[M]):
    """Connects and reads one feed's socket until the feed stops; runs on the reader thread.

    Args:
        feed: the owning feed, whose settings, hooks, sinks and counters the loop uses.
    """

    def __init__(self, feed: WsFeed[M]) -> None:
        self._feed = feed
        cfg = feed._cfg
        self._backoff = ReconnectBackoff(cfg.reconnect_min_s, cfg.reconnect_max_s, feed._rng)
        self._decode_log = LogLimiter()
        self._conn_log = LogLimiter()

    def run(self) -> None:
        """The reader thread's body: (re)connect and read until the feed stops."""
        feed = self._feed
        delay = 0.0
        ever_connected = False
        reported_down = False
        while not feed._stopping.is_set():
            if delay > 0 and feed._stopping.wait(delay):
                break
            if feed._bot_shutdown.is_set():
                logger.info("%s feed: not reconnecting, the bot is shutting down", feed.FEED)
                break
            try:
                ws = self._connect(ever_connected)
            except Exception as exc:
                delay = self._backoff.next_delay()
                ra = retry_after_s(exc)
                if ra is not None:
                    delay = max(delay, ra)
                if not reported_down:
                    reported_down = True
                    feed._status(False, "connect_failed")
                n = self._conn_log.allow()
                if n is not None:
                    logger.warning("%s feed: connect to %s failed: %s; retry in %.2f s "
                                   "(%d similar suppressed)", feed.FEED, feed._url,
                                   type(exc).__name__, delay, n)
                continue
            if ws is None:  # stopped while connecting
                break
            ever_connected, reported_down = True, False
            started = time.monotonic()
            reason, override = self._read_loop(ws)
            with feed._lock:
                feed._ws = None
                why, feed._close_reason = feed._close_reason or reason, ""
            with contextlib.suppress(Exception):
                ws.shutdown()
            if feed._stopping.is_set():
                break
            reported_down = True
            feed._status(False, why)
            feed.counters["reconnects"] += 1
            feed._incr("feed.reconnects")
            if time.monotonic() - started >= feed._cfg.reconnect_max_s:
                self._backoff.reset()  # a healthy connection: start the backoff over
            delay = self._backoff.next_delay() if override is None else override
            logger.info("%s feed: disconnected (%s); reconnecting in %.2f s",
                        feed.FEED, why, delay)

    def _connect(self, reconnect: bool) -> WsConn | None:
        feed = self._feed
        ws: WsConn = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
        ws.connect(feed._url, timeout=feed._cfg.connect_timeout_s)
        ws.settimeout(None)
        now = time.monotonic()
        feed._last_frame = feed._last_data = now
        feed._next_ping = now + feed._cfg.ping_interval_s
        feed.counters["connects"] += 1
        # Status first: consumers mark their state stale before the fresh snapshots arrive.
        feed._status(True, "resync" if reconnect else "connected")
        with feed._lock:
            if feed._stopping.is_set():
                ws.shutdown()
                return None
            feed._ws = ws
            frames = feed._handshake_frames()
            for f in frames:
                feed._send_now(ws, f)
        if not reconnect:
            logger.info("%s feed: connected to %s", feed.FEED, feed._url)
        return ws

    def _read_loop(self, ws: WsConn) -> tuple[str, float | None]:
        """Receive until the socket closes; returns (reason, reconnect delay override)."""
        feed = self._feed
        cfg = feed._cfg
        sample = cfg.raw_log_sample
        raw = feed._raw
        raw_on = sample > 0 and raw.isEnabledFor(logging.DEBUG)
        decode, emit, accept = feed._decode, feed._emit, feed._accept
        counters = feed.counters
        lag_metrics = feed._metrics if feed.LAG_METRIC else None
        sock = ws.sock
        if sock is None:  # no socket (websocket-client's close drops it): a drop, not a crash
            return ("stopped" if feed._stopping.is_set() else "closed"), None
        reader = FrameReader(sock.recv, ws.pong, max_message_bytes=cfg.max_frame_bytes)
        while True:
            try:
                opcode, data = reader.recv_data()
            except Exception as exc:
                return ("stopped" if feed._stopping.is_set() else type(exc).__name__), None
            ts = time.time_ns()
            feed._last_frame = now = time.monotonic()
            if opcode == OP_CLOSE:
                with contextlib.suppress(Exception):
                    ws.send_close()  # complete the closing handshake, as websocket-client does
                return feed._close_delay(close_code(data))
            counters["frames"] += 1
            if opcode == TOO_LARGE:
                counters["bytes"] += reader.last_size
                counters["oversize_frames"] += 1
                feed._incr("feed.decode_errors")
                self._log_bad_frame("too_large", f"{reader.last_size} bytes")
                continue
            counters["bytes"] += len(data)
            if raw_on and counters["frames"] % sample == 0:
                raw.debug("recv %s", data[:4096])
            if data in KEEPALIVE_FRAMES or feed._on_control(ws, data):
                continue
            feed._last_data = now
            try:
                msgs = decode(data, ts)
            except Exception as exc:
                self._decode_failed(getattr(exc, "reason", type(exc).__name__), str(exc))
                continue
            if trace.enabled:
                trace.mark(trace.DECODE, ts)
            for m in msgs:
                if accept(m):
                    counters["messages"] += 1
                    emit(m)
            if msgs:
                # Lag is measured here once per frame (not again downstream); snapshot history
                # carries old venue times and says nothing about the lag.
                first = msgs[0]
                ev_ms = getattr(first, "ts_event_ms", 0)
                if ev_ms and not getattr(first, "snapshot", False):
                    feed.last_lag_ms = ms = ts // 1_000_000 - ev_ms
                    if lag_metrics is not None:
                        lag_metrics.timing_ms("feed.ws_message_lag_ms", ms, dim=feed.FEED)

    def _decode_failed(self, reason: str, detail: str) -> None:
        self._feed.counters["decode_errors"] += 1
        self._feed._incr("feed.decode_errors")
        self._log_bad_frame(reason, detail)

    def _log_bad_frame(self, reason: str, detail: str) -> None:
        n = self._decode_log.allow()
        if n is not None:
            logger.warning("%s feed: skipped a bad frame (%s): %.200s (%d similar suppressed)",
                           self._feed.FEED, reason, detail, n)
