"""Fakes shared by the actor tests: sinks, metrics, clock, event log, Gamma, CLOB client, configs.

Config builders take overrides over a dict of defaults (``make_feed_config(ping_interval_s=1)``);
message builders live in ``tests.builders``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from actors.discovery import DiscoveryConfig, SeriesConfig
from actors.event_log import EventLogConfig
from actors.price_feed import PriceFeedConfig
from messages.errors import InvalidHeartbeat, NotSent, VenueError
from sim.verify import order_digest


class Collector:
    """A thread-safe sink: ``collector(msg)`` appends; tests wait on ``wait_for``."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, msg: Any) -> None:
        with self._cond:
            self.items.append(msg)
            self._cond.notify_all()

    def of(self, cls: type, **attrs: Any) -> list[Any]:
        """Items of type ``cls`` whose attributes equal ``attrs``."""
        with self._cond:
            return [m for m in self.items if isinstance(m, cls)
                    and all(getattr(m, k) == v for k, v in attrs.items())]

    def wait_for(self, pred: Callable[[], Any], timeout: float = 10.0) -> Any:
        with self._cond:
            ok = self._cond.wait_for(pred, timeout)
        if not ok:
            raise TimeoutError(f"collector: condition not met; have {self.items!r}"[:2000])
        return ok

    def wait_of(self, cls: type, count: int = 1, timeout: float = 10.0,
                **attrs: Any) -> list[Any]:
        """Wait until ``count`` items match ``of(cls, **attrs)``; returns them."""
        self.wait_for(lambda: len(self._of_locked(cls, attrs)) >= count, timeout)
        return self.of(cls, **attrs)

    def _of_locked(self, cls: type, attrs: dict[str, Any]) -> list[Any]:
        return [m for m in self.items if isinstance(m, cls)
                and all(getattr(m, k) == v for k, v in attrs.items())]


class Clock:
    """An injected clock (``clock()`` returns ``t``), moved by the test, e.g. past a back-off."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeLog:
    """Records the event log's ``append(kind, obj)`` calls; ``ops(op)`` filters order records."""

    def __init__(self) -> None:
        self.records: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def append(self, kind: str, obj: Any) -> None:
        with self._lock:
            self.records.append((kind, obj))

    def ops(self, op: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for k, r in self.records if k == "order" and r.get("op") == op]


