"""Reference-price sockets: PolyBolt (``/ws/prices``, §3.2) and legacy RTDS (``/rtds``, §3.1).

PolyBolt needs ``op:auth`` with CLOB credentials, then ``op:subscribe`` (ack + one snapshot per
subscription); ``seq`` counts per connection and channel. RTDS takes ``action:subscribe`` with
topic filters and answers text ``PING`` with ``PONG``. Owned by the simulator's event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from sim.auth import Keys
from sim.hub import Conn, Hub
from sim.prices import E8, RefPrices
from sim.wire import e8_str

logger = logging.getLogger(__name__)

CRYPTO, TWAP = "price.crypto", "price.crypto.twap"
RTDS_BINANCE, RTDS_CHAINLINK, RTDS_TWAP = (
    "crypto_prices", "crypto_prices_chainlink", "crypto_prices_twap_sixty")


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


class PricePublisher:
    """Fans price updates out to PolyBolt and RTDS subscribers."""

    def __init__(self, hub: Hub, prices: RefPrices) -> None:
        self.hub = hub
        self.prices = prices

    def push_spot(self, asset: str, e8: int, now: float) -> int:
        """Set ``asset``'s exchange price to ``e8`` and send that one tick to every subscriber
        now (PolyBolt ``price.crypto`` and RTDS ``crypto_prices``); the 100 ms timer goes on
        from the new price. Returns the tick's ``ts_ms``. Raises ``KeyError`` for an asset
        without a price path and ``ValueError`` for a non-positive price."""
        tick = self.prices.set_spot(asset, e8, now)
        self.exchange((tick,))
        return tick[1]

    def _polybolt(self, conn: Conn, channel: str, payload: dict[str, Any], ts_ms: int,
                  snapshot: bool = False) -> None:
        seq = conn.seq.get(channel, 0) + 1
        conn.seq[channel] = seq
        frame: dict[str, Any] = {"v": 1, "channel": channel, "seq": seq, "ts": ts_ms}
        if snapshot:
            frame["snapshot"] = True
        frame["payload"] = payload
        self.hub.send(conn, _dumps(frame))

    def exchange(self, ticks: Iterable[tuple[str, int, int]]) -> None:
        for asset, ts_ms, e8 in ticks:
            sym = f"{asset}usd"
            payload = {"symbol": sym, "value": e8 / E8, "full_accuracy_value": e8_str(e8),
                       "timestamp": ts_ms, "source": "binance"}
            for conn in self.hub.conns["prices"]:
                if (CRYPTO, sym) in conn.subs:
                    self._polybolt(conn, CRYPTO, payload, ts_ms)
            rtds = _dumps({"topic": RTDS_BINANCE, "type": "update", "timestamp": ts_ms,
                           "payload": {"symbol": f"{asset}usdt", "timestamp": ts_ms,
                                       "value": e8 / E8}})
            self._rtds(RTDS_BINANCE, f"{asset}usdt", rtds)

    def chainlink(self, rounds: Iterable[tuple[str, int, int, int]]) -> None:
        for asset, ts_ms, e8, twap in rounds:
            sym = f"{asset}usd"
            payload = {"symbol": sym, "value": twap / E8, "full_accuracy_value": e8_str(twap),
                       "timestamp": ts_ms, "window_seconds": 60, "source": "chainlink"}
            for conn in self.hub.conns["prices"]:
                if (TWAP, sym) in conn.subs:
                    self._polybolt(conn, TWAP, payload, ts_ms)
            slash = f"{asset}/usd"
            self._rtds(RTDS_CHAINLINK, slash, _dumps({
                "topic": RTDS_CHAINLINK, "type": "update", "timestamp": ts_ms,
                "payload": {"symbol": slash, "timestamp": ts_ms, "value": e8 / E8}}))
            self._rtds(RTDS_TWAP, slash, _dumps({
                "topic": RTDS_TWAP, "type": "update", "timestamp": ts_ms,
                "payload": {"symbol": slash, "timestamp": ts_ms, "value": twap / E8,
                            "window_s": 60, "full_accuracy_value": str(twap * 10**10)}}))

    def _rtds(self, topic: str, symbol: str, text: str) -> None:
        for conn in self.hub.conns["rtds"]:
            if (topic, symbol) in conn.subs or (topic, "") in conn.subs:
                self.hub.send(conn, text)

    def snapshot(self, conn: Conn, channel: str, asset: str, ts_ms: int) -> None:
        ap = self.prices.assets[asset]
        series = ap.exchange if channel == CRYPTO else ap.twap
        payload: dict[str, Any] = {"symbol": f"{asset}usd", "data": [
            {"timestamp": t, "value": v / E8, "full_accuracy_value": e8_str(v)}
            for t, v in series]}
        if channel == TWAP:
            payload["window_seconds"] = 60
        self._polybolt(conn, channel, payload, ts_ms, snapshot=True)


async def polybolt_socket(request: web.Request, hub: Hub, pub: PricePublisher, keys: Keys,
                          now_ms: Any) -> web.WebSocketResponse:
    """``GET /ws/prices``: PolyBolt."""
    ws = web.WebSocketResponse(compress=False, autoping=True, heartbeat=25.0)
    await ws.prepare(request)
    conn = Conn(channel="prices", ws=ws, transport=request.transport)
    writer = await hub.serve(conn)
    assets = set(pub.prices.assets)
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                req = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                hub.reply(conn, _dumps({"op": "error", "code": "bad_request"}))
                continue
            if not isinstance(req, dict):
                continue
            op, rid = req.get("op"), req.get("rid")
            if op == "ping":
                hub.reply(conn, _dumps({"op": "pong", "rid": rid}))
            elif op == "auth":
                if keys.by_raw(req.get("auth")) is None:
                    hub.reply(conn, _dumps({"op": "error", "code": "auth_invalid", "rid": rid}))
                    await ws.close(code=4001, message=b"auth failed")
                    break
                conn.authed = True
                hub.reply(conn, _dumps({"op": "authed", "rid": rid}))
            elif op in ("subscribe", "unsubscribe"):
                if not conn.authed:
                    hub.reply(conn, _dumps({"op": "error", "code": "auth_required",
                                            "rid": rid}))
                    continue
                for sub in req.get("subscriptions") or []:
                    channel = sub.get("channel") if isinstance(sub, dict) else None
                    flt = (sub.get("filter") or {}) if isinstance(sub, dict) else {}
                    sym = str(flt.get("symbol", ""))
                    asset = sym[:-3] if sym.endswith("usd") else ""
                    if (channel not in (CRYPTO, TWAP) or asset not in assets
                            or (channel == TWAP and flt.get("window_seconds", 60) != 60)):
                        hub.reply(conn, _dumps({"op": "error", "code": "bad_filter",
                                                "rid": rid}))
                        continue
                    if op == "unsubscribe":
                        conn.subs.pop((channel, sym), None)
                        hub.reply(conn, _dumps({"op": "unsubscribed", "channel": channel,
                                                "rid": rid}))
                        continue
                    conn.subs[(channel, sym)] = True
                    hub.mark_subscribed(conn)
                    hub.reply(conn, _dumps({"op": "subscribed", "channel": channel,
                                            "rid": rid}))
                    pub.snapshot(conn, channel, asset, now_ms())
    finally:
        hub.forget(conn)
        writer.cancel()
    return ws


def _rtds_symbols(topic: str, filters: object) -> list[str]:
    if not filters:
        return [""]
    text = str(filters)
    if topic == RTDS_BINANCE:
        return [s.strip() for s in text.split(",") if s.strip()]
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return []
    return [str(parsed.get("symbol", ""))] if isinstance(parsed, dict) else []


async def rtds_socket(request: web.Request, hub: Hub) -> web.WebSocketResponse:
    """``GET /rtds``: the legacy real-time data service (price topics only)."""
    ws = web.WebSocketResponse(compress=False, autoping=True)
    await ws.prepare(request)
    conn = Conn(channel="rtds", ws=ws, transport=request.transport)
    writer = await hub.serve(conn)
    try:
        async for req in hub.requests(conn, ws):
            if req.get("action") not in ("subscribe",
                                                                     "unsubscribe"):
                continue
            for sub in req.get("subscriptions") or []:
                if not isinstance(sub, dict):
                    continue
                topic = str(sub.get("topic", ""))
                if topic not in (RTDS_BINANCE, RTDS_CHAINLINK, RTDS_TWAP):
                    continue
                for sym in _rtds_symbols(topic, sub.get("filters")):
                    if req["action"] == "subscribe":
                        conn.subs[(topic, sym)] = True
                        hub.mark_subscribed(conn)
                    else:
                        conn.subs.pop((topic, sym), None)
    finally:
        hub.forget(conn)
        writer.cancel()
    return ws
