"""Price-time priority matching for one binary market, kept in Up terms.

One canonical book per market: a BUY Up at p is an Up bid at p; a BUY Down at q rests as an Up
ask at 1−q (and a SELL Down at q as an Up bid at 1−q). The Down book is the mirror image, so
post-only BUYs on both outcomes cross each other's mirrors exactly as on the venue. Integers
only (pips, micro-units). Owned by the simulator's event loop; no clock, no IO.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

PIPS = 10_000
BUY = "BUY"
SELL = "SELL"


def flip(side: str) -> str:
    return SELL if side == BUY else BUY


def to_up(token_index: int, side: str, price_pips: int) -> tuple[str, int]:
    """A (side, price) on token ``token_index`` (0 Up, 1 Down) in Up-book terms."""
    return (side, price_pips) if token_index == 0 else (flip(side), PIPS - price_pips)


@dataclass(slots=True)
class Resting:
    """A resting order. ``up_side``/``up_price`` place it in the canonical book."""

    order_id: str
    owner: str
    token_index: int
    up_side: str
    up_price: int
    remaining: int


@dataclass(frozen=True, slots=True)
class Fill:
    """``size`` micro-shares of ``maker`` matched at ``up_price`` (the maker's price)."""

    maker: Resting
    up_price: int
    size: int


LevelChange = tuple[str, int, int]
"""(Up side, Up price, new total size at that level)."""


class _Side:
    """One side of the book: price → FIFO of orders, plus sorted prices and level totals."""

    __slots__ = ("levels", "prices", "totals")

    def __init__(self) -> None:
        self.levels: dict[int, dict[str, Resting]] = {}
        self.prices: list[int] = []  # ascending
        self.totals: dict[int, int] = {}

    def add(self, r: Resting) -> int:
        level = self.levels.get(r.up_price)
        if level is None:
            level = self.levels[r.up_price] = {}
            bisect.insort(self.prices, r.up_price)
            self.totals[r.up_price] = 0
        level[r.order_id] = r
        self.totals[r.up_price] += r.remaining
        return self.totals[r.up_price]

    def reduce(self, r: Resting, by: int) -> int:
        """Take ``by`` off ``r`` (removing it at zero); returns the level's new total."""
        r.remaining -= by
        total = self.totals[r.up_price] - by
        if r.remaining <= 0:
            del self.levels[r.up_price][r.order_id]
        if total <= 0 or not self.levels[r.up_price]:
            del self.levels[r.up_price]
            del self.totals[r.up_price]
            del self.prices[bisect.bisect_left(self.prices, r.up_price)]
            return 0
        self.totals[r.up_price] = total
        return total

    def set_remaining(self, r: Resting, size: int) -> int:
        """Change ``r``'s size in place (keeps its queue position); returns the level total."""
        self.totals[r.up_price] += size - r.remaining
        r.remaining = size
        return self.totals[r.up_price]


class Book:
    """The canonical (Up-terms) book of one market."""

    __slots__ = ("asks", "bids", "orders")

    def __init__(self) -> None:
        self.bids = _Side()
        self.asks = _Side()
        self.orders: dict[str, Resting] = {}

    def best_bid(self) -> int | None:
        return self.bids.prices[-1] if self.bids.prices else None

    def best_ask(self) -> int | None:
        return self.asks.prices[0] if self.asks.prices else None

    def top(self, token_index: int) -> tuple[int | None, int | None]:
        """(best bid, best ask) in pips on token ``token_index``."""
        bb, ba = self.best_bid(), self.best_ask()
        if token_index == 0:
            return bb, ba
        return (None if ba is None else PIPS - ba), (None if bb is None else PIPS - bb)

    def levels(self, token_index: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids best first, asks best first) as (price, size) on token ``token_index``."""
        bids = [(p, self.bids.totals[p]) for p in reversed(self.bids.prices)]
        asks = [(p, self.asks.totals[p]) for p in self.asks.prices]
        if token_index == 0:
            return bids, asks
        return [(PIPS - p, s) for p, s in asks], [(PIPS - p, s) for p, s in bids]

    def crosses(self, up_side: str, up_price: int) -> bool:
        if up_side == BUY:
            ba = self.best_ask()
            return ba is not None and ba <= up_price
        bb = self.best_bid()
        return bb is not None and bb >= up_price

    def fillable(self, up_side: str, up_price: int) -> int:
        """How much a taker at ``up_price`` could fill right now."""
        total = 0
        if up_side == BUY:
            for p in self.asks.prices:
                if p > up_price:
                    break
                total += self.asks.totals[p]
        else:
            for p in reversed(self.bids.prices):
                if p < up_price:
                    break
                total += self.bids.totals[p]
        return total

    def add(self, r: Resting) -> LevelChange:
        side = self.bids if r.up_side == BUY else self.asks
        self.orders[r.order_id] = r
        return r.up_side, r.up_price, side.add(r)

    def remove(self, order_id: str) -> tuple[Resting, LevelChange] | None:
        r = self.orders.pop(order_id, None)
        if r is None:
            return None
        side = self.bids if r.up_side == BUY else self.asks
        total = side.reduce(r, r.remaining)
        return r, (r.up_side, r.up_price, total)

    def resize(self, order_id: str, size: int) -> LevelChange | None:
        r = self.orders.get(order_id)
        if r is None or size <= 0:
            return None
        side = self.bids if r.up_side == BUY else self.asks
        return r.up_side, r.up_price, side.set_remaining(r, size)

    def match(self, up_side: str, up_price: int, size: int, *, taker_owner: str = ""
              ) -> tuple[list[Fill], list[LevelChange]]:
        """Match a taker (Up terms) up to ``size`` at prices no worse than ``up_price``.

        Orders of ``taker_owner`` are skipped (no self-trade). Returns the fills, in match
        order, and the level changes they caused.
        """
        book = self.asks if up_side == BUY else self.bids
        fills: list[Fill] = []
        changes: list[LevelChange] = []
        left = size
        while left > 0 and book.prices:
            price = book.prices[0] if up_side == BUY else book.prices[-1]
            if (up_side == BUY and price > up_price) or (up_side == SELL and price < up_price):
                break
            level = book.levels[price]
            hit = False
            total = book.totals[price]
            for r in list(level.values()):
                if left <= 0:
                    break
                if taker_owner and r.owner == taker_owner:
                    continue
                take = min(left, r.remaining)
                fills.append(Fill(maker=r, up_price=price, size=take))
                left -= take
                hit = True
                if take >= r.remaining:
                    self.orders.pop(r.order_id, None)
                total = book.reduce(r, take)
                if total == 0:
                    break
            changes.append((flip(up_side), price, total))
            if not hit:
                break  # only our own orders at this level: stop rather than trade through
        return fills, changes
