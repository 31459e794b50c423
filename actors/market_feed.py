"""The market channel feed: book snapshots, level changes, ticks and trades for our tokens."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from typing import ClassVar

from actors.ws_feed import Decoder, WsFeed
from actors.ws_support import FeedConfig, Frame
from messages import MarketsChanged, ResyncBooks
from runtime.sinks import MetricSink, Tell
from venue.top_echoes import TopEchoes
from venue.wire import MarketMessage, decode_market

logger = logging.getLogger(__name__)


class MarketFeed(WsFeed[MarketMessage]):
    """Subscribes to every token of the traded markets and tells each book event to the sinks.

    Thread ownership: ``_tokens`` and ``_initial_sent`` are guarded by the base's lock (the
    reader thread reads them in the reconnect handshake, the actor thread changes them).
    The reader thread decodes frames (``venue.wire.decode_market``) and calls the sinks.

    Accepts: ``MarketsChanged`` (subscribe/unsubscribe on the live socket, no reconnect) and
    ``ResyncBooks`` (told on the State's behalf after a checksum mismatch: unsubscribe +
    subscribe those ids so the venue sends a fresh ``book`` dump).
    Emits: ``BookSnapshot``, ``BookChange``, ``TickSizeChanged``, ``LastTrade``,
    ``BestBidAsk``, ``MarketAnnounced``, ``MarketResolved`` and ``FeedStatus(feed="market")``
    (``reason="resync"`` after every reconnect, with ``token_ids`` for a targeted resync).
    A ``best_bid_ask`` that only repeats the ``price_change`` before it is skipped and
    counted (``echoes_skipped``; ``venue.top_echoes``).
    On failure: see :class:`WsFeed`; a dropped socket resubscribes everything on reconnect.
    """

    FEED: ClassVar[str] = "market"
    LAG_METRIC: ClassVar[bool] = True

    def __init__(self, url: str, config: FeedConfig, sinks: Sequence[Tell],
                 metrics: MetricSink | None = None, *,
                 decode: Decoder[MarketMessage] | None = None,
                 rng: Callable[[], float] = random.random,
                 shutdown: threading.Event | None = None) -> None:
        super().__init__(url, config, sinks, metrics, decode=decode, rng=rng, shutdown=shutdown)
        self._tokens: tuple[str, ...] = ()
        self._initial_sent = False
        self._echoes = TopEchoes()  # the reader thread's

    def _default_decoder(self) -> Decoder[MarketMessage]:
        return decode_market

    def _expects_data(self) -> bool:
        return bool(self._tokens)

    def _initial(self) -> dict[str, object]:
        self._initial_sent = True
        return {"type": "market", "assets_ids": list(self._tokens),
                "custom_feature_enabled": True}

    def _handshake_frames(self) -> list[Frame]:
        self._initial_sent = False
        self._echoes.clear()
        return [self._initial()] if self._tokens else []

    def on_markets_changed(self, message: MarketsChanged) -> None:
        new = tuple(dict.fromkeys(str(t) for t in message.token_ids()))
        with self._lock:
            old_order = self._tokens
            old = set(old_order)
            self._tokens = new
            added = [t for t in new if t not in old]
            keep = set(new)
            removed = [t for t in old_order if t not in keep]
            if self._ws is None:
                return
            if not self._initial_sent:
                frames: list[Frame] = [self._initial()] if new else []
            else:
                frames = []
                if removed:
                    frames.append({"operation": "unsubscribe", "assets_ids": removed})
                if added:
                    frames.append({"operation": "subscribe", "assets_ids": added,
                                   "custom_feature_enabled": True})
            self._send_live(frames)
        if added or removed:
            logger.debug("market feed: +%d -%d tokens", len(added), len(removed))

    def _accept(self, msg: MarketMessage) -> bool:
        # A best_bid_ask that repeats the price_change just before it is not told to anyone
        # (venue.top_echoes says why): counted, so the status shows what was left out.
        if self._echoes.is_echo(msg):
            self.counters["echoes_skipped"] += 1
            return False
        return True

    def _on_command(self, message: object) -> bool:
        if type(message) is ResyncBooks:
            self.resync(message.token_ids)
            return True
        return False

    def resync(self, token_ids: Sequence[str]) -> None:
        """Ask the venue for fresh ``book`` dumps of ``token_ids`` (unsubscribe + subscribe).

        Emits ``FeedStatus(reason="resync", token_ids=…)`` first, so consumers treat those books
        as pending. Ignored while disconnected: the reconnect resubscribes everything anyway.
        """
        with self._lock:
            subscribed = set(self._tokens)
            ids = [str(t) for t in dict.fromkeys(token_ids) if str(t) in subscribed]
            if not ids or self._ws is None or not self._initial_sent:
                return
            self._status(True, "resync", tuple(ids))
            self._send_live([
                {"operation": "unsubscribe", "assets_ids": ids},
                {"operation": "subscribe", "assets_ids": ids, "custom_feature_enabled": True},
            ])
        self.counters["resyncs"] += 1
        self._incr("feed.resyncs")
