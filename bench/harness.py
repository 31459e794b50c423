"""Shared pieces of the venue-facing benchmarks (``rest``, ``tick_to_order``).

A simulated venue in its own process (``sim.process.SimProcess``), the market it lists for the
current window (read from its Gamma routes, as discovery would), a trading account on it (a
fresh key, L1-created API credentials, a ``ClobClient``), signed post-only order bodies with
distinct salts, and percentiles. No threads of its own; everything runs on the caller's thread.
"""

from __future__ import annotations

import math
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from messages import Market, MarketsChanged, Side
from messages.errors import PolymmError
from polymm.supervisor import ASK_TIMEOUT_S, Supervisor
from polymm.wiring import Venue
from sim.process import SimProcess
from venue.auth import ApiCreds
from venue.gamma import parse_market
from venue.orders import Order, OrderSigner, exchange_for, limit_order_amounts_int, order_body
from venue.rest import ClobClient


def start_sim(*args: str) -> SimProcess:
    """A simulated venue in another process (its log discarded), started and listening."""
    return SimProcess(list(args), stderr=subprocess.DEVNULL).start()


def get_json(base_url: str, path: str) -> Any:
    with urllib.request.urlopen(base_url + path, timeout=10) as resp:
        return orjson.loads(resp.read())


def roomy_window_s(min_left_s: float, *, base_s: int = 900, now_s: float | None = None) -> int:
    """A window length of at least ``base_s`` whose current window has ``min_left_s`` and a
    minute more to run, for the simulator's ``--window-seconds``.

    Windows are aligned to multiples of their length on the wall clock, so a fixed length puts
    a boundary within a benchmark's first minutes now and then, and waiting it out can cost a
    whole ``min_left_s``. Another length moves the boundary instead: only the benchmarks that
    take their market with ``open_market`` use this, and nothing of theirs reads the label.
    """
    now = time.time() if now_s is None else now_s
    for window_s in range(base_s, base_s + 3600):
        if window_s - int(now) % window_s >= min_left_s + 60:
            return window_s
    raise PolymmError(f"no window length from {base_s} s leaves {min_left_s:.0f} s")


def open_market(base_url: str, *, asset: str = "btc", strategy: str = "bands",
                alias: str = "bench", min_left_s: float = 0.0) -> Market:
    """The ``asset`` market of the window open now, from ``GET /gamma/events``.

    ``min_left_s``: a window closing sooner than that is waited out and the next one taken
    (windows are aligned to the wall clock: a run that starts just before a boundary would
    otherwise see its market close under it).
    """
    for _ in range(2):
        now_ms = time.time_ns() // 1_000_000
        markets = (parse_market(raw, event=ev, alias=alias, asset=asset, strategy=strategy)
                   for ev in get_json(base_url, "/gamma/events")
                   for raw in ev.get("markets") or []
                   if str(raw.get("slug", "")).startswith(f"{asset}-"))
        m = next((m for m in markets
                  if m.start_ms <= now_ms < m.end_ms and m.accepting_orders), None)
        if m is None:
            raise PolymmError(f"the simulated venue lists no open {asset} market")
        left_s = (m.end_ms - now_ms) / 1000
        if left_s >= min_left_s:
            return m
        threading.Event().wait(left_s + 0.5)  # the next window opens
    raise PolymmError(f"no {asset} window with {min_left_s:.0f} s left")


@dataclass
class Account:
    """A trading identity on the venue: signing key, API credentials, REST client."""

    key: str
    signer: OrderSigner
    creds: ApiCreds
    client: ClobClient

    def close(self) -> None:
        self.client.close()


def new_account(base_url: str, seed: int) -> Account:
    """A deterministic throw-away key with API credentials created by L1 auth."""
    key = "0x" + (seed % (1 << 250) + 1).to_bytes(32, "big").hex()
    signer = OrderSigner(key)
    bootstrap = ClobClient(base_url, address=signer.address, creds=None)
    try:
        creds = bootstrap.create_api_key(key)
    finally:
        bootstrap.close()
    return Account(key=key, signer=signer, creds=creds,
                   client=ClobClient(base_url, address=signer.address, creds=creds))


