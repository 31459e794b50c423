"""The paper exchange tests' scenario language (``tests/test_paper_exchange.py``,
``tests/test_paper_fills.py``).

A scenario is a list of steps, each at a time ``t`` (ms) that is both the venue's time of the
message and the caller's ``now_ms``:

* ``book(t, token, bids, asks)``: a book snapshot (levels in pips and whole shares);
* ``level(t, token, side, price, shares)``: a ``price_change`` of one level;
* ``trade(t, token, taker_side, price, shares)``: a ``last_trade_price`` print;
* ``post(t, n, token, side, price, shares)``: our order ``n`` (post-only unless told);
* ``cancel(t, n)``, ``advance(t)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from messages import (
    BookSnapshot,
    OrderEvent,
    OrderHash,
    Side,
    TokenId,
    TradeEvent,
    TradeStatus,
)
from tests.builders import (
    CID,
    DOWN,
    OWNER,
    UP,
    make_change,
    make_last_trade,
    make_level,
    make_snapshot,
)
from trading.fees import FeeSchedule
from trading.paper_exchange import (
    PaperEvent,
    PaperExchange,
    PaperOrder,
)

S = 1_000_000  # one share in micro-units
B, SELL = Side.BUY, Side.SELL
CRYPTO = FeeSchedule(rate_bps=700, exponent=1, rebate_bps=2000)


def h(n: int) -> OrderHash:
    return OrderHash(f"0x{n:064x}")


# -- the scenario language ---------------------------------------------------------------------

Step = tuple[Any, ...]


def book(t: int, token: TokenId, bids: tuple[tuple[int, int], ...] = (),
         asks: tuple[tuple[int, int], ...] = ()) -> Step:
    return ("book", t, token, bids, asks)


def level(t: int, token: TokenId, side: Side, price: int, shares: float) -> Step:
    return ("level", t, token, side, price, shares)


def trade(t: int, token: TokenId, taker_side: Side, price: int, shares: float) -> Step:
    return ("trade", t, token, taker_side, price, shares)


def post(t: int, n: int, token: TokenId, side: Side, price: int, shares: float, *,
         post_only: bool = True) -> Step:
    return ("post", t, n, token, side, price, shares, post_only)


def cancel(t: int, n: int) -> Step:
    return ("cancel", t, n)


def advance(t: int) -> Step:
    return ("advance", t)


def order(n: int, token: TokenId = UP, side: Side = B, price: int = 4500, shares: float = 10,
          *, post_only: bool = True, cid: Any = CID) -> PaperOrder:
    return PaperOrder(order_id=h(n), condition_id=cid, token_id=token, side=side,
                      price_pips=price, size_micro=int(shares * S), post_only=post_only)


def snapshot(t: int, token: TokenId, bids: Any, asks: Any) -> BookSnapshot:
    return make_snapshot(token_id=token, bids=tuple((p, int(s * S)) for p, s in bids),
                         asks=tuple((p, int(s * S)) for p, s in asks), ts_event_ms=t,
                         ts_recv_ns=t * S)


@dataclass
class Run:
    ex: PaperExchange
    events: list[PaperEvent] = field(default_factory=list)
    replies: dict[int, Any] = field(default_factory=dict)

    def matched(self, n: int) -> int:
        """Order ``n``'s matched size (micro), from its order events."""
        return max((e.size_matched_micro for e in self.events
                    if isinstance(e, OrderEvent) and e.order_id == h(n)), default=0)

    def fills(self, n: int) -> list[tuple[int, int]]:
        """(price, micro) of order ``n``'s maker fills, from the MATCHED trade events."""
        return [(f.price_pips, f.matched_size_micro) for e in self.events
                if isinstance(e, TradeEvent) and e.status is TradeStatus.MATCHED
                for f in e.maker_fills if f.order_id == h(n)]

    def types(self, n: int) -> list[str]:
        return [e.type.value for e in self.events
                if isinstance(e, OrderEvent) and e.order_id == h(n)]


def make_exchange(fees: FeeSchedule = CRYPTO, **kw: Any) -> PaperExchange:
    """One market (Up, Down), tick 0.01, minimum 5 shares; SELLs unchecked unless told."""
    ex = PaperExchange(owner=OWNER, **{"check_sell_balance": False, **kw})
    ex.set_market(condition_id=CID, token_ids=(UP, DOWN), tick_pips=100, min_size_micro=5 * S,
                  fees=fees)
    return ex


def run(steps: list[Step], **kw: Any) -> Run:
    r = Run(make_exchange(**kw))
    ex = r.ex
    for step in steps:
        kind, t = step[0], step[1]
        if kind == "book":
            r.events += ex.on_book(snapshot(t, step[2], step[3], step[4]), t)
        elif kind == "level":
            ch = make_level(token_id=step[2], side=step[3], price_pips=step[4],
                            size_micro=int(step[5] * S))
            r.events += ex.on_book(make_change(ch, ts_event_ms=t, ts_recv_ns=t * S), t)
        elif kind == "trade":
            r.events += ex.on_trade(make_last_trade(
                token_id=step[2], side=step[3], price_pips=step[4], size_micro=int(step[5] * S),
                ts_event_ms=t, ts_recv_ns=t * S), t)
        elif kind == "post":
            _, _, n, token, side, price, shares, post_only = step
            r.replies[n] = ex.post([order(n, token, side, price, shares,
                                          post_only=post_only)], t)[0]
            r.events += ex.advance(t)
        elif kind == "cancel":
            ex.cancel([h(step[2])], t)
            r.events += ex.advance(t)
        elif kind == "advance":
            r.events += ex.advance(t)
    return r


# Our BUY of 10 Up at 0.45 (the Down view: SELL 10 Down at 0.55), alone at its level.
ALONE = [book(0, UP, bids=((4400, 10),), asks=((4700, 10),)), post(1, 1, UP, B, 4500, 10)]
OID = h(7)
TOP = [book(0, UP, bids=((4400, 10),), asks=((4600, 10),))]
