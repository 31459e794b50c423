"""CLOB REST routes of the simulated venue (§5.3): orders, cancels, reads, heartbeats.

Every private route checks L2 auth over the exact body bytes. Orders are checked by
recomputing the EIP-712 hash from the JSON fields and recovering the signer; a deposit
wallet's order (signature type 3) by unwrapping its ERC-7739 signature and recovering the
wallet's owner, who must hold the API key (``sim.verify.recover_1271``). Owned by the
simulator's event loop; ``clock`` gives Unix seconds.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from sim.auth import Keys, refuse
from sim.exchange import Exchange, OrderError
from sim.stats import Stats
from sim.trades import order_json, trade_json
from sim.verify import ApiCreds, order_digest, recover_1271, recover_address
from sim.wire import micro_str, pips_str

logger = logging.getLogger(__name__)

MAX_BATCH = 15
PAGE = 500
START, END = "MA==", "LTE="


@dataclass(slots=True)
class Heartbeat:
    expected: str = ""
    last_ok_s: float = 0.0
    active: bool = False


def _cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def _page(rows: list[dict[str, Any]], cursor: str) -> dict[str, Any]:
    try:
        offset = 0 if cursor in ("", START) else int(base64.b64decode(cursor).decode())
    except ValueError as exc:
        raise refuse(400, "invalid next_cursor") from exc
    if offset < 0:
        return {"data": [], "next_cursor": END, "limit": PAGE, "count": 0}
    chunk = rows[offset:offset + PAGE]
    nxt = _cursor(offset + PAGE) if offset + PAGE < len(rows) else END
    return {"data": chunk, "next_cursor": nxt, "limit": PAGE, "count": len(chunk)}


class Clob:
    """The CLOB REST surface over one ``Exchange``."""

    def __init__(self, exchange: Exchange, keys: Keys, stats: Stats, clock: Callable[[], float],
                 heartbeat_timeout_s: float) -> None:
        self.ex = exchange
        self.keys = keys
        self.stats = stats
        self.clock = clock
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.heartbeats: dict[str, Heartbeat] = {}
        self.time_skew_s = 0.0
        """Added to the time ``GET /time`` answers (``POST /_sim/clock``): a venue clock that
        is off the machine's, for the bot's clock check."""

    async def _auth(self, request: web.Request) -> tuple[ApiCreds, str]:
        body = await request.text()
        return self.keys.l2(request, body), body

    @staticmethod
    def _json_body(body: str) -> Any:
        try:
            return orjson.loads(body) if body else None
        except orjson.JSONDecodeError as exc:
            raise refuse(400, "Invalid order payload") from exc

    # -- orders ------------------------------------------------------------------------------

    def _place(self, creds: ApiCreds, env: Any) -> dict[str, object]:
        """One envelope → §5.4 success body; raises OrderError with the venue's message."""
        self.stats.orders_received += 1
        try:
            if not isinstance(env, dict) or not isinstance(env.get("order"), dict):
                raise OrderError("Invalid order payload", "invalid")
            order = env["order"]
            if str(env.get("owner", "")) != creds.api_key:
                raise OrderError("the order owner has to be the owner of the API KEY", "owner")
            wallet = self._check_signer(creds, order)
            m = self.ex.by_token.get(str(order.get("tokenId", "")))
            version, neg_risk = (m.version, m.neg_risk) if m else ("v1", False)
            try:
                order_id, digest = order_digest(order, version=version, neg_risk=neg_risk)
                signed_by = recover_1271(order, version=version, neg_risk=neg_risk) if wallet \
                    else recover_address(digest, str(order.get("signature", "")))
            except (KeyError, ValueError, TypeError) as exc:
                raise OrderError("Invalid order payload", "invalid") from exc
            if signed_by != creds.address:
                self.stats.signature_failures += 1
                raise OrderError("Invalid order payload", "signature")
            return self.ex.check_and_place(
                api_key=creds.api_key, address=creds.address, order=order, order_id=order_id,
                post_only=bool(env.get("postOnly", False)),
                order_type=str(env.get("orderType", "GTC")), now=self.clock())
        except OrderError as exc:
            self.stats.reject(exc.reason)
            raise

    def _check_signer(self, creds: ApiCreds, order: dict[str, Any]) -> bool:
        """Whether ``order`` is a deposit wallet's (signature type 3: maker = signer = a
        wallet whose owner is the API key's address, protocol §6.2); otherwise its signer must
        be the API key's address. Raises ``OrderError`` with the venue's message."""
        signer = str(order.get("signer", "")).lower()
        ledger = self.ex.ledger
        if order.get("signatureType") != 3 or ledger is None:
            if signer != creds.address:
                raise OrderError("the order signer address has to be the address of the API "
                                 "KEY", "signer")
            return False
        if ledger.wallet_owner(signer) != creds.address:
            raise OrderError("the order signer address has to be the address of the API KEY",
                             "signer")
        if str(order.get("maker", "")).lower() != signer:
            raise OrderError("Invalid order payload", "maker")  # UNVERIFIED wording
        return True

    async def _hang(self, request: web.Request) -> None:
        # Fault: the order was accepted, the reply outlives the client's timeout.
        hang = request.get("hang_s")
        if hang:
            await asyncio.sleep(hang)

    async def post_order(self, request: web.Request) -> web.Response:
        creds, body = await self._auth(request)
        env = self._json_body(body)
        try:
            result = self._place(creds, env)
        except OrderError as exc:
            await self._hang(request)
            raise refuse(400, exc.message) from None
        await self._hang(request)
        return web.json_response(result)

    async def post_orders(self, request: web.Request) -> web.Response:
        creds, body = await self._auth(request)
        envs = self._json_body(body)
        if not isinstance(envs, list) or not envs:
            raise refuse(400, "Invalid order payload")
        if len(envs) > MAX_BATCH:
            self.stats.reject("batch_size")
            raise refuse(400, f"Too many orders in payload: {len(envs)}, max allowed: "
                              f"{MAX_BATCH}")
        results: list[dict[str, object]] = []
        for env in envs:
            try:
                results.append(self._place(creds, env))
            except OrderError as exc:
                results.append({"success": False, "errorMsg": exc.message, "orderID": "",
                                "status": "", "makingAmount": "", "takingAmount": "",
                                "transactionsHashes": [], "tradeIDs": []})
        await self._hang(request)
        return web.json_response(results)

    async def delete_order(self, request: web.Request) -> web.Response:
        creds, body = await self._auth(request)
        req = self._json_body(body)
        oid = req.get("orderID") if isinstance(req, dict) else None
        if not isinstance(oid, str):
            raise refuse(400, "Invalid order payload")
        return web.json_response(self.ex.cancel(creds.api_key, [oid], self.clock()))

    async def delete_orders(self, request: web.Request) -> web.Response:
        creds, body = await self._auth(request)
        ids = self._json_body(body)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise refuse(400, "Invalid order payload")
        if len(ids) > 3000:
            raise refuse(400, f"Too many orders in payload: {len(ids)}, max allowed: 3000")
        return web.json_response(self.ex.cancel(creds.api_key, ids, self.clock()))

    async def cancel_all(self, request: web.Request) -> web.Response:
        creds, _ = await self._auth(request)
        return web.json_response(self.ex.cancel_where(creds.api_key, self.clock()))

    async def cancel_market(self, request: web.Request) -> web.Response:
        creds, body = await self._auth(request)
        req = self._json_body(body)
        if not isinstance(req, dict) or not (req.get("market") or req.get("asset_id")):
            raise refuse(400, "Invalid order payload")
        return web.json_response(self.ex.cancel_where(
            creds.api_key, self.clock(), market=str(req.get("market") or ""),
            asset_id=str(req.get("asset_id") or "")))

    # -- reads -------------------------------------------------------------------------------

    async def data_orders(self, request: web.Request) -> web.Response:
        creds, _ = await self._auth(request)
        q = request.query
        rows = [order_json(o) for o in self.ex.open_by_key.get(creds.api_key, {}).values()
                if (not q.get("id") or o.id == q["id"])
                and (not q.get("market") or o.condition_id == q["market"])
                and (not q.get("asset_id") or o.token_id == q["asset_id"])]
        return web.json_response(_page(rows, q.get("next_cursor", START)))

    async def data_order(self, request: web.Request) -> web.Response:
        creds, _ = await self._auth(request)
        o = self.ex.orders.get(request.match_info["order_id"])
        if o is None or o.owner != creds.api_key:
            raise refuse(404, "order not found")
        return web.json_response(order_json(o))

    async def data_trades(self, request: web.Request) -> web.Response:
        creds, _ = await self._auth(request)
        q = request.query
        rows = [trade_json(t, creds.api_key)
                for t in self.ex.trades_by_key.get(creds.api_key, [])
                if (not q.get("id") or t.id == q["id"])
                and (not q.get("market") or t.condition_id == q["market"])
                and (not q.get("asset_id") or t.token_id == q["asset_id"]
                     or any(m.token_id == q["asset_id"] for m in t.makers))
                and (not q.get("after") or t.match_s > int(q["after"]))
                and (not q.get("before") or t.match_s < int(q["before"]))]
        return web.json_response(_page(rows, q.get("next_cursor", START)))

    def _book(self, token: str) -> dict[str, Any]:
        m = self.ex.by_token.get(token)
        if m is None:
            raise refuse(404, "No orderbook exists for the requested token id")
        bids, asks = m.book.levels(m.token_index(token))
        # As the venue's REST book: best price last on both sides.
        return {"market": m.condition_id, "asset_id": token,
                "timestamp": str(int(self.clock() * 1000)), "hash": "",
                "bids": [{"price": pips_str(p), "size": micro_str(s)} for p, s in bids[::-1]],
                "asks": [{"price": pips_str(p), "size": micro_str(s)} for p, s in asks[::-1]],
                "min_order_size": micro_str(m.min_size_micro), "tick_size": pips_str(m.tick_pips),
                "neg_risk": m.neg_risk, "last_trade_price":
                pips_str(m.last_trade_pips) if m.last_trade_pips is not None else ""}

    async def book(self, request: web.Request) -> web.Response:
        return web.json_response(self._book(request.query.get("token_id", "")))

    async def books(self, request: web.Request) -> web.Response:
        req = self._json_body(await request.text())
        if not isinstance(req, list):
            raise refuse(400, "Invalid payload")
        return web.json_response([self._book(str(r.get("token_id", ""))) for r in req
                                  if isinstance(r, dict)])

    async def tick_size(self, request: web.Request) -> web.Response:
        m = self.ex.by_token.get(request.query.get("token_id", ""))
        if m is None:
            raise refuse(404, "No orderbook exists for the requested token id")
        return web.json_response({"minimum_tick_size": m.tick_pips / 10_000})

    async def neg_risk(self, request: web.Request) -> web.Response:
        m = self.ex.by_token.get(request.query.get("token_id", ""))
        if m is None:
            raise refuse(404, "No orderbook exists for the requested token id")
        return web.json_response({"neg_risk": m.neg_risk})

    async def time(self, request: web.Request) -> web.Response:
        return web.Response(text=str(int(self.clock() + self.time_skew_s)),
                            content_type="application/json")

    async def ok(self, request: web.Request) -> web.Response:
        return web.json_response("OK")

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": 2})

    # -- heartbeats --------------------------------------------------------------------------

    async def heartbeat(self, request: web.Request) -> web.Response:
        creds, body = await self._auth(request)
        req = self._json_body(body)
        hid = req.get("heartbeat_id") if isinstance(req, dict) else None
        hb = self.heartbeats.setdefault(creds.api_key, Heartbeat())
        if hid != "" and hid != hb.expected:
            self.stats.reject("heartbeat_id")
            return web.json_response({"error_msg": "Invalid Heartbeat ID",
                                      "heartbeat_id": hb.expected}, status=400)
        hb.expected = str(uuid.uuid4())
        hb.last_ok_s = self.clock()
        hb.active = True
        self.stats.heartbeats += 1
        return web.json_response({"heartbeat_id": hb.expected})

    def expire_heartbeats(self) -> None:
        """Dead-man switch: cancel everything of a key whose heartbeats stopped."""
        now = self.clock()
        for key, hb in self.heartbeats.items():
            if hb.active and now - hb.last_ok_s > self.heartbeat_timeout_s:
                hb.active = False
                self.stats.heartbeat_expiries += 1
                result = self.ex.cancel_where(key, now)
                logger.info("heartbeat lapsed for %s: canceled %d orders", key,
                            len(result["canceled"]))  # type: ignore[arg-type]

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/order", self.post_order), web.post("/orders", self.post_orders),
            web.delete("/order", self.delete_order), web.delete("/orders", self.delete_orders),
            web.delete("/cancel-all", self.cancel_all),
            web.delete("/cancel-market-orders", self.cancel_market),
            web.get("/data/orders", self.data_orders),
            web.get("/data/order/{order_id}", self.data_order),
            web.get("/data/trades", self.data_trades),
            web.get("/book", self.book), web.post("/books", self.books),
            web.get("/tick-size", self.tick_size), web.get("/neg-risk", self.neg_risk),
            web.get("/time", self.time), web.get("/ok", self.ok),
            web.get("/version", self.version),
            web.post("/v1/heartbeats", self.heartbeat),
        ]
