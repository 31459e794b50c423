"""The reference-price feed: PolyBolt (current) or RTDS (legacy) → ``PriceUpdate``s."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import orjson

from actors.ws_feed import Decoder, WsFeed
from actors.ws_support import FeedConfig, Frame, LogLimiter, WsConn
from messages import MarketsChanged, PriceUpdate
from messages.errors import ConfigError
from runtime.sinks import MetricSink, Tell
from trading import params
from venue.auth import ApiCreds
from venue.wire import decode_polybolt, decode_rtds

logger = logging.getLogger(__name__)

PROVIDERS = ("polybolt", "rtds")
DRAIN_MAX_S = 10.0
"""PolyBolt close 4003 (draining): reconnect after a uniform 0–10 s delay (protocol §3.2)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceFeedConfig(FeedConfig):
    """Section ``price_feed``: PolyBolt (current) or RTDS (legacy, price topics deprecated)."""

    # ``params.rng``: the loader's range metadata (not ``rng``: the feeds' random source).
    ping_interval_s: float = field(default=5.0, metadata=params.rng(0.5, 300))
    provider: str = field(default="polybolt", metadata=params.rng(choices=PROVIDERS))
    twap_window_seconds: int = field(default=60, metadata=params.rng(1, 3600))


def polybolt_close_policy(code: int) -> tuple[str, str]:
    """(reason, action) for a PolyBolt close code (protocol §3.2).

    ``action``: ``backoff`` (the usual exponential backoff), ``drain`` (uniform 0–10 s, the
    server is restarting), ``max`` (wait the longest backoff: retrying soon cannot help).
    """
    if code == 4001:
        return "auth_failed", "max"
    if code == 4002:
        return "slow_consumer", "backoff"
    if code == 4003:
        return "draining", "drain"
    if code == 4008:
        return "policy_violation", "max"
    return f"closed_{code}", "backoff"


def polybolt_subscriptions(assets: Sequence[str],
                           twap_window_s: int) -> list[dict[str, object]]:
    """The ``subscriptions`` list of a PolyBolt (un)subscribe: spot and TWAP per asset."""
    out: list[dict[str, object]] = []
    for a in assets:
        sym = f"{a}usd"
        out.append({"channel": "price.crypto", "filter": {"symbol": sym}})
        out.append({"channel": "price.crypto.twap",
                    "filter": {"symbol": sym, "window_seconds": twap_window_s}})
    return out


def rtds_subscriptions(assets: Sequence[str]) -> list[dict[str, object]]:
    """The ``subscriptions`` list of an RTDS (un)subscribe (filter formats of protocol §3.1)."""
    subs: list[dict[str, object]] = [
        {"topic": "crypto_prices", "type": "update",
         "filters": ",".join(f"{a}usdt" for a in assets)}]
    for a in assets:
        # Exactly {"symbol":"btc/usd"}, no spaces: RTDS silently ignores anything else.
        subs.append({"topic": "crypto_prices_chainlink", "type": "*",
                     "filters": orjson.dumps({"symbol": f"{a}/usd"}).decode()})
    # The TWAP topic takes no documented filter: subscribe to all, keep ours (``_accept``).
    subs.append({"topic": "crypto_prices_twap_sixty", "type": "*"})
    return subs


