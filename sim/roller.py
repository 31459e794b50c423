"""The rolling-window calendar: list upcoming windows, set the strike at the open, resolve at
the close, forget old ones, and move the tick near the 0/1 extremes.

A window resolves Up iff the TWAP at its close is >= the TWAP at its open. Owned by the
simulator's event loop; ``now`` is Unix seconds from the caller.
"""

from __future__ import annotations

import logging

from sim.exchange import Exchange
from sim.gamma import question
from sim.noise import NoiseTraders
from sim.prices import RefPrices
from sim.windows import MarketState, make_market, window_start

logger = logging.getLogger(__name__)

KEEP_CLOSED = 4
FINE_TICK, NORMAL_TICK = 10, 100
NEAR_LOW, NEAR_HIGH = 400, 9600  # < 0.04 or > 0.96 → tick 0.001
BACK_LOW, BACK_HIGH = 500, 9500  # back to 0.01 once inside [0.05, 0.95]


class Roller:
    """Keeps ``ahead`` future windows listed for every asset."""

    def __init__(self, *, exchange: Exchange, prices: RefPrices, noise: NoiseTraders,
                 seed: int, assets: list[str], window_s: int, ahead: int = 3) -> None:
        self.ex = exchange
        self.prices = prices
        self.noise = noise
        self.seed = seed
        self.assets = assets
        self.window_s = window_s
        self.ahead = ahead

    def tick(self, now: float) -> None:
        start = window_start(now, self.window_s)
        for asset in self.assets:
            for k in range(self.ahead + 1):
                s = start + k * self.window_s
                if f"{asset}-{s}" not in self._listed():
                    self._list(asset, s, now)
        for m in list(self.ex.markets.values()):
            if m.price_to_beat_e8 is None and now >= m.start_s:
                m.price_to_beat_e8 = self.prices.twap_e8(m.asset)
                logger.info("window %s open: price to beat %d e-8", m.slug, m.price_to_beat_e8)
            if not m.closed and now >= m.end_s:
                final = self.prices.twap_e8(m.asset)
                m.final_price_e8 = final
                ptb = m.price_to_beat_e8 if m.price_to_beat_e8 is not None else final
                winner = 0 if final >= ptb else 1
                logger.info("window %s closed: %s", m.slug, ("Up", "Down")[winner])
                self.ex.close_market(m, winner, now)
            if not m.closed:
                self._auto_tick(m, now)
        closed = sorted((m for m in self.ex.markets.values() if m.closed),
                        key=lambda m: m.end_s, reverse=True)
        for m in closed[KEEP_CLOSED * len(self.assets):]:
            self.ex.forget_market(m)

    def _listed(self) -> set[str]:
        return {f"{m.asset}-{m.start_s}" for m in self.ex.markets.values()}

    def _list(self, asset: str, start_s: int, now: float) -> None:
        if start_s + self.window_s <= now:
            return
        m: MarketState = make_market(self.seed, asset, self.window_s, start_s)
        self.ex.add_market(m)
        self.ex.pub.new_market(m, question(m), int(now * 1000))
        self.noise.seed(m, now)

    def _auto_tick(self, m: MarketState, now: float) -> None:
        bb, ba = m.book.top(0)
        mid2 = (bb or 0) + (ba if ba is not None else 10_000)  # twice the mid, in pips
        near = mid2 < 2 * NEAR_LOW or mid2 > 2 * NEAR_HIGH
        inside = 2 * BACK_LOW <= mid2 <= 2 * BACK_HIGH
        if m.tick_pips == NORMAL_TICK and near and m.is_open(now):
            self.ex.set_tick(m, FINE_TICK, now)
        elif m.tick_pips == FINE_TICK and inside:
            self.ex.set_tick(m, NORMAL_TICK, now)
