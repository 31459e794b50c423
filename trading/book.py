"""A local order book for one token, kept from ``book`` snapshots and ``price_change`` levels.

The algorithm is the protocol reference's §1.4: a snapshot replaces both sides; a level change
sets the new total size at a price (0 removes the level); changes older than the last snapshot
are dropped; the venue's top of book after a change is a checksum. Level tables are dicts keyed
by price in pips. The best bid and ask are kept incrementally: a new level can only improve the
best, so only removing the best level costs a scan of that side.

Pure code: no threads, no clock (times come from the events).
"""

from __future__ import annotations

from messages.ids import PIPS_PER_UNIT, Side
from messages.market import BookSnapshot, Level

EMPTY_BID_PIPS = 0
"""How the venue's checksum spells an empty bid side (``"best_bid": "0"``)."""

EMPTY_ASK_PIPS = PIPS_PER_UNIT
"""How the venue's checksum spells an empty ask side (``"best_ask": "1"``)."""


class Book:
    """Bids and asks of one token, with the best prices tracked incrementally.

    ``synced`` is True from a snapshot until the owner marks the book doubtful (a checksum
    mismatch or a feed disconnect); ``has_snapshot`` says whether any snapshot was applied.
    ``last_ts_ms`` is the venue time of the last applied event, ``snapshot_ts_ms`` that of the
    last snapshot, ``recv_ns`` the local receive time of the last event the owner recorded.
    """

    __slots__ = ("_best_ask", "_best_bid", "asks", "bids", "has_snapshot", "hash",
                 "last_ts_ms", "recv_ns", "snapshot_ts_ms", "synced", "token_id")

    def __init__(self, token_id: str = "") -> None:
        self.token_id = token_id
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self._best_bid: int | None = None
        self._best_ask: int | None = None
        self.snapshot_ts_ms = -1
        self.last_ts_ms = -1
        self.recv_ns = 0
        self.hash = ""
        self.has_snapshot = False
        self.synced = False

    # -- updates -------------------------------------------------------------------------------

    def apply_snapshot(self, snap: BookSnapshot, *, force: bool = False) -> bool:
        """Replace both sides with ``snap``; False (and nothing changes) if it is older than the
        last snapshot applied, unless ``force`` (a resync answer replaces a doubtful book
        whatever its time)."""
        if snap.ts_event_ms < self.snapshot_ts_ms and not force:
            return False
        self.bids = _side_table(snap.bids)
        self.asks = _side_table(snap.asks)
        self._best_bid = max(self.bids) if self.bids else None
        self._best_ask = min(self.asks) if self.asks else None
        self.snapshot_ts_ms = snap.ts_event_ms
        self.last_ts_ms = max(self.last_ts_ms, snap.ts_event_ms)
        self.recv_ns = max(self.recv_ns, snap.ts_recv_ns)
        self.hash = snap.hash
        self.has_snapshot = True
        self.synced = True
        return True

    def apply_level(self, side: Side, price_pips: int, size_micro: int,
                    ts_ms: int | None = None) -> bool:
        """Set the total size at one level (size ≤ 0 removes it).

        Returns False, changing nothing, when ``ts_ms`` is older than the last snapshot
        (protocol §1.4 step 4); ``None`` skips that check.
        """
        if ts_ms is not None:
            if ts_ms < self.snapshot_ts_ms:
                return False
            if ts_ms > self.last_ts_ms:
                self.last_ts_ms = ts_ms
        if side is Side.BUY:
            self._set_bid(price_pips, size_micro)
        else:
            self._set_ask(price_pips, size_micro)
        return True

    def _set_bid(self, price: int, size: int) -> None:
        if size > 0:
            self.bids[price] = size
            if self._best_bid is None or price > self._best_bid:
                self._best_bid = price
        elif self.bids.pop(price, None) is not None and price == self._best_bid:
            self._best_bid = max(self.bids) if self.bids else None

    def _set_ask(self, price: int, size: int) -> None:
        if size > 0:
            self.asks[price] = size
            if self._best_ask is None or price < self._best_ask:
                self._best_ask = price
        elif self.asks.pop(price, None) is not None and price == self._best_ask:
            self._best_ask = min(self.asks) if self.asks else None

    def clear(self) -> None:
        """Forget every level (the snapshot time is kept, so older changes stay dropped)."""
        self.bids = {}
        self.asks = {}
        self._best_bid = None
        self._best_ask = None
        self.synced = False

    # -- queries -------------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        """The highest bid in pips, None when the bid side is empty."""
        return self._best_bid

    def best_ask(self) -> int | None:
        """The lowest ask in pips, None when the ask side is empty."""
        return self._best_ask

    def top(self) -> tuple[int | None, int | None]:
        """``(best_bid, best_ask)``."""
        return self._best_bid, self._best_ask

    def mid_pips(self) -> int | None:
        """The mid of a two-sided book (rounded down), None when a side is empty."""
        if self._best_bid is None or self._best_ask is None:
            return None
        return (self._best_bid + self._best_ask) // 2

    def checksum_ok(self, best_bid_pips: int | None, best_ask_pips: int | None) -> bool:
        """Whether our top of book matches the venue's.

        The venue spells an empty bid as 0 and an empty ask as 10000 pips; ``None`` means the
        venue gave no value for that side, which is not checked.
        """
        return (_side_ok(best_bid_pips, self._best_bid, EMPTY_BID_PIPS)
                and _side_ok(best_ask_pips, self._best_ask, EMPTY_ASK_PIPS))

    def __repr__(self) -> str:
        return (f"Book({self.token_id!r}, bid={self._best_bid}, ask={self._best_ask}, "
                f"levels={len(self.bids)}/{len(self.asks)}, synced={self.synced})")


