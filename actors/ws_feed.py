"""The websocket-feed base: one connection, its reader thread, keep-alive, liveness, reconnect.

Every feed actor (``MarketFeed``, ``UserFeed``, ``PriceFeed``) is a :class:`WsFeed`. The
connection is a plain ``websocket.WebSocket`` (websocket-client) created with
``skip_utf8_validation=True`` (its pure-Python UTF-8 check costs ~100x on book frames) and
``enable_multithread=True`` (sends from the actor thread and the reader thread take its lock).
The reader thread's loop is a plain object the feed owns, ``actors.ws_reader.ReaderLoop``.

Threads:

* the **reader thread** (``<Class>-reader``) connects, sends the handshake (auth and subscribe),
  blocks in ``recv``, decodes each frame on arrival (``ts_recv_ns`` taken first) and calls the
  sinks directly (a Pykka ``tell`` is a non-blocking queue put). When the socket drops it emits
  ``FeedStatus(connected=False)`` at once and reconnects with jittered exponential backoff.
* the **actor thread** handles control messages (``MarketsChanged``, resync requests, timer
  ticks): it sends subscription changes on the live socket, the keep-alive ``PING`` and declares
  a socket silent (closing it, so the reader reconnects) when no data came for
  ``liveness_timeout_s``.
* a :class:`runtime.timer.PeriodicTimer` thread tells the actor a ``TimerFired`` on a grid that
  skips missed deadlines; a late timer never bursts.

Shared state: the socket reference, the subscription set and the per-connection handshake
flags are guarded by ``self._lock`` (the handshake and live subscription changes both take it,
so a change is never lost between a reconnect and its resubscribe). Frame counters belong to the
reader; ``_last_frame``/``_last_data`` are floats written by the reader and read by the actor.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import ClassVar, Generic, TypedDict, TypeVar

import orjson

from actors.timers import start_timer
from actors.ws_reader import ReaderLoop
from actors.ws_support import (
    FeedConfig,
    Frame,
    LogLimiter,
    WsConn,
    feed_config_errors,
    redact,
    timer_interval_s,
)
from messages import FeedStatus, MarketsChanged, ReconnectFeed, TimerFired
from messages.errors import ConfigError
from runtime.actor import Actor
from runtime.sinks import MetricSink, Tell
from runtime.timer import PeriodicTimer

logger = logging.getLogger(__name__)

M = TypeVar("M")
"""What a feed's decoder makes of a frame (``venue.wire``'s message unions)."""

Decoder = Callable[[bytes, int], list[M]]
"""``(frame, ts_recv_ns) -> messages``: one of ``venue.wire``'s decoders."""

JOIN_TIMEOUT_S = 5.0


class FeedCounters(TypedDict):
    """A feed's counters: written by the reader thread (the actor thread for ``silent`` and
    ``resyncs``), read by ``stats``."""

    connects: int
    reconnects: int
    silent: int
    frames: int
    bytes: int
    messages: int
    decode_errors: int
    oversize_frames: int
    sink_errors: int
    venue_errors: int
    resyncs: int
    echoes_skipped: int


class FeedStats(FeedCounters):
    """``WsFeed.stats()``: the counters, the connection and the last measured lag."""

    feed: str
    connected: bool
    lag_ms: int | None


