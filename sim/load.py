"""The load knob: ``--market-rate N`` emits N ``price_change`` messages per second in total,
spread over the markets that have subscribers.

Each message is a real level change: the size of a deep "ballast" order (Up bids at 1–3 ticks,
Up asks at 1−3…1−1 ticks) changes, so the book, ``GET /book`` and the per-entry best bid/ask
stay consistent and a client's checksum holds. Owned by the simulator's event loop.
"""

from __future__ import annotations

import random

from sim.book import BUY, SELL, Resting
from sim.exchange import Exchange
from sim.windows import MarketState
from sim.wire import PIPS


class LoadGenerator:
    """Paced by ``emit(due, now)`` calls from a timer; never catches up more than it is told."""

    def __init__(self, exchange: Exchange, rng: random.Random) -> None:
        self.ex = exchange
        self.rng = rng
        self._ballast: dict[str, list[str]] = {}
        self._rr = 0

    def _ensure(self, m: MarketState) -> list[str]:
        ids = [i for i in self._ballast.get(m.condition_id, []) if i in m.book.orders]
        if len(ids) < 6:
            for k in range(1, 4):
                for side, price in ((BUY, k * 100), (SELL, PIPS - k * 100)):
                    if any(m.book.orders[i].up_price == price for i in ids):
                        continue
                    if m.book.crosses(side, price):
                        continue
                    oid = f"0x{self.rng.getrandbits(256):064x}"
                    m.book.add(Resting(order_id=oid, owner="", token_index=0, up_side=side,
                                       up_price=price, remaining=100_000_000))
                    ids.append(oid)
        self._ballast[m.condition_id] = ids
        return ids

    def emit(self, due: int, now: float) -> int:
        subs = self.ex.pub.hub.market_subs
        live = [m for m in self.ex.markets.values()
                if not m.closed and (m.token_ids[0] in subs or m.token_ids[1] in subs)]
        if not live or due <= 0:
            return 0
        now_ms = int(now * 1000)
        rand = self.rng.randrange
        sent = 0
        for _ in range(due):
            self._rr = (self._rr + 1) % len(live)
            m = live[self._rr]
            ids = self._ballast.get(m.condition_id) or self._ensure(m)
            if not ids:
                continue
            oid = ids[rand(len(ids))]
            if oid not in m.book.orders:  # taken or canceled: lay the ballast again
                ids = self._ensure(m)
                if not ids:
                    continue
                oid = ids[0]
            change = m.book.resize(oid, rand(10, 1000) * 1_000_000)
            if change is not None:
                self.ex.pub.price_change(m, [change], now_ms)
                sent += 1
        return sent
