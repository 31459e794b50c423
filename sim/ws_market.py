"""The market channel (``/ws/market``): subscriptions, book dumps and every public event.

``MarketPublisher`` turns book changes of a ``MarketState`` into the venue's frames (current
``price_change`` format with ``price_changes[]`` and per-entry best bid/ask; ``book`` after
trades; ``last_trade_price``; ``tick_size_change``; custom-feature ``best_bid_ask``,
``new_market``, ``market_resolved``). Owned by the simulator's event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from sim.book import LevelChange, flip
from sim.hub import Conn, Hub
from sim.windows import MarketState
from sim.wire import PIPS, micro_str, pips_str

logger = logging.getLogger(__name__)


def _top_str(bb: int | None, ba: int | None) -> tuple[str, str]:
    return ("0" if bb is None else pips_str(bb)), ("1" if ba is None else pips_str(ba))


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def tick_str(tick_pips: int) -> str:
    return pips_str(tick_pips)


class MarketPublisher:
    """Builds market-channel frames and routes them to the subscribers of a market's assets."""

    def __init__(self, hub: Hub, *, resolutions: bool = True) -> None:
        self.hub = hub
        self._hash = 0
        self._resolutions = resolutions

    def _next_hash(self) -> str:
        self._hash += 1
        return f"{self._hash * 2654435761 % (1 << 160):040x}"

    def _route(self, m: MarketState, frames: Callable[[bool, bool], str | None]) -> None:
        """Send ``frames(wants_up, wants_down)`` to every subscriber of either token."""
        up, down = m.token_ids
        subs = self.hub.market_subs
        targets = subs.get(up, set()) | subs.get(down, set())
        cache: dict[tuple[bool, bool], str | None] = {}
        for conn in targets:
            key = (up in conn.assets, down in conn.assets)
            if key not in cache:
                cache[key] = frames(*key)
            text = cache[key]
            if text is not None:
                self.hub.send(conn, text)
                self.hub.stats.market_messages += 1

    def book_event(self, m: MarketState, idx: int, now_ms: int) -> dict[str, Any]:
        bids, asks = m.book.levels(idx)
        # The venue's REST book lists the best price last; websocket examples ascend. Ascending.
        return {
            "event_type": "book", "asset_id": m.token_ids[idx], "market": m.condition_id,
            "bids": [{"price": pips_str(p), "size": micro_str(s)} for p, s in reversed(bids)],
            "asks": [{"price": pips_str(p), "size": micro_str(s)} for p, s in reversed(asks)],
            "timestamp": str(now_ms), "hash": "0x" + self._next_hash(),
            "tick_size": tick_str(m.tick_pips), "min_order_size": micro_str(m.min_size_micro),
            "neg_risk": m.neg_risk,
        }

    def books(self, m: MarketState, now_ms: int) -> None:
        events = [self.book_event(m, 0, now_ms), self.book_event(m, 1, now_ms)]
        texts = [_dumps(e) for e in events]
        self._route(m, lambda u, d: texts[0] if u and not d else texts[1] if d and not u
                    else _dumps(events))

    def price_change(self, m: MarketState, changes: list[LevelChange], now_ms: int) -> None:
        if not changes:
            return
        up_top = _top_str(*m.book.top(0))
        down_top = _top_str(*m.book.top(1))
        up_entries, down_entries = [], []
        for side, price, size in changes:
            size_s = micro_str(size)
            up_entries.append({"asset_id": m.token_ids[0], "price": pips_str(price),
                               "size": size_s, "side": side, "hash": self._next_hash(),
                               "best_bid": up_top[0], "best_ask": up_top[1]})
            down_entries.append({"asset_id": m.token_ids[1], "price": pips_str(PIPS - price),
                                 "size": size_s, "side": flip(side), "hash": self._next_hash(),
                                 "best_bid": down_top[0], "best_ask": down_top[1]})

        def frame(wants_up: bool, wants_down: bool) -> str:
            entries = (up_entries if wants_up else []) + (down_entries if wants_down else [])
            return _dumps({"event_type": "price_change", "market": m.condition_id,
                           "timestamp": str(now_ms), "price_changes": entries})

        self._route(m, frame)
        self.best_bid_ask(m, now_ms)

    def best_bid_ask(self, m: MarketState, now_ms: int) -> None:
        tops = (m.book.top(0), m.book.top(1))
        if tops == m.last_top:
            return
        m.last_top = tops
        frames = []
        for idx in (0, 1):
            bb, ba = tops[idx]
            bb_s, ba_s = _top_str(bb, ba)
            spread = pips_str((PIPS if ba is None else ba) - (0 if bb is None else bb))
            frames.append(_dumps({"event_type": "best_bid_ask", "market": m.condition_id,
                                  "asset_id": m.token_ids[idx], "best_bid": bb_s,
                                  "best_ask": ba_s, "spread": spread,
                                  "timestamp": str(now_ms)}))
        for idx in (0, 1):
            for conn in self.hub.market_subs.get(m.token_ids[idx], ()):
                if conn.custom:
                    self.hub.send(conn, frames[idx])

    def last_trade(self, m: MarketState, idx: int, side: str, price: int, size: int,
                   now_ms: int) -> None:
        text = _dumps({"event_type": "last_trade_price", "asset_id": m.token_ids[idx],
                       "market": m.condition_id, "price": pips_str(price),
                       "size": micro_str(size), "side": side, "fee_rate_bps": "0",
                       "timestamp": str(now_ms)})
        for conn in self.hub.market_subs.get(m.token_ids[idx], ()):
            self.hub.send(conn, text)

    def tick_change(self, m: MarketState, old: int, new: int, now_ms: int) -> None:
        for idx in (0, 1):
            text = _dumps({"event_type": "tick_size_change", "asset_id": m.token_ids[idx],
                           "market": m.condition_id, "old_tick_size": tick_str(old),
                           "new_tick_size": tick_str(new), "timestamp": str(now_ms)})
            for conn in self.hub.market_subs.get(m.token_ids[idx], ()):
                self.hub.send(conn, text)

    def new_market(self, m: MarketState, question: str, now_ms: int) -> None:
        text = _dumps({
            "event_type": "new_market", "id": m.market_id, "question": question,
            "market": m.condition_id, "slug": m.slug, "description": question,
            "assets_ids": list(m.token_ids), "outcomes": ["Up", "Down"],
            "event_message": {"id": m.event_id, "ticker": m.slug, "slug": m.slug,
                              "title": question, "description": question},
            "timestamp": str(now_ms), "active": True,
            "order_price_min_tick_size": tick_str(m.tick_pips)})
        for conn in self.hub.conns["market"]:
            if conn.custom:
                self.hub.send(conn, text)

    def resolved(self, m: MarketState, now_ms: int) -> None:
        if not self._resolutions:
            return
        winner = m.winner or 0
        text = _dumps({
            "event_type": "market_resolved", "id": m.market_id, "market": m.condition_id,
            "slug": m.slug, "assets_ids": list(m.token_ids),
            "winning_asset_id": m.token_ids[winner], "winning_outcome": ("Up", "Down")[winner],
            "timestamp": str(now_ms)})
        targets = self.hub.market_subs.get(m.token_ids[0], set()) | self.hub.market_subs.get(
            m.token_ids[1], set())
        for conn in targets:
            if conn.custom:
                self.hub.send(conn, text)


