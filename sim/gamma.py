"""Gamma (market discovery) routes under ``/gamma``: events, markets and series (§4).

Market objects carry the §4.3 fields, with ``clobTokenIds`` and ``outcomes`` as JSON-encoded
strings, as the real Gamma sends them. ``closed`` defaults to false on listings. Owned by the
simulator's event loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sim.auth import refuse
from sim.exchange import Exchange
from sim.prices import E8
from sim.windows import ASSET_NAMES, MarketState, label, numeric_id, series_slug
from sim.wire import iso_z, pips_str

FEE_SCHEDULE = {"exponent": 1, "rate": 0.07, "takerOnly": True, "rebateRate": 0.2}


def question(m: MarketState) -> str:
    name = ASSET_NAMES.get(m.asset, m.asset.upper())
    return f"{name} Up or Down - {iso_z(m.start_s)} to {iso_z(m.end_s)}"


class Gamma:
    """Builds Gamma objects from the exchange's markets."""

    def __init__(self, exchange: Exchange, seed: int, clock: Callable[[], float]) -> None:
        self.ex = exchange
        self.seed = seed
        self.clock = clock

    def series(self, m: MarketState) -> dict[str, Any]:
        slug = series_slug(m.asset, m.window_s)
        name = ASSET_NAMES.get(m.asset, m.asset.upper())
        return {"id": numeric_id(self.seed, slug), "ticker": slug, "slug": slug,
                "title": f"{name} Up or Down {label(m.window_s)}",
                "recurrence": label(m.window_s), "active": True, "closed": False}

    def market(self, m: MarketState) -> dict[str, Any]:
        bb, ba = m.book.top(0)
        q = question(m)
        return {
            "id": m.market_id, "question": q, "conditionId": m.condition_id, "slug": m.slug,
            "description": q + ". Resolves Up if the Chainlink 60 s TWAP at the end is greater "
                               "than or equal to the one at the start.",
            "resolutionSource": "https://data.chain.link/streams",
            "startDate": iso_z(m.start_s - 86_000), "endDate": iso_z(m.end_s),
            "eventStartTime": iso_z(m.start_s),
            "outcomes": json.dumps(["Up", "Down"]),
            "outcomePrices": json.dumps(["0.5", "0.5"] if m.winner is None else
                                        (["1", "0"] if m.winner == 0 else ["0", "1"])),
            "clobTokenIds": json.dumps(list(m.token_ids)),
            "version": m.version, "negRisk": m.neg_risk,
            "active": not m.closed, "closed": m.closed, "archived": False,
            "acceptingOrders": m.accepting and not m.closed,
            "acceptingOrdersTimestamp": iso_z(m.start_s - 86_000), "enableOrderBook": True,
            "orderPriceMinTickSize": m.tick_pips / 10_000,
            "orderMinSize": m.min_size_micro // 1_000_000,
            "feesEnabled": True, "feeType": "crypto_fees_v2", "feeSchedule": FEE_SCHEDULE,
            "bestBid": float(pips_str(bb)) if bb is not None else 0,
            "bestAsk": float(pips_str(ba)) if ba is not None else 1,
            "lastTradePrice": float(pips_str(m.last_trade_pips)) if m.last_trade_pips else 0,
            "umaResolutionStatus": "resolved" if m.closed else "",
        }

    def event(self, m: MarketState) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if m.price_to_beat_e8 is not None:
            meta["priceToBeat"] = m.price_to_beat_e8 / E8
        if m.final_price_e8 is not None:
            meta["finalPrice"] = m.final_price_e8 / E8
        return {
            "id": m.event_id, "ticker": m.slug, "slug": m.slug, "title": question(m),
            "description": question(m), "startDate": iso_z(m.start_s - 86_000),
            "startTime": iso_z(m.start_s), "endDate": iso_z(m.end_s),
            "active": not m.closed, "closed": m.closed, "archived": False, "negRisk": False,
            "eventMetadata": meta or None, "markets": [self.market(m)],
            "series": [self.series(m)],
        }

    def _select(self, request: web.Request) -> list[MarketState]:
        q = request.query
        slugs = q.getall("slug", [])
        closed = q.get("closed", "false").lower() == "true"
        found = [self.ex.by_slug[s] for s in slugs if s in self.ex.by_slug] if slugs else \
            sorted(self.ex.markets.values(), key=lambda m: (m.start_s, m.asset))
        if q.get("series_slug"):
            found = [m for m in found if series_slug(m.asset, m.window_s) == q["series_slug"]]
        found = [m for m in found if m.closed == closed]
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", 500))
        return found[offset:offset + limit]

    async def events(self, request: web.Request) -> web.Response:
        return web.json_response([self.event(m) for m in self._select(request)])

    async def markets(self, request: web.Request) -> web.Response:
        return web.json_response([self.market(m) for m in self._select(request)])

    async def event_by_slug(self, request: web.Request) -> web.Response:
        m = self.ex.by_slug.get(request.match_info["slug"])
        if m is None:
            raise refuse(404, "event not found")
        return web.json_response(self.event(m))

    async def market_by_slug(self, request: web.Request) -> web.Response:
        m = self.ex.by_slug.get(request.match_info["slug"])
        if m is None:
            raise refuse(404, "market not found")
        return web.json_response(self.market(m))

    async def series_list(self, request: web.Request) -> web.Response:
        wanted = set(request.query.getall("slug", []))
        out: dict[str, dict[str, Any]] = {}
        for m in sorted(self.ex.markets.values(), key=lambda m: m.start_s):
            s = self.series(m)
            if wanted and s["slug"] not in wanted:
                continue
            entry = out.setdefault(s["slug"], {**s, "events": []})
            entry["events"].append({"id": m.event_id, "slug": m.slug, "ticker": m.slug,
                                    "startTime": iso_z(m.start_s), "endDate": iso_z(m.end_s),
                                    "active": not m.closed, "closed": m.closed})
        return web.json_response(list(out.values()))

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/gamma/events", self.events),
                web.get("/gamma/events/slug/{slug}", self.event_by_slug),
                web.get("/gamma/markets", self.markets),
                web.get("/gamma/markets/slug/{slug}", self.market_by_slug),
                web.get("/gamma/series", self.series_list)]
