"""Shared pieces of the venue-facing benchmarks (``rest``, ``tick_to_order``).

A simulated venue in its own process (``sim.process.SimProcess``), the market it lists for the
current window (read from its Gamma routes, as discovery would), a trading account on it (a
fresh key, L1-created API credentials, a ``ClobClient``), signed post-only order bodies with
distinct salts, and percentiles. No threads of its own; everything runs on the caller's thread.
"""

from __future__ import annotations

import math
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from messages import Market, Side
from polymm.errors import PolymmError
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


def open_market(base_url: str, *, asset: str = "btc", strategy: str = "bands",
                alias: str = "bench") -> Market:
    """The ``asset`` market of the window open now, from ``GET /gamma/events``."""
    now_ms = time.time_ns() // 1_000_000
    for ev in get_json(base_url, "/gamma/events"):
        for raw in ev.get("markets") or []:
            if not str(raw.get("slug", "")).startswith(f"{asset}-"):
                continue
            m = parse_market(raw, event=ev, alias=alias, asset=asset, strategy=strategy)
            if m.start_ms <= now_ms < m.end_ms and m.accepting_orders:
                return m
    raise PolymmError(f"the simulated venue lists no open {asset} market")


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
