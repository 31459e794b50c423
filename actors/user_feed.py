"""The user channel feed: our own orders and trades (authenticated)."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from typing import ClassVar

from actors.ws_feed import Decoder, WsFeed
from actors.ws_support import FeedConfig, Frame
from messages import MarketsChanged
from messages.errors import ConfigError
from runtime.sinks import MetricSink, Tell
from venue.auth import ApiCreds
from venue.wire import UserMessage, decode_user

logger = logging.getLogger(__name__)


class UserFeed(WsFeed[UserMessage]):
    """Authenticates with the raw API credentials and follows the traded markets' condition ids.

    The first frame on every connection is ``{"type":"user","auth":{…},"markets":[…]}``; it is
    never logged (the raw logger shows ``auth`` redacted) and the credentials never appear in a
    repr or an exception. Thread ownership: ``_markets`` and ``_creds`` are guarded by the base's
    lock (read by the reader thread in the handshake, changed by the actor thread).

    Accepts: ``MarketsChanged`` (``operation: subscribe/unsubscribe`` by condition id).
    Emits: ``OrderEvent``/``TradeEvent`` and ``FeedStatus(feed="user")``; after every reconnect
    ``reason="resync"`` so the OrderManager reconciles from REST (the channel has no replay).
    Liveness counts any frame, ``PONG`` included: the channel is quiet while nothing trades.
    On failure: see :class:`WsFeed`.
    """

    FEED: ClassVar[str] = "user"
    DATA_LIVENESS: ClassVar[bool] = False

    def __init__(self, url: str, config: FeedConfig, creds: ApiCreds, sinks: Sequence[Tell],
                 metrics: MetricSink | None = None, *,
                 decode: Decoder[UserMessage] | None = None,
                 rng: Callable[[], float] = random.random,
                 shutdown: threading.Event | None = None) -> None:
        super().__init__(url, config, sinks, metrics, decode=decode, rng=rng, shutdown=shutdown)
        # None too: the roof's credentials are derived at start and reach here untyped.
        if creds is None or not (creds.api_key and creds.secret and creds.passphrase):
            raise ConfigError(["user_feed: API credentials (api_key, secret, passphrase) "
                               "are required"])
        self._creds = creds
        self._markets: tuple[str, ...] = ()

    def _default_decoder(self) -> Decoder[UserMessage]:
        return decode_user

    def _handshake_frames(self) -> list[Frame]:
        c = self._creds
        return [{"type": "user",
                 "auth": {"apiKey": c.api_key, "secret": c.secret, "passphrase": c.passphrase},
                 "markets": list(self._markets)}]

    def on_markets_changed(self, message: MarketsChanged) -> None:
        new = tuple(dict.fromkeys(str(m.condition_id) for m in message.markets))
        with self._lock:
            old_order = self._markets
            old = set(old_order)
            self._markets = new
            keep = set(new)
            added = [c for c in new if c not in old]
            removed = [c for c in old_order if c not in keep]
            frames: list[Frame] = []
            if removed:
                frames.append({"operation": "unsubscribe", "markets": removed})
            if added:
                frames.append({"operation": "subscribe", "markets": added})
            self._send_live(frames)