def order_bodies(acct: Account, market: Market, n: int, *, price_pips: int, size_micro: int,
                 token: int = 0, side: Side = Side.BUY) -> list[tuple[str, bytes]]:
    """``n`` signed post-only GTC orders as ``(order hash, POST /order body)``; each has a
    fresh random salt, so the venue never sees a duplicate."""
    exchange, domain = exchange_for(market.version, market.neg_risk)
    maker_amt, taker_amt = limit_order_amounts_int(side, price_pips, size_micro,
                                                   market.tick_pips,
                                                   min_size_micro=market.min_size_micro)
    addr = acct.signer.address
    out = []
    for _ in range(n):
        order = Order.create(maker=addr, signer=addr, token_id=market.token_ids[token],
                             maker_amount=maker_amt, taker_amount=taker_amt,
                             side=0 if side is Side.BUY else 1,
                             timestamp_ms=time.time_ns() // 1_000_000)
        h, sig = acct.signer.sign_with_hash(order, exchange=exchange, domain_version=domain)
        out.append((h, order_body(order, sig, owner=acct.creds.api_key, post_only=True)))
    return out


def top_of_book(base_url: str, token_id: str) -> tuple[int | None, int | None]:
    """(best bid, best ask) in pips from ``GET /book``."""
    book = get_json(base_url, f"/book?token_id={token_id}")

    def best(levels: Sequence[dict[str, str]], hi: bool) -> int | None:
        prices = [round(float(lv["price"]) * 10_000) for lv in levels]
        return (max(prices) if hi else min(prices)) if prices else None

    return best(book.get("bids") or [], True), best(book.get("asks") or [], False)


def pct(samples: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) by the nearest-rank rule; NaN for no samples."""
    if not samples:
        return math.nan
    s = sorted(samples)
    return float(s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))])


# -- the bot on real sockets (tick_to_order) ---------------------------------------------------


class BenchSupervisor(Supervisor):
    """The supervisor's start-up and shutdown, with the market and user feeds (and with
    ``price_feed``, the reference-price feed) but without discovery: the benchmark tells the
    market set itself (:meth:`tell_markets`), so the quoted market and its strategy are fixed.
    Main thread only, like the supervisor."""

    def __init__(self, config: Any, venue: Venue | None = None, *, metrics: Any = None,
                 price_feed: bool = False) -> None:
        super().__init__(config, venue, metrics=metrics)
        self._io = ("user_feed", "market_feed") + (("price_feed",) if price_feed else ())

    def _start_io(self, name: str) -> None:
        if name in self._io:  # built as the supervisor builds them
            super()._start_io(name)

    def tell_markets(self, market: Market) -> None:
        """What discovery would emit for this one market, to the same actors."""
        msg = MarketsChanged(markets=(market,), added=(market.condition_id,), removed=(),
                             ts_recv_ns=time.time_ns())
        for name in ("state", "order_manager", "user_feed", "market_feed", "price_feed"):
            ref = self.actors.refs.get(name)
            if ref is not None:
                ref.tell(msg)

    def om_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.actors.refs["order_manager"].proxy().stats().get(
            timeout=ASK_TIMEOUT_S)
        return stats

    def feed_messages(self) -> int:
        """Market-feed messages decoded so far."""
        stats = self.actors.refs["market_feed"].proxy().stats().get(timeout=ASK_TIMEOUT_S)
        return int(stats.get("messages", 0))


def clear_book(base_url: str, market: Market) -> None:
    """Take every resting order of the market's book (admin taker), both sides."""
    for side, price in (("BUY", "0.99"), ("SELL", "0.01")):
        req = urllib.request.Request(
            base_url + "/_sim/take", method="POST",
            data=orjson.dumps({"token_id": market.token_ids[0], "side": side, "price": price,
                               "size": "1000000"}),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()


def wait_until(pred: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``pred`` every 20 ms (an ``Event.wait``) until true; raise after the timeout."""
    idle = threading.Event()
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise PolymmError(f"benchmark: {what} within {timeout_s:g} s")
        idle.wait(0.02)
