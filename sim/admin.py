"""Admin routes under ``/_sim``: state, fault profiles, and deterministic taker fills, tick
changes and reference-price steps for tests and benchmarks; accounts on the simulated chain,
the venue's clock and the geoblock answer, for pre-flight tests. Owned by the simulator's
event loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from messages.errors import ConfigError
from sim.account import Access
from sim.auth import refuse
from sim.book import BUY, SELL
from sim.chain_state import ChainLedger
from sim.exchange import Exchange
from sim.faults import Faults, load_profile, parse_profile
from sim.hub import CHANNELS, Hub
from sim.prices import E8
from sim.stats import Stats
from sim.wire import PIPS, parse_decimal_micro
from sim.ws_prices import PricePublisher
from venue.wire_common import WireError
from venue.wire_prices import asset_of


class Admin:
    def __init__(self, *, exchange: Exchange, hub: Hub, stats: Stats, faults: Faults,
                 clock: Callable[[], float], rng: random.Random,
                 prices: PricePublisher | None = None, ledger: ChainLedger | None = None,
                 access: Access | None = None,
                 set_clock_skew: Callable[[float], None] | None = None) -> None:
        self.ex = exchange
        self.ledger = ledger
        self.access = access
        self.set_clock_skew = set_clock_skew
        self.chain_url = ""
        self.price_pub = prices
        self.hub = hub
        self.stats = stats
        self.faults = faults
        self.clock = clock
        self.rng = rng

    async def state(self, request: web.Request) -> web.Response:
        open_orders = {key: {"count": len(orders), "ids": sorted(orders)}
                       for key, orders in self.ex.open_by_key.items() if orders}
        body: dict[str, Any] = {
            "time": self.clock(), "open_orders": open_orders, **self.stats.as_json(),
            "sockets": self.hub.counts(), "sockets_subscribed": self.hub.subscribed_counts(),
            "fault_profile": self.faults.profile.name, "chain_url": self.chain_url,
            "chain": {"txs": self.ledger.txs, "block": self.ledger.block,
                      "settled_trades": self.ledger.settled_trades} if self.ledger else {},
            "markets": [{"slug": m.slug, "condition_id": m.condition_id,
                         "token_ids": list(m.token_ids), "tick": m.tick_pips / PIPS,
                         "accepting": m.accepting, "closed": m.closed,
                         "start": m.start_s, "end": m.end_s}
                        for m in sorted(self.ex.markets.values(), key=lambda m: m.start_s)],
        }
        return web.json_response(body, dumps=lambda o: orjson.dumps(o).decode())

    async def set_faults(self, request: web.Request) -> web.Response:
        try:
            raw = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            raise refuse(400, "body: a profile name or a profile mapping") from exc
        try:
            if isinstance(raw, str):
                profile = load_profile(raw)
            elif isinstance(raw, dict) and isinstance(raw.get("profile"), str):
                profile = load_profile(raw["profile"])
            else:
                profile = parse_profile(raw)
        except ConfigError as exc:
            raise refuse(400, str(exc)) from exc
        self.faults.set(profile)
        return web.json_response({"profile": profile.name})

    async def take(self, request: web.Request) -> web.Response:
        """``{"token_id", "side", "price": "0.45", "size": "10"}``: a taker order now."""
        req = orjson.loads(await request.read())
        m = self.ex.by_token.get(str(req.get("token_id")))
        side = req.get("side")
        if m is None or side not in (BUY, SELL):
            raise refuse(400, "token_id and side BUY|SELL required")
        price = parse_decimal_micro(str(req["price"]), PIPS)
        size = parse_decimal_micro(str(req.get("size", "5")))
        trade = self.ex.take(m, m.token_index(str(req["token_id"])), side, price, size,
                             self.clock())
        return web.json_response({"trade_id": trade.id if trade else None,
                                  "size": trade.size_micro / 1e6 if trade else 0})

    async def tick(self, request: web.Request) -> web.Response:
        """``{"token_id" | "condition_id", "tick": "0.001"}``: change a market's tick now."""
        req = orjson.loads(await request.read())
        m = self.ex.by_token.get(str(req.get("token_id"))) or self.ex.markets.get(
            str(req.get("condition_id")))
        if m is None:
            raise refuse(404, "market not found")
        self.ex.set_tick(m, parse_decimal_micro(str(req["tick"]), PIPS), self.clock())
        self.stats.faults["tick_change"] += 1
        return web.json_response({"tick": m.tick_pips / PIPS})

    async def price(self, request: web.Request) -> web.Response:
        """``{"symbol": "btcusd" | "asset": "btc", "value": "100050.5"}``: set the asset's
        exchange price and broadcast that one tick on the price sockets now (a deterministic
        reference-price step; the simulated path goes on from it)."""
        try:
            req = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            raise refuse(400, "body: {symbol | asset, value}") from exc
        if not isinstance(req, dict):
            raise refuse(400, "body: {symbol | asset, value}")
        pub = self.price_pub
        if pub is None:
            raise refuse(500, "no price publisher on this venue")
        try:
            asset = asset_of(str(req.get("symbol") or req.get("asset") or ""))
            e8 = parse_decimal_micro(str(req["value"]), E8)
        except (KeyError, ValueError, WireError) as exc:
            raise refuse(400, f"symbol or asset, and a decimal value, required: {exc}") from exc
        if asset not in pub.prices.assets:
            raise refuse(404, f"no price path for {asset!r}")
        if e8 <= 0:
            raise refuse(400, "value: expected > 0")
        ts_ms = pub.push_spot(asset, e8, self.clock())
        return web.json_response({"asset": asset, "value_e8": e8, "ts_ms": ts_ms})

    def _channels(self, req: Any) -> list[str]:
        chans = req.get("channels") or [req.get("channel")]
        if not isinstance(chans, list) or not chans or any(c not in CHANNELS for c in chans):
            raise refuse(400, f"channel(s) expected, one of {', '.join(CHANNELS)}")
        return [str(c) for c in chans]

    def _each_live_conn(self, req: dict[str, Any], act: Callable[[Any], None],
                        fault: str) -> dict[str, int]:
        """Refuse new connections on the request's channels for ``outage_s``, apply ``act`` to
        each live socket of them, count ``fault``; returns sockets affected per channel."""
        outage = float(req.get("outage_s", 0) or 0)
        done: dict[str, int] = {}
        for ch in self._channels(req):
            self.hub.refuse(ch, outage)
            conns = [c for c in self.hub.conns[ch] if not c.dead]
            for c in conns:
                act(c)
            self.stats.faults[fault] += len(conns)
            done[ch] = len(conns)
        return done

    async def drop(self, request: web.Request) -> web.Response:
        """``{"channel" | "channels": [...], "outage_s": 0}``: drop every socket of those
        channels now (TCP abort, no close frame) and refuse reconnects for ``outage_s``."""
        req = orjson.loads(await request.read())
        dropped = self._each_live_conn(req, self.hub.drop, "socket_drop")
        return web.json_response({"dropped": dropped})

    async def freeze(self, request: web.Request) -> web.Response:
        """``{"channel" | "channels": [...], "seconds": 8, "outage_s": 0}``: freeze every
        socket of those channels (data frames silently dropped, pings still answered) and
        refuse new connections on them for ``outage_s``."""
        req = orjson.loads(await request.read())
        seconds = float(req.get("seconds", 5))
        frozen = self._each_live_conn(req, lambda c: self.hub.freeze(c, seconds),
                                      "socket_freeze")
        return web.json_response({"frozen": frozen})

    async def orders(self, request: web.Request) -> web.Response:
        """Every order the venue ever accepted (``?owner=<api key>`` to filter), oldest first:
        id, owner, market, token, side, price, sizes and status."""
        owner = request.query.get("owner")
        rows = [{"id": o.id, "owner": o.owner, "market": o.condition_id, "asset_id": o.token_id,
                 "side": o.side, "price_pips": o.price_pips, "original_micro": o.original_micro,
                 "matched_micro": o.matched_micro, "status": o.status,
                 "created_s": o.created_s}
                for o in self.ex.orders.values() if owner is None or o.owner == owner]
        return web.json_response(rows, dumps=lambda o: orjson.dumps(o).decode())

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            req = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            raise refuse(400, "body: a JSON object") from exc
        if not isinstance(req, dict):
            raise refuse(400, "body: a JSON object")
        return req

    async def account(self, request: web.Request) -> web.Response:
        """``{"address", "funded"?, "approved"?, "pusd"?: "12.5", "pol"?: "0.01",
        "contract"?, "closed_only"?, "eoa_allowed"?}``: change one account on the simulated
        chain (``funded``/``approved`` false: no pUSD and POL / no approvals); GET
        ``?address=`` reads it."""
        if self.ledger is None:
            raise refuse(500, "no chain on this venue")
        req: dict[str, Any] = (dict(request.query) if request.method == "GET"
                               else await self._body(request))
        address = str(req.get("address", ""))
        if not (address.startswith("0x") and len(address) == 42):
            raise refuse(400, "address: 0x + 40 hex required")
        flags: dict[str, bool] = {}
        for k in ("funded", "approved", "contract", "closed_only", "eoa_allowed"):
            if k in req:
                if not isinstance(req[k], bool):
                    raise refuse(400, f"{k}: expected true or false")
                flags[k] = req[k]
        try:
            pusd = parse_decimal_micro(str(req["pusd"])) if "pusd" in req else None
            pol = parse_decimal_micro(str(req["pol"]), 10**18) if "pol" in req else None
        except (ValueError, WireError) as exc:
            raise refuse(400, f"pusd, pol: decimal amounts: {exc}") from exc
        if min(pusd or 0, pol or 0) < 0:
            raise refuse(400, "pusd, pol: expected >= 0")
        if request.method != "GET":
            self.ledger.configure(address, pusd=pusd, pol_wei=pol, **flags)
        return web.json_response(self.ledger.snapshot(address),
                                 dumps=lambda o: orjson.dumps(o).decode())

    async def skew_clock(self, request: web.Request) -> web.Response:
        """``{"skew_s": 120}``: the venue's ``GET /time`` runs that far ahead (or behind)."""
        req = await self._body(request)
        skew = req.get("skew_s")
        if self.set_clock_skew is None or not isinstance(skew, int | float) \
                or isinstance(skew, bool):
            raise refuse(400, "skew_s: a number of seconds")
        self.set_clock_skew(float(skew))
        return web.json_response({"skew_s": float(skew)})

    async def geoblock(self, request: web.Request) -> web.Response:
        """``{"blocked": true, "country": "US", "region": "NY"}``: what ``/api/geoblock``
        answers."""
        req = await self._body(request)
        if self.access is None or not isinstance(req.get("blocked"), bool):
            raise refuse(400, "blocked: a boolean")
        self.access.blocked = req["blocked"]
        self.access.country = str(req.get("country", self.access.country))
        self.access.region = str(req.get("region", self.access.region))
        return web.json_response({"blocked": self.access.blocked,
                                  "country": self.access.country})

    async def resolve(self, request: web.Request) -> web.Response:
        """``{"condition_id", "winner": 0 | 1}``: close and resolve a market now (its orders
        canceled, its condition resolved on the chain), ahead of its window's end."""
        req = await self._body(request)
        m = self.ex.markets.get(str(req.get("condition_id")))
        if m is None:
            raise refuse(404, "market not found")
        if req.get("winner") not in (0, 1) or m.closed:
            raise refuse(400, "winner: 0 (Up) or 1 (Down), of a market still open")
        self.ex.close_market(m, int(req["winner"]), self.clock())
        return web.json_response({"condition_id": m.condition_id, "winner": m.winner})

    def change_random_tick(self) -> None:
        """The tick fault: flip an accepting market between 0.01 and 0.001."""
        live = sorted((m for m in self.ex.markets.values() if m.accepting and not m.closed),
                      key=lambda m: m.start_s)
        if not live:
            return
        m = self.rng.choice(live)
        self.ex.set_tick(m, 10 if m.tick_pips == 100 else 100, self.clock())
        self.stats.faults["tick_change"] += 1

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/_sim/state", self.state), web.post("/_sim/faults", self.set_faults),
                web.post("/_sim/take", self.take), web.post("/_sim/tick", self.tick),
                web.post("/_sim/price", self.price),
                web.post("/_sim/drop", self.drop), web.post("/_sim/freeze", self.freeze),
                web.get("/_sim/orders", self.orders),
                web.post("/_sim/account", self.account), web.get("/_sim/account", self.account),
                web.post("/_sim/clock", self.skew_clock), web.post("/_sim/geoblock", self.geoblock),
                web.post("/_sim/resolve", self.resolve)]