async def market_socket(request: web.Request, hub: Hub, publisher: MarketPublisher,
                        by_token: dict[str, MarketState], now_ms: Callable[[], int]
                        ) -> web.WebSocketResponse:
    """``GET /ws/market``: subscribe with ``{"type":"market","assets_ids":[…]}``."""
    ws = web.WebSocketResponse(compress=False, autoping=True)
    await ws.prepare(request)
    conn = Conn(channel="market", ws=ws, transport=request.transport)
    writer = await hub.serve(conn)
    try:
        async for req in hub.requests(conn, ws):
            assets = [str(a) for a in req.get("assets_ids") or []]
            op = req.get("operation") or ("subscribe" if req.get("type") else "")
            if "custom_feature_enabled" in req:
                conn.custom = bool(req["custom_feature_enabled"])
            if op == "unsubscribe":
                hub.unsubscribe_assets(conn, assets)
                continue
            if op != "subscribe":
                continue
            hub.subscribe_assets(conn, assets)
            if assets:
                hub.mark_subscribed(conn)
            if req.get("initial_dump", True):
                dump = [publisher.book_event(by_token[a], by_token[a].token_index(a), now_ms())
                        for a in assets if a in by_token]
                if dump:
                    hub.stats.book_dumps += len(dump)
                    hub.send(conn, _dumps(dump))
    finally:
        hub.forget(conn)
        writer.cancel()
    return ws
