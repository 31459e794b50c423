"""One traded market as the state model keeps it, and what is read out of it.

``MarketState`` holds a market's two books, its strike, its winner once resolved and its cached
``MarketView``; it builds that view, the market's marks and its status-line summary from its own
fields and the account's ``Positions``. ``StateModel`` (``trading.state``) routes events to it
and decides when a view is stale (``dirty``). ``Settlements`` marks the markets that have left
the traded set.

Thread ownership: none of its own; the thread that owns the ``StateModel`` (the State actor's,
or replay's) owns every ``MarketState`` in it. Pure code: no threads, no clock.
"""

from __future__ import annotations

from typing import Any

from messages.ids import PIPS_PER_UNIT, ConditionId, TokenId
from messages.market import LevelChange, MarketResolved
from messages.markets import Market
from messages.quotes import MarketView
from trading.book import MarketBooks
from trading.positions import Positions
from trading.strikes import Strikes


class MarketState(MarketBooks):
    """A market's books plus its strike, winner and last view.

    ``strike_confirmed`` turns True once the strike comes from the TWAP at the market's start
    (it then never changes); until then the listed price to beat stands in. ``dirty`` says the
    cached ``view`` no longer matches the fields.
    """

    __slots__ = ("dirty", "market", "strike_confirmed", "strike_e8", "view", "winner")

    def __init__(self, market: Market) -> None:
        super().__init__(market.token_ids, market.tick_pips)
        self.market = market
        self.strike_e8: int | None = None
        self.strike_confirmed = False
        self.winner: TokenId | None = None
        self.dirty = True
        self.view: MarketView | None = None

    def refresh_strike(self, strikes: Strikes) -> bool:
        """Take the TWAP strike once known, else the listed price to beat; True if it moved."""
        if self.strike_confirmed:
            return False
        m = self.market
        k = strikes.twap_strike(m.asset, m.start_ms) if m.asset and m.start_ms > 0 else None
        if k is not None:
            self.strike_confirmed = True
        elif m.price_to_beat_e8 is not None and m.price_to_beat_e8 > 0:
            k = m.price_to_beat_e8
        if k == self.strike_e8:
            return False
        self.strike_e8 = k
        self.dirty = True
        return True

    def apply_one_level(self, index: int, ch: LevelChange, ts_ms: int,
                        recv_ns: int) -> bool | None:
        """A frame of one level change to book ``index``: None (nothing changes) when that
        book has no snapshot or the frame is older than it, else whether its top moved (the
        checksum is the caller's)."""
        book = self.books[index]
        if not book.has_snapshot or ts_ms < book.snapshot_ts_ms:
            return None
        top0 = book.top()
        book.apply_level(ch.side, ch.price_pips, ch.size_micro, ts_ms)
        if recv_ns > book.recv_ns:
            book.recv_ns = recv_ns
        self.dirty = True
        return book.top() != top0

    def build_view(self, positions: Positions) -> MarketView:
        """A fresh immutable view of this market for the Quoter."""
        up, down = self.books
        pos = positions.position_micro
        return MarketView(market=self.market, tick_pips=self.tick_pips,
                          up_bid_pips=up.best_bid(), up_ask_pips=up.best_ask(),
                          down_bid_pips=down.best_bid(), down_ask_pips=down.best_ask(),
                          book_recv_ns=self.recv_ns(), book_synced=self.synced(),
                          position_up_micro=pos(self.market.token_ids[0]),
                          position_down_micro=pos(self.market.token_ids[1]),
                          strike_e8=self.strike_e8)

    def marks(self) -> dict[TokenId, int]:
        """A mark per token that has one: the payout once resolved, else the book mid, else
        the last trade."""
        out: dict[TokenId, int] = {}
        for i, token in enumerate(self.market.token_ids):
            mark = self.mark_pips(i) if self.winner is None else payout(token, self.winner)
            if mark is not None:
                out[token] = mark
        return out

    def summary(self, positions: Positions, now_ms: int) -> dict[str, Any]:
        """The small dict the status line shows for this market."""
        m = self.market
        up, down = m.token_ids
        return {
            "condition_id": m.condition_id, "alias": m.alias,
            "up_bid": self.books[0].best_bid(), "up_ask": self.books[0].best_ask(),
            "inv_up": positions.position_micro(up) / 1e6,
            "inv_down": positions.position_micro(down) / 1e6,
            "ttc_s": (m.end_ms - now_ms) // 1000 if m.end_ms > 0 else None,
            "synced": self.synced(),
            "strike_e8": self.strike_e8,
        }


def payout(token: TokenId, winner: TokenId) -> int:
    """What one share of ``token`` pays, in pips, once ``winner`` won."""
    return PIPS_PER_UNIT if token == winner else 0


UNRESOLVED_GONE_KEPT = 256
"""Markets that left the set unresolved, kept for a late resolution (the oldest go first)."""


class Settlements:
    """The marks of the markets that left the traded set: a resolved one's tokens at their
    payout. An unresolved one's tokens are kept (the last ``UNRESOLVED_GONE_KEPT``) for a
    resolution that comes after it left: the venue's about a minute after the close, or a dry
    run's paper settlement, while discovery drops a market at its close."""

    __slots__ = ("_gone", "marks")

    def __init__(self) -> None:
        self.marks: dict[TokenId, int] = {}
        self._gone: dict[ConditionId, tuple[TokenId, ...]] = {}

    def left(self, st: MarketState) -> None:
        """``st``'s market left the set."""
        m = st.market
        if st.winner is not None:
            self._settle(m.token_ids, st.winner)
            return
        self._gone[m.condition_id] = m.token_ids
        while len(self._gone) > UNRESOLVED_GONE_KEPT:
            del self._gone[next(iter(self._gone))]

    def late(self, msg: MarketResolved) -> bool:
        """A resolution of a market that already left the set; False if it is none we know
        (or names a token not of that market)."""
        tokens = self._gone.get(msg.condition_id)
        if tokens is None or msg.winning_token_id not in tokens:
            return False
        del self._gone[msg.condition_id]
        self._settle(tokens, msg.winning_token_id)
        return True

    def _settle(self, tokens: tuple[TokenId, ...], winner: TokenId) -> None:
        for token in tokens:
            self.marks[token] = payout(token, winner)