class WsFeed(Actor, Generic[M]):
    """Base of the websocket feed actors; subclasses set ``FEED`` and the protocol hooks.

    Thread ownership: see the module docstring. The ``_handshake_frames`` hook (reader thread)
    and the subscription changes sent with ``_send_live`` (actor thread) run with
    ``self._lock`` held; ``_on_control`` and ``_accept`` run on the reader thread.

    Accepts: ``MarketsChanged`` (subscriptions follow it), ``ReconnectFeed``, ``TimerFired``
    (its own keep-alive timer). Emits: the decoder's messages (``M``: ``venue.wire``'s
    ``MarketMessage``, ``UserMessage`` or ``PriceUpdate``) and ``FeedStatus`` to every sink.
    On failure: bad frames and failing sinks are logged (rate-limited) and counted, never fatal;
    the reader never dies from input. An unexpected error in a control handler is logged.
    """

    FEED: ClassVar[str] = "feed"
    DATA_LIVENESS: ClassVar[bool] = True
    """True: only data frames prove liveness. False: any frame (PONG too) does, for channels
    that are legitimately quiet (the user channel)."""
    LAG_METRIC: ClassVar[bool] = False

    def __init__(self, url: str, config: FeedConfig, sinks: Sequence[Tell],
                 metrics: MetricSink | None = None, *, decode: Decoder[M] | None = None,
                 rng: Callable[[], float] = random.random,
                 shutdown: threading.Event | None = None) -> None:
        super().__init__()
        errors = feed_config_errors(config, f"{self.FEED}_feed")
        if not url.startswith(("ws://", "wss://")):
            errors.insert(0, f"{self.FEED}_feed.url: expected ws:// or wss://, got {url!r}")
        if errors:
            raise ConfigError(errors)
        self._url = url
        self._cfg = config
        self._sinks = tuple(sinks)
        self._metrics = metrics
        self._decode: Decoder[M] = decode or self._default_decoder()
        self._rng = rng
        self._raw = logging.getLogger(f"polymm.raw.{self.FEED}")
        self._lock = threading.Lock()
        self._ws: WsConn | None = None
        self._close_reason = ""
        self._stopping = threading.Event()
        # Set by the supervisor when the bot's shutdown begins: the socket stays up (the user
        # feed still brings the final cancels' confirmations) but a lost one is not reopened.
        self._bot_shutdown = shutdown or threading.Event()
        self._reader_loop = ReaderLoop(self)
        self._reader = threading.Thread(target=self._reader_loop.run, daemon=True,
                                        name=f"{type(self).__name__}-reader")
        self._timer: PeriodicTimer | None = None
        self._timer_name = f"{self.FEED}_feed.keepalive"
        self._next_ping = 0.0
        self._last_frame = 0.0
        self._last_data = 0.0
        # Written by the reader thread (one int store), read by stats() on the actor thread.
        self.last_lag_ms: int | None = None
        self._reported = (0, 0)
        self._sink_log = LogLimiter()
        self.counters = FeedCounters(
            connects=0, reconnects=0, silent=0, frames=0, bytes=0, messages=0, decode_errors=0,
            oversize_frames=0, sink_errors=0, venue_errors=0, resyncs=0,
            echoes_skipped=0)

    def _default_decoder(self) -> Decoder[M]:
        raise NotImplementedError

    # -- lifecycle (actor thread) ------------------------------------------------------------

    def on_start(self) -> None:
        self._reader.start()
        self._timer = start_timer(self.actor_ref, self._timer_name, timer_interval_s(self._cfg))

    def on_stop(self) -> None:
        self._shutdown()

    def on_failure(self, *exc_info: object) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        self._stopping.set()
        if self._timer is not None:
            self._timer.stop()
        with self._lock:
            ws, self._close_reason = self._ws, "stopped"
        if ws is not None:
            ws.abort()
        if self._reader.is_alive():
            self._reader.join(JOIN_TIMEOUT_S)
            if self._reader.is_alive():
                logger.warning("%s feed: reader thread did not stop in %.0f s",
                               self.FEED, JOIN_TIMEOUT_S)

    def on_receive(self, message: object) -> None:
        try:
            if isinstance(message, TimerFired):
                if message.name == self._timer_name:
                    self._on_tick(time.monotonic())
            elif isinstance(message, MarketsChanged):
                self.on_markets_changed(message)
            elif isinstance(message, ReconnectFeed):
                self._drop_silent(self._ws, message.reason)
            elif not self._on_command(message):
                logger.debug("%s feed: ignored %s", self.FEED, type(message).__name__)
        except Exception:
            logger.exception("%s feed: failed to handle %s", self.FEED, type(message).__name__)
        return None

    def on_markets_changed(self, message: MarketsChanged) -> None:
        """Subclasses map the market set onto their subscriptions."""

    def _on_command(self, message: object) -> bool:
        """A feed's own commands (actor thread); True if ``message`` was one."""
        return False

    def stats(self) -> FeedStats:
        """Counters for the supervisor's status and tests (asked with a timeout)."""
        return {"feed": self.FEED, "connected": self._ws is not None,
                "lag_ms": self.last_lag_ms, **self.counters}

    # -- keep-alive and liveness (actor thread) ------------------------------------------------

    def _on_tick(self, now: float) -> None:
        self._flush_metrics()
        ws = self._ws
        if ws is None:
            return
        if now >= self._next_ping:
            self._next_ping = now + self._cfg.ping_interval_s
            frame = self._ping_frame()
            if frame is not None:
                self._send_now(ws, frame)
        limit = self._cfg.liveness_timeout_s
        if limit <= 0 or not self._expects_data():
            return
        last = self._last_data if self.DATA_LIVENESS else self._last_frame
        if now - last > limit:
            self._drop_silent(ws, f"no data for {now - last:.1f} s")

    def _drop_silent(self, ws: WsConn | None, why: str) -> None:
        """Close an open but silent socket so the reader reconnects (and resyncs)."""
        with self._lock:
            if ws is None or self._ws is not ws:
                return
            self._close_reason = "silent"
        self.counters["silent"] += 1
        self._incr("feed.silent_sockets")
        logger.warning("%s feed: %s; closing the socket to reconnect", self.FEED, why)
        ws.abort()

    def _flush_metrics(self) -> None:
        """Per-frame counts go to the metrics once per tick, not once per frame."""
        m = self._metrics
        if m is None:
            return
        frames, nbytes = self.counters["frames"], self.counters["bytes"]
        f0, b0 = self._reported
        if frames > f0:
            m.incr("feed.messages", frames - f0, dim=self.FEED)
            m.incr("feed.bytes", nbytes - b0, dim=self.FEED)
            self._reported = (frames, nbytes)
        m.gauge("feed.connected", 1 if self._ws is not None else 0, dim=self.FEED)

    def _ping_frame(self) -> Frame | None:
        return "PING"

    def _expects_data(self) -> bool:
        """Whether silence means trouble (a feed with no subscriptions is quiet by design)."""
        return True

    # -- sending (either thread) ---------------------------------------------------------------

    def _send_now(self, ws: WsConn, frame: Frame) -> bool:
        text = frame if isinstance(frame, str) else orjson.dumps(frame).decode()
        if self._cfg.raw_log_sample and self._raw.isEnabledFor(logging.DEBUG):
            shown = frame if isinstance(frame, str) else orjson.dumps(redact(frame)).decode()
            self._raw.debug("send %s", shown)
        try:
            ws.send(text)
            return True
        except Exception as exc:  # the reader notices the broken socket and reconnects
            logger.debug("%s feed: send failed: %s", self.FEED, exc)
            return False

    def _send_live(self, frames: Sequence[Frame]) -> None:
        """Send frames on the current socket (caller holds ``self._lock``); none if down."""
        ws = self._ws
        if ws is None:
            return
        for f in frames:
            self._send_now(ws, f)

    def _handshake_frames(self) -> list[Frame]:
        """Frames to send right after (re)connecting; called with ``self._lock`` held."""
        return []

    def _on_control(self, ws: WsConn, data: bytes) -> bool:
        """Handle a protocol control frame on the reader thread; True if it was one."""
        return False

    def _accept(self, msg: M) -> bool:
        """Whether a decoded message goes to the sinks (reader thread)."""
        return True

    def _close_delay(self, code: int) -> tuple[str, float | None]:
        """Reason and reconnect delay for a close frame (None = the usual backoff)."""
        return f"closed_{code}", None

    # -- emitting (reader thread, or actor thread for status) ---------------------------------

    def _emit(self, msg: object) -> None:
        for sink in self._sinks:
            try:
                sink(msg)
            except Exception as exc:
                self.counters["sink_errors"] += 1
                n = self._sink_log.allow()
                if n is not None:
                    logger.warning("%s feed: sink failed on %s: %r (%d similar suppressed)",
                                   self.FEED, type(msg).__name__, exc, n)

    def _status(self, connected: bool, reason: str,
                token_ids: tuple[str, ...] = ()) -> None:
        self._emit(FeedStatus(feed=self.FEED, connected=connected, reason=reason,
                              ts_recv_ns=time.time_ns(), token_ids=token_ids))

    def _incr(self, name: str, n: int = 1) -> None:
        if self._metrics is not None:
            self._metrics.incr(name, n, dim=self.FEED)