def _side_table(levels: tuple[Level, ...]) -> dict[int, int]:
    # The wire's level order is not relied on (protocol §1.3: "sort yourself").
    return {price: size for price, size in levels if size > 0}


def _side_ok(expected: int | None, ours: int | None, empty: int) -> bool:
    if expected is None:
        return True
    if expected == empty:
        return ours is None
    return ours == expected


class MarketBooks:
    """The two books of one binary market (Up, Down), its live tick and last trade prices.

    Each token's tick is its last ``tick_size_change`` or snapshot tick, else the listed (Gamma)
    tick; the market's ``tick_pips`` is the coarser of the two, since a price on the coarser
    grid is valid on both (None while neither is known).
    """

    __slots__ = ("books", "gamma_tick_pips", "last_trade_pips", "live_ticks", "tick_pips")

    def __init__(self, token_ids: tuple[str, str], gamma_tick_pips: int) -> None:
        self.books = (Book(token_ids[0]), Book(token_ids[1]))
        self.gamma_tick_pips = gamma_tick_pips
        self.live_ticks: list[int | None] = [None, None]
        self.last_trade_pips: list[int | None] = [None, None]
        self.tick_pips: int | None = gamma_tick_pips if gamma_tick_pips > 0 else None

    def set_tick(self, index: int | None, tick_pips: int) -> bool:
        """Record token ``index``'s live tick (``None``: the listed tick); True if the market's
        tick changed."""
        if index is None:
            self.gamma_tick_pips = tick_pips
        elif tick_pips > 0:
            self.live_ticks[index] = tick_pips
        known = [t for t in (self.gamma_tick_pips if lt is None else lt
                             for lt in self.live_ticks) if t > 0]
        tick = max(known) if known else None
        if tick == self.tick_pips:
            return False
        self.tick_pips = tick
        return True

    def synced(self) -> bool:
        """Both books have a snapshot and no resync is pending."""
        return self.books[0].synced and self.books[1].synced

    def recv_ns(self) -> int:
        """Receive time of the last book event of either token (0: none)."""
        return max(self.books[0].recv_ns, self.books[1].recv_ns)

    def mark_pips(self, index: int) -> int | None:
        """A price to value token ``index`` at: the book mid, else the last trade, else None."""
        mid = self.books[index].mid_pips()
        return self.last_trade_pips[index] if mid is None else mid

    def unsync(self) -> bool:
        """Mark both books doubtful; True if either was synced."""
        was = self.books[0].synced or self.books[1].synced
        self.books[0].synced = self.books[1].synced = False
        return was