class FakeMetrics:
    """Records ``incr``/``gauge``/``timing_ms`` calls (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str], int] = {}
        self.gauges: dict[tuple[str, str], float] = {}
        self.timings: list[tuple[str, float, str]] = []

    def incr(self, name: str, n: int = 1, dim: str = "") -> None:
        with self._lock:
            self.counts[(name, dim)] = self.counts.get((name, dim), 0) + n

    def gauge(self, name: str, value: float, dim: str = "") -> None:
        with self._lock:
            self.gauges[(name, dim)] = value

    def timing_ms(self, name: str, ms: float, dim: str = "") -> None:
        with self._lock:
            self.timings.append((name, ms, dim))

    def count(self, name: str, dim: str = "") -> int:
        with self._lock:
            return self.counts.get((name, dim), 0)


@dataclass(frozen=True)
class FakeCreds:
    api_key: str = "11111111-2222-3333-4444-555555555555"
    secret: str = field(default="c2VjcmV0LXNob3VsZC1uZXZlci1sZWFr", repr=False)
    passphrase: str = field(default="pass-phrase-never-logged", repr=False)


def make_feed_config(**over: Any) -> PriceFeedConfig:
    """The real ``price_feed`` section (a ``FeedConfig``, so every feed takes it), with test
    defaults: no liveness check, fast reconnects, 1 MiB frames, a 10 s ping."""
    return PriceFeedConfig(**{"ping_interval_s": 10.0, "liveness_timeout_s": 0.0,
                              "reconnect_min_s": 0.01, "reconnect_max_s": 0.05,
                              "max_frame_bytes": 1 << 20, **over})


def make_discovery_config(**over: Any) -> DiscoveryConfig:
    """The real ``discovery`` section, with test defaults: one btc 15m series, a fast poll
    every 2 s within 20 s of a window boundary."""
    return DiscoveryConfig(**{"series": (SeriesConfig(asset="btc", interval="15m"),),
                              "fast_poll_interval_s": 2.0, "fast_window_s": 20.0, **over})


def make_event_log_config(**over: Any) -> EventLogConfig:
    """The real section, with test defaults (small batches, a short flush interval)."""
    return EventLogConfig(**{"dir": "", "batch_size": 256, "flush_interval_ms": 50,
                             "rotate_bytes": 64 * 1024 * 1024, **over})


class FakeGamma:
    """``events_by_slug`` answers from ``events`` (slug → event dict); records each call.

    ``fail`` makes the next calls raise (an HTTP error stand-in).
    """

    def __init__(self, events: dict[str, dict[str, Any]] | None = None) -> None:
        self.events: dict[str, dict[str, Any]] = dict(events or {})
        self.calls: list[tuple[str, ...]] = []
        self.fail: Exception | None = None
        self._cond = threading.Condition()

    def events_by_slug(self, slugs: Sequence[str]) -> list[dict[str, Any]]:
        with self._cond:
            self.calls.append(tuple(slugs))
            self._cond.notify_all()
            if self.fail is not None:
                raise self.fail
            return [self.events[s] for s in slugs if s in self.events]

    def wait_calls(self, n: int, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= n, timeout):
                raise TimeoutError("gamma: not called in time")


def gamma_event(slug: str, start_s: int, interval_s: int, *, cid_byte: int = 0xab,
                tokens: tuple[str, str] = ("1001", "1002"), tick: str = "0.01",
                accepting: bool = True) -> dict[str, Any]:
    """A Gamma event with one up/down market, shaped as in protocol §4.3."""
    import datetime as dt

    def iso(s: int) -> str:
        return dt.datetime.fromtimestamp(s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    market = {
        "conditionId": "0x" + f"{cid_byte:02x}" * 32, "slug": slug,
        "question": f"Up or Down {slug}", "clobTokenIds": f'["{tokens[0]}", "{tokens[1]}"]',
        "outcomes": '["Up", "Down"]', "orderPriceMinTickSize": float(tick),
        "orderMinSize": 5, "negRisk": False, "acceptingOrders": accepting,
        "enableOrderBook": True, "active": True, "closed": False,
        "eventStartTime": iso(start_s), "endDate": iso(start_s + interval_s),
        "startDate": iso(start_s - 86400), "version": "v1",
    }
    return {"slug": slug, "title": slug, "startTime": iso(start_s),
            "endDate": iso(start_s + interval_s), "markets": [market]}


NOT_CANCELED = "order can't be found - already canceled or matched"


def _decimal(micro: int, scale: int) -> str:
    whole, frac = divmod(micro, scale)
    return f"{whole}.{frac:0{len(str(scale)) - 1}d}".rstrip("0").rstrip(".")


class FakeClobClient:
    """Stands in for ``venue.rest.ClobClient`` in the OrderManager tests.

    It keeps the orders it accepted (ids are the real EIP-712 hashes, recomputed from the body
    with ``sim.verify.order_digest``), answers cancels, reads and heartbeats, and lets a test
    script faults: ``post_errors`` (exceptions raised by the next ``post_orders`` calls, with
    ``place_on_error`` saying whether the orders were placed anyway, as after a timeout),
    ``reject`` (a per-order error message or None), ``cancel_errors``. Every call is recorded
    in ``calls``. Thread-safe enough for one actor thread plus the test thread reading.
    """

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
            if isinstance(exc, NotSent):
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
                raise InvalidHeartbeat("Invalid Heartbeat ID", expected_id=self.hb_expected)
            self.hb_counter += 1
            self.hb_expected = f"hb-{self.hb_counter}"
            return self.hb_expected
