"""A fake CLOB REST client for the OrderManager tests.

``FakeClob`` keeps the orders it accepted (ids are the real EIP-712 hashes, recomputed from the
body with ``sim.verify.order_digest``), answers cancels, reads and heartbeats, and lets a test
script faults: ``post_errors`` (exceptions raised by the next ``post_orders`` calls, with
``place_on_error`` saying whether the orders were placed anyway, as after a timeout),
``reject`` (a per-order error message or None), ``cancel_errors``. Every call is recorded in
``calls``. Thread-safe enough for one actor thread plus the test thread reading.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from messages.errors import OutcomeUnknown, VenueError
from sim.verify import order_digest

NOT_CANCELED = "order can't be found - already canceled or matched"


class InvalidHeartbeat(VenueError):
    """Like ``venue.rest_errors.InvalidHeartbeat``: carries the expected id."""

    def __init__(self, expected_id: str) -> None:
        super().__init__("Invalid Heartbeat ID", status=400)
        self.expected_id = expected_id


def _decimal(micro: int, scale: int) -> str:
    whole, frac = divmod(micro, scale)
    return f"{whole}.{frac:0{len(str(scale)) - 1}d}".rstrip("0").rstrip(".")


class FakeClob:
    def __init__(self, *, versions: dict[str, tuple[str, bool]] | None = None) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, Any]] = []
        self.open: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.versions = versions or {}
        self.post_errors: list[BaseException] = []
        self.place_on_error = False
        self.reject: Callable[[dict[str, Any]], str | None] = lambda env: None
        self.cancel_errors: list[BaseException] = []
        self.tick_sizes: dict[str, int] = {}
        self.hb_expected = ""
        self.hb_counter = 0
        self.last_send_ns = 0
        self.posted_bodies: list[list[dict[str, Any]]] = []

    # -- helpers for tests -----------------------------------------------------------------

    def count(self, name: str) -> int:
        with self._lock:
            return sum(1 for c in self.calls if c[0] == name)

    def add_open(self, order_id: str, *, token: str = "1001", market: str = "0x" + "ab" * 32,
                 price: str = "0.5", size: str = "10", side: str = "BUY") -> None:
        """An order resting at the venue that the bot did not send (or sent long ago)."""
        doc = {"id": order_id, "status": "LIVE", "market": market, "asset_id": token,
               "side": side, "price": price, "original_size": size, "size_matched": "0",
               "owner": "key", "order_type": "GTC"}
        with self._lock:
            self.open[order_id] = doc
            self.orders[order_id] = doc

    def _place(self, env: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        order = env["order"]
        version, neg = self.versions.get(str(order["tokenId"]), ("v1", False))
        oid, _ = order_digest(order, version=version, neg_risk=neg)
        maker, taker = int(order["makerAmount"]), int(order["takerAmount"])
        usd, shares = (maker, taker) if order["side"] == "BUY" else (taker, maker)
        doc = {"id": oid, "status": "LIVE", "market": "", "asset_id": str(order["tokenId"]),
               "side": order["side"], "price": _decimal(usd * 10_000 // shares, 10_000),
               "original_size": _decimal(shares, 1_000_000), "size_matched": "0",
               "owner": env["owner"], "order_type": env["orderType"]}
        return oid, doc

    # -- the ClobClient interface ----------------------------------------------------------

    def post_orders(self, body: bytes) -> list[dict[str, Any]]:
        envs = orjson.loads(body)
        with self._lock:
            self.calls.append(("post_orders", len(envs)))
            self.posted_bodies.append(envs)
            self.last_send_ns = time.time_ns()
            err = self.post_errors.pop(0) if self.post_errors else None
            results = []
            for env in envs:
                oid, doc = self._place(env)
                msg = self.reject(env) if err is None else None
                if oid in self.orders:
                    msg = f"order {oid} is invalid. Duplicated."
                if err is not None and not self.place_on_error:
                    continue
                if msg:
                    results.append({"success": False, "errorMsg": msg, "orderID": "",
                                    "status": ""})
                    continue
                self.orders[oid] = doc
                self.open[oid] = doc
                results.append({"success": True, "errorMsg": "", "orderID": oid,
                                "status": "live"})
        if err is not None:
            raise err
        return results

    def cancel_orders(self, ids: list[str]) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("cancel_orders", list(ids)))
            if self.cancel_errors:
                raise self.cancel_errors.pop(0)
            return self._cancel(ids)

    def begin_cancel_orders(self, ids: list[str]) -> tuple[dict[str, Any] | None,
                                                            BaseException | None]:
        """The venue acts on the cancel now; ``finish_cancel_orders`` hands over the reply."""
        try:
            return self.cancel_orders(ids), None
        except VenueError as exc:
            if not isinstance(exc, OutcomeUnknown) and exc.status == 0:
                raise  # not sent: fails at once, as ClobClient.begin_cancel_orders does
            return None, exc

    def finish_cancel_orders(self, call: tuple[dict[str, Any] | None,
                                               BaseException | None]) -> dict[str, Any]:
        reply, err = call
        with self._lock:
            self.calls.append(("finish_cancel_orders", None))
        if err is not None:
            raise err
        assert reply is not None
        return reply

    def _cancel(self, ids: list[str]) -> dict[str, Any]:
        canceled, not_canceled = [], {}
        for oid in ids:
            doc = self.open.pop(oid, None)
            if doc is None:
                not_canceled[oid] = NOT_CANCELED
            else:
                doc["status"] = "CANCELED"
                canceled.append(oid)
        return {"canceled": canceled, "not_canceled": not_canceled}

    def cancel_all(self) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("cancel_all", None))
            return self._cancel(list(self.open))

    def trades(self, market: str | None = None, after: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            self.calls.append(("trades", market))
            return []

    def open_orders(self, market: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            self.calls.append(("open_orders", market))
            return [dict(d) for d in self.open.values()]

    def get_order(self, order_id: str) -> dict[str, Any] | None:
        with self._lock:
            self.calls.append(("get_order", order_id))
            doc = self.orders.get(order_id)
            return dict(doc) if doc else None

    def get_tick_size(self, token_id: str) -> int:
        with self._lock:
            self.calls.append(("get_tick_size", token_id))
            return self.tick_sizes.get(token_id, 100)

    def heartbeat(self, heartbeat_id: str) -> str:
        with self._lock:
            self.calls.append(("heartbeat", heartbeat_id))
            if heartbeat_id != self.hb_expected:
                raise InvalidHeartbeat(self.hb_expected)
            self.hb_counter += 1
            self.hb_expected = f"hb-{self.hb_counter}"
            return self.hb_expected
