"""Noise traders: seeded random posts, cancels and takes around a fair value.

The fair value of a window is P(Up) = Φ(ln(S/K) / (σ√τ)) from the exchange reference price S,
the strike K (TWAP at the open) and the time left τ; before the open it is 0.5. Takers hit the
book (bot orders included) through ``Exchange.take``, so fills reach the user channel. Noise
orders exist only in the book (owner ""). Owned by the simulator's event loop.
"""

from __future__ import annotations

import math
import random

from sim.book import BUY, SELL, Resting
from sim.exchange import Exchange
from sim.prices import E8, RefPrices
from sim.windows import MarketState
from sim.wire import PIPS

MAX_NOISE_ORDERS = 60


def fair_up(m: MarketState, prices: RefPrices, vol: float, now: float) -> float:
    if m.price_to_beat_e8 is None or not m.is_open(now):
        return 0.5
    spot = prices.spot(m.asset)
    tau = max(m.end_s - now, 1.0)
    z = math.log(spot * E8 / m.price_to_beat_e8) / (vol * math.sqrt(tau))
    return min(0.995, max(0.005, 0.5 * (1 + math.erf(z / math.sqrt(2)))))


class NoiseTraders:
    """Random liquidity. ``rate`` is actions per second across all markets."""

    def __init__(self, exchange: Exchange, prices: RefPrices, rng: random.Random, vol: float
                 ) -> None:
        self.ex = exchange
        self.prices = prices
        self.rng = rng
        self.vol = vol
        self._n = 0

    def _id(self) -> str:
        self._n += 1
        return "0x" + self.rng.randbytes(32).hex()

    def _grid(self, m: MarketState, fair: float) -> tuple[int, int]:
        """(highest bid price, lowest ask price) strictly around fair, on the tick grid."""
        tick = m.tick_pips
        f = int(fair * PIPS)
        bid = f // tick * tick
        if bid == f:
            bid -= tick
        bid = max(tick, min(PIPS - 2 * tick, bid))
        ask = bid + tick if bid + tick > f else bid + 2 * tick
        return bid, min(ask, PIPS - tick)

    def post(self, m: MarketState, now: float, fair: float) -> None:
        tick = m.tick_pips
        bid, ask = self._grid(m, fair)
        k = self.rng.randint(0, 5) * tick
        side = self.rng.choice((BUY, SELL))
        price = bid - k if side == BUY else ask + k
        if not tick <= price <= PIPS - tick or m.book.crosses(side, price):
            return
        size = self.rng.randint(5, 60) * 1_000_000
        change = m.book.add(Resting(order_id=self._id(), owner="", token_index=self.rng.randint(
            0, 1), up_side=side, up_price=price, remaining=size))
        self.ex.pub.price_change(m, [change], int(now * 1000))

    def cancel(self, m: MarketState, now: float, fair: float, *, oldest: bool = False) -> None:
        noise = [r for r in m.book.orders.values() if not r.owner]
        if not noise:
            return
        f = int(fair * PIPS)
        stale = [r for r in noise if (r.up_side == BUY and r.up_price >= f + m.tick_pips)
                 or (r.up_side == SELL and r.up_price <= f - m.tick_pips)]
        victims = stale[:3] or [noise[0] if oldest else self.rng.choice(noise)]
        changes = []
        for r in victims:
            removed = m.book.remove(r.order_id)
            if removed is not None:
                changes.append(removed[1])
        self.ex.pub.price_change(m, changes, int(now * 1000))

    def take(self, m: MarketState, now: float, fair: float) -> None:
        tick = m.tick_pips
        bid, ask = self._grid(m, fair)
        side = self.rng.choice((BUY, SELL))
        limit = ask + tick if side == BUY else bid - tick
        limit = max(tick, min(PIPS - tick, limit))
        size = self.rng.randint(5, 30) * 1_000_000
        idx = self.rng.randint(0, 1)
        tok_side, tok_price = (side, limit) if idx == 0 else (
            SELL if side == BUY else BUY, PIPS - limit)
        self.ex.take(m, idx, tok_side, tok_price, size, now)

    def seed(self, m: MarketState, now: float) -> None:
        """Initial depth for a freshly listed market."""
        for _ in range(12):
            self.post(m, now, 0.5)

    def act(self, now: float) -> None:
        """One random action on one accepting market (the open window twice as likely)."""
        live = [m for m in self.ex.markets.values() if m.accepting and not m.closed]
        if not live:
            return
        weights = [3.0 if m.is_open(now) else 1.0 for m in live]
        m = self.rng.choices(live, weights)[0]
        fair = fair_up(m, self.prices, self.vol, now)
        noise_count = sum(1 for r in m.book.orders.values() if not r.owner)
        if noise_count > MAX_NOISE_ORDERS:
            self.cancel(m, now, fair, oldest=True)
            return
        roll = self.rng.random()
        if roll < 0.55:
            self.post(m, now, fair)
        elif roll < 0.8:
            self.cancel(m, now, fair)
        else:
            self.take(m, now, fair)