class PriceFeed(WsFeed[PriceUpdate]):
    """Streams spot and TWAP reference prices for the assets we trade.

    PolyBolt: ``auth`` → ``authed`` → one ``subscribe`` frame (``price.crypto`` and
    ``price.crypto.twap`` per asset); keep-alive ``{"op":"ping"}`` (the server also pings);
    close codes 4001/4002/4003/4008 handled per protocol §3.2. RTDS (``provider: rtds``):
    ``PING`` every ``ping_interval_s`` (5 s), topics ``crypto_prices``,
    ``crypto_prices_chainlink`` and ``crypto_prices_twap_sixty``.

    Thread ownership: ``_assets``, ``_authed`` and ``_rid`` are guarded by the base's lock; the
    reader thread reads ``_assets_set`` (replaced whole, never mutated) to drop other assets.
    Accepts: ``MarketsChanged`` (assets = configured assets ∪ ``market.asset``).
    Emits: ``PriceUpdate`` and ``FeedStatus(feed="price")``. On failure: see :class:`WsFeed`.
    """

    FEED: ClassVar[str] = "price"
    LAG_METRIC: ClassVar[bool] = True

    def __init__(self, url: str, config: PriceFeedConfig, creds: ApiCreds | None,
                 assets: Sequence[str], sinks: Sequence[Tell],
                 metrics: MetricSink | None = None, *,
                 decode: Decoder[PriceUpdate] | None = None,
                 rng: Callable[[], float] = random.random,
                 shutdown: threading.Event | None = None) -> None:
        self._provider = config.provider
        if self._provider not in PROVIDERS:
            raise ConfigError([f"price_feed.provider: expected one of {PROVIDERS}, "
                               f"got {self._provider!r}"])
        self._twap_s = config.twap_window_seconds
        super().__init__(url, config, sinks, metrics, decode=decode, rng=rng, shutdown=shutdown)
        self._creds = creds
        self._base_assets = tuple(dict.fromkeys(a.lower() for a in assets))
        self._assets: tuple[str, ...] = self._base_assets
        self._assets_set = frozenset(self._assets)
        self._authed = False
        self._rid = 0
        self._venue_log = LogLimiter()

    def _default_decoder(self) -> Decoder[PriceUpdate]:
        return decode_polybolt if self._provider == "polybolt" else decode_rtds

    def _expects_data(self) -> bool:
        return bool(self._assets)

    def _ping_frame(self) -> Frame | None:
        return {"op": "ping"} if self._provider == "polybolt" else "PING"

    def _next_rid(self, prefix: str) -> str:
        self._rid += 1
        return f"{prefix}{self._rid}"

    def _frames(self, op: str, assets: Sequence[str]) -> list[Frame]:
        if not assets:
            return []
        if self._provider == "polybolt":
            return [{"op": op, "rid": self._next_rid(op[0]),
                     "subscriptions": polybolt_subscriptions(assets, self._twap_s)}]
        return [{"action": op, "subscriptions": rtds_subscriptions(assets)}]

    def _handshake_frames(self) -> list[Frame]:
        if self._provider == "polybolt" and self._creds is not None:
            self._authed = False
            c = self._creds
            return [{"op": "auth", "rid": self._next_rid("a"),
                     "auth": {"apiKey": c.api_key, "secret": c.secret,
                              "passphrase": c.passphrase}}]
        self._authed = True
        return self._frames("subscribe", self._assets)

    def _on_control(self, ws: WsConn, data: bytes) -> bool:
        if self._provider != "polybolt" or b'"op"' not in data:
            return False
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            return False
        op = doc.get("op") if isinstance(doc, dict) else None
        if not isinstance(op, str):
            return False
        if op == "authed":
            with self._lock:
                if self._ws is ws:
                    self._authed = True
                    self._send_live(self._frames("subscribe", self._assets))
        elif op == "error":
            self.counters["venue_errors"] += 1
            n = self._venue_log.allow()
            if n is not None:
                logger.warning("price feed: venue error %s (rid %s) (%d similar suppressed)",
                               doc.get("code"), doc.get("rid"), n)
        elif op not in ("pong", "subscribed", "unsubscribed"):
            logger.debug("price feed: control op %s", op)
        return True

    def _accept(self, msg: PriceUpdate) -> bool:
        return msg.asset in self._assets_set

    def _close_delay(self, code: int) -> tuple[str, float | None]:
        if self._provider != "polybolt":
            return f"closed_{code}", None
        reason, action = polybolt_close_policy(code)
        if action == "drain":
            return reason, self._rng() * min(DRAIN_MAX_S, self._cfg.reconnect_max_s)
        if action == "max":
            logger.error("price feed: PolyBolt closed the socket: %s (%d)", reason, code)
            return reason, self._cfg.reconnect_max_s
        return reason, None

    def on_markets_changed(self, message: MarketsChanged) -> None:
        wanted = self._base_assets + tuple(m.asset.lower() for m in message.markets if m.asset)
        new = tuple(dict.fromkeys(wanted))
        with self._lock:
            old_order = self._assets
            old = set(old_order)
            self._assets = new
            self._assets_set = frozenset(new)
            added = [a for a in new if a not in old]
            removed = [a for a in old_order if a not in self._assets_set]
            if self._authed:
                self._send_live(self._frames("unsubscribe", removed)
                                + self._frames("subscribe", added))
        if added or removed:
            logger.info("price feed: assets %s", ",".join(new))

