"""The paper exchange: the venue's rules, fills from prints and from a crossing book, queue
positions, latency, events the tracker and the ledger accept, fees and resolution.

Most rules are tables of scenarios. A scenario is a list of steps, each at a time ``t`` (ms)
that is both the venue's time of the message and the caller's ``now_ms``:

* ``book(t, token, bids, asks)``: a book snapshot (levels in pips and whole shares);
* ``level(t, token, side, price, shares)``: a ``price_change`` of one level;
* ``trade(t, token, taker_side, price, shares)``: a ``last_trade_price`` print;
* ``post(t, n, token, side, price, shares)``: our order ``n`` (post-only unless told);
* ``cancel(t, n)``, ``advance(t)``.

Pure code: no actor, no thread, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from messages import (
    BookChange,
    BookSnapshot,
    LastTrade,
    OrderEvent,
    OrderEventType,
    OrderHash,
    RejectReason,
    Side,
    TokenId,
    TradeEvent,
    TradeStatus,
)
from messages.quotes import DesiredQuote
from tests.builders import (
    CID,
    DOWN,
    OWNER,
    UP,
    make_change,
    make_last_trade,
    make_level,
    make_market,
    make_resolved,
    make_snapshot,
    make_tick_change,
)
from trading.order_records import OrderState, gone_at_venue
from trading.order_tracker import OrderTracker
from trading.paper_exchange import (
    PaperEvent,
    PaperExchange,
    PaperOrder,
    Settlement,
    winner_from_reference,
)
from trading.paper_fees import FeeSchedule, maker_rebate_estimate_micro, taker_fee_micro
from trading.paper_rules import NOT_CANCELED, decimal_str
from trading.positions import Positions
from venue.rest_errors import classify_reject

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


# -- fees --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("price", "size", "schedule", "fee"), [
    (5000, 100 * S, CRYPTO, 1_750_000),           # the protocol's max: 1.75 per 100 at 0.5
    (5000, 1 * S, CRYPTO, 17_500),
    (4600, 10 * S, CRYPTO, 173_880),              # 10 x 0.07 x 0.46 x 0.54 = 0.17388
    (100, 1 * S, CRYPTO, 690),                    # 0.000693 rounds to 5 decimals: 0.00069
    (9900, 1 * S, CRYPTO, 690),                   # symmetric in p and 1 - p
    (5000, 20_300, CRYPTO, 360),                  # 355.25 micro rounds up to 360
    (5000, 20_200, CRYPTO, 350),                  # 353.5 micro rounds down to 350
    (5000, 1, CRYPTO, 10),                        # a positive fee is at least 0.00001
    (5000, 100 * S, FeeSchedule(rate_bps=700, exponent=2), 437_500),  # x 0.25 ** 2
    (5000, 100 * S, FeeSchedule(), 0),            # no schedule: no fee
    (5000, 0, CRYPTO, 0),
    (0, 10 * S, CRYPTO, 0),
    (10_000, 10 * S, CRYPTO, 0),
], ids=lambda v: str(v) if isinstance(v, int) else None)
def test_taker_fee(price: int, size: int, schedule: FeeSchedule, fee: int) -> None:
    assert taker_fee_micro(price, size, schedule) == fee


@pytest.mark.parametrize(("fee_equivalent", "schedule", "rebate"), [
    (1_000_000, CRYPTO, 200_000),
    (173_250, CRYPTO, 34_650),
    (0, CRYPTO, 0),
    (1_000_000, FeeSchedule(rate_bps=700), 0),
])
def test_maker_rebate_estimate(fee_equivalent: int, schedule: FeeSchedule, rebate: int) -> None:
    assert maker_rebate_estimate_micro(fee_equivalent, schedule) == rebate


def test_fee_schedule_of_a_market() -> None:
    m = make_market(taker_fee_rate_bps=700, maker_rebate_bps=2000)
    assert FeeSchedule.of_market(m) == CRYPTO


@pytest.mark.parametrize(("value", "scale", "text"), [
    (4550, 10_000, "0.455"), (100, 10_000, "0.01"), (10_000, 10_000, "1"),
    (4_990_000, S, "4.99"), (5 * S, S, "5"), (-1500, 10_000, "-0.15"),
])
def test_decimal_str(value: int, scale: int, text: str) -> None:
    assert decimal_str(value, scale) == text


# -- the venue's rules -------------------------------------------------------------------------

OID = h(7)
TOP = [book(0, UP, bids=((4400, 10),), asks=((4600, 10),))]


@pytest.mark.parametrize(("setup", "po", "reason", "message"), [
    (TOP, order(7), None, ""),
    (TOP, order(7, price=100), None, ""),
    (TOP, order(7, price=9900, side=SELL), None, ""),
    (TOP, order(7, price=4550), RejectReason.TICK,
     f"order {OID} is invalid. Price (0.455) breaks minimum tick size rule: 0.01"),
    (TOP, order(7, price=10_000), RejectReason.TICK,
     f"order {OID} is invalid. Price (1) breaks minimum tick size rule: 0.01"),
    (TOP, order(7, price=0), RejectReason.INVALID, "Invalid order payload"),
    (TOP, order(7, price=-100), RejectReason.INVALID, "Invalid order payload"),
    (TOP, order(7, shares=4.99), RejectReason.MIN_SIZE,
     f"order {OID} is invalid. Size (4.99) lower than the minimum: 5"),
    (TOP, order(7, shares=0), RejectReason.INVALID, "Invalid order payload"),
    (TOP, order(7, price=4600), RejectReason.POST_ONLY_CROSS,
     "invalid post-only order: order crosses book"),
    (TOP, order(7, price=4700), RejectReason.POST_ONLY_CROSS,
     "invalid post-only order: order crosses book"),
    (TOP, order(7, side=SELL, price=4400), RejectReason.POST_ONLY_CROSS,
     "invalid post-only order: order crosses book"),
    (TOP, order(7, side=SELL, price=4500), None, ""),
    # The Down book, mirrored: an Up bid at 0.44 is a Down ask at 0.56.
    (TOP, order(7, token=DOWN, price=5600), RejectReason.POST_ONLY_CROSS,
     "invalid post-only order: order crosses book"),
    (TOP, order(7, token=DOWN, price=5500), None, ""),
    ([book(0, DOWN, bids=((5400, 10),))], order(7, price=4600), RejectReason.POST_ONLY_CROSS,
     "invalid post-only order: order crosses book"),
    (TOP, order(7, price=4600, post_only=False), None, ""),
    (TOP, order(7, token=TokenId("999")), RejectReason.INVALID, "Invalid order payload"),
    (TOP, order(7, cid="0x" + "cd" * 32), RejectReason.INVALID, "Invalid order payload"),
    ([*TOP, post(0, 7, UP, B, 4000, 10)], order(7), RejectReason.DUPLICATE,
     f"order {OID} is invalid. Duplicated."),
], ids=["ok", "lowest-price", "highest-price", "off-tick", "price-one", "price-zero",
        "price-negative", "below-min-size", "size-zero", "post-only-at-ask",
        "post-only-through-ask", "post-only-sell-at-bid", "sell-inside", "down-crosses-mirror",
        "down-inside", "up-crosses-down-mirror", "taker-may-cross", "unknown-token",
        "wrong-market", "duplicate"])
def test_post_applies_the_venue_rules(setup: list[Step], po: PaperOrder,
                                      reason: RejectReason | None, message: str) -> None:
    ex = run(setup).ex
    [res] = ex.post([po], 1)
    assert (res.accepted, res.reason, res.message) == (reason is None, reason, message)
    assert res.order_id == po.order_id.lower()
    if reason is not None:
        # The bot classifies the paper venue's text exactly as a live refusal.
        assert classify_reject(400, message) is reason
    else:
        assert res.status == "live"


@pytest.mark.parametrize(("kw", "pre", "po", "accepted"), [
    ({"check_sell_balance": True}, [], order(7, side=SELL, price=4800), False),
    ({"check_sell_balance": True}, [post(0, 1, UP, B, 4500, 10), trade(1, UP, SELL, 4500, 10)],
     order(7, side=SELL, price=4800), True),
    ({"check_sell_balance": True},
     [post(0, 1, UP, B, 4500, 10), trade(1, UP, SELL, 4500, 10), post(2, 2, UP, SELL, 4900, 6)],
     order(7, side=SELL, price=4800, shares=5), False),     # 6 of the 10 already offered
    ({"starting_cash_micro": 5 * S}, [], order(7, shares=11), True),    # 4.95 <= 5
    ({"starting_cash_micro": 5 * S}, [], order(7, shares=12), False),   # 5.40 > 5
    ({"starting_cash_micro": 5 * S}, [post(0, 1, UP, B, 4000, 10)], order(7, shares=5), False),
], ids=["sell-nothing", "sell-what-we-hold", "sell-what-is-offered", "buy-within-cash",
        "buy-beyond-cash", "buy-beyond-reserved"])
def test_balance(kw: dict[str, Any], pre: list[Step], po: PaperOrder, accepted: bool) -> None:
    ex = run(pre, **kw).ex
    [res] = ex.post([po], 10)
    assert res.accepted is accepted
    if not accepted:
        assert res.reason is RejectReason.BALANCE
        assert classify_reject(400, res.message) is RejectReason.BALANCE


def test_post_to_a_resolved_market_is_refused() -> None:
    ex = make_exchange()
    ex.resolve(CID, UP, 0)
    [res] = ex.post([order(1)], 1)
    assert (res.accepted, res.reason) == (False, RejectReason.TRADING_DISABLED)
    assert classify_reject(400, res.message) is RejectReason.TRADING_DISABLED


def test_tick_change_applies_to_later_orders() -> None:
    ex = make_exchange()
    ex.on_tick(make_tick_change(token_id=UP, old_tick_pips=100, new_tick_pips=10), 0)
    assert ex.post([order(1, price=4550)], 1)[0].accepted
    ex.on_tick(make_tick_change(token_id=UP, old_tick_pips=10, new_tick_pips=100), 2)
    assert ex.post([order(2, price=4550)], 3)[0].reason is RejectReason.TICK


# -- fills from prints -------------------------------------------------------------------------

# Our BUY of 10 Up at 0.45 (the Down view: SELL 10 Down at 0.55), joining a level of 0 or 6.
ALONE = [book(0, UP, bids=((4400, 10),), asks=((4700, 10),)), post(1, 1, UP, B, 4500, 10)]
BEHIND6 = [book(0, UP, bids=((4500, 6),), asks=((4700, 10),)), post(1, 1, UP, B, 4500, 10)]
BOTH6 = [book(0, UP, bids=((4500, 6),), asks=((4700, 10),)),
         book(0, DOWN, bids=((5300, 10),), asks=((5500, 6),)), post(1, 1, UP, B, 4500, 10)]


@pytest.mark.parametrize(("steps", "shares"), [
    ([*ALONE, trade(5, UP, SELL, 4500, 4)], 4),
    ([*ALONE, trade(5, UP, SELL, 4500, 20)], 10),                 # never more than our size
    ([*ALONE, trade(5, UP, SELL, 4600, 4)], 0),                   # worse than our price
    ([*ALONE, trade(5, UP, SELL, 4400, 5)], 5),                   # through our price
    ([*ALONE, trade(5, UP, B, 4500, 4)], 0),                      # at our price, taker on our side
    ([*ALONE, trade(5, UP, B, 4400, 4)], 4),                      # through, taker on our side
    ([*ALONE, trade(5, DOWN, B, 5500, 4)], 4),                    # the mirror: Up SELL at 0.45
    ([*ALONE, trade(5, DOWN, SELL, 5500, 4)], 0),                 # the mirror: Up BUY at 0.45
    ([*ALONE, trade(5, DOWN, B, 5600, 4)], 4),                    # mirror, through
    ([*ALONE, trade(5, DOWN, B, 5400, 4)], 0),                    # mirror, worse
    ([*ALONE, trade(5, TokenId("999"), SELL, 4500, 4)], 0),       # not our market
    ([*BEHIND6, trade(5, UP, SELL, 4500, 4)], 0),                 # 6 ahead of us
    ([*BEHIND6, trade(5, UP, SELL, 4500, 4), trade(2005, UP, SELL, 4500, 4)], 2),
    ([*BEHIND6, trade(5, UP, SELL, 4500, 10)], 4),
    ([*BEHIND6, trade(5, UP, SELL, 4400, 10)], 4),                # through: queue first too
    # A cancel ahead of us: the level shrinks below what stood ahead.
    ([*BEHIND6, level(5, UP, B, 4500, 2), trade(2005, UP, SELL, 4500, 4)], 2),
    # Size that joined behind us, then cancels: taken from behind first.
    ([*BEHIND6, level(5, UP, B, 4500, 10), level(6, UP, B, 4500, 6),
                trade(2005, UP, SELL, 4500, 6)], 0),
    ([*BEHIND6, level(5, UP, B, 4500, 10), level(6, UP, B, 4500, 4),
                trade(2005, UP, SELL, 4500, 6)], 2),
    # A print and its book echo, in either order, take the size once.
    ([*BEHIND6, level(5, UP, B, 4500, 2), trade(5, UP, SELL, 4500, 4)], 0),
    ([*BEHIND6, trade(5, UP, SELL, 4500, 4), level(5, UP, B, 4500, 2)], 0),
    ([*BEHIND6, level(5, UP, B, 4500, 2), trade(5, UP, SELL, 4500, 4),
                trade(3005, UP, SELL, 4500, 4)], 2),
    ([*BEHIND6, trade(5, UP, SELL, 4500, 4), level(5, UP, B, 4500, 2),
                trade(3005, UP, SELL, 4500, 4)], 2),
    # The echo as a whole new snapshot (the simulated venue sends books after a trade).
    ([*BEHIND6, book(5, UP, bids=((4500, 2),), asks=((4700, 10),)),
      trade(5, UP, SELL, 4500, 4)], 0),
    # As the simulated venue sends a trade: both books, then the print.
    ([*BOTH6, book(5, UP, bids=((4500, 2),), asks=((4700, 10),)),
              book(5, DOWN, bids=((5300, 10),), asks=((5500, 2),)),
              trade(5, UP, SELL, 4500, 4), trade(3005, UP, SELL, 4500, 4)], 2),
    # An echo on the Down book (mirror of the Up bid level).
    ([book(0, DOWN, bids=((5300, 10),), asks=((5500, 6),)), post(1, 1, UP, B, 4500, 10),
      level(5, DOWN, SELL, 5500, 2), trade(5, DOWN, B, 5500, 4)], 0),
    # A decrease further apart than the window is a cancel, not the print's echo.
    ([*BEHIND6, level(5, UP, B, 4500, 2), trade(5000, UP, SELL, 4500, 4)], 2),
    # One match reported on both tokens counts once.
    ([*ALONE, trade(5, UP, SELL, 4500, 4), trade(5, DOWN, B, 5500, 4)], 4),
    ([*ALONE, trade(5, UP, SELL, 4500, 4), trade(6, DOWN, B, 5500, 4)], 8),
    ([*ALONE, trade(5, UP, SELL, 4500, 4), trade(5, UP, SELL, 4500, 4)], 8),
], ids=["at-price", "capped-at-size", "worse", "through", "same-side-at-price",
        "same-side-through", "down-mirror", "down-mirror-same-side", "down-through",
        "down-worse", "other-market", "queue-ahead", "queue-then-us", "queue-in-one",
        "through-queue-first", "cancel-ahead", "cancel-behind", "cancel-behind-then-ahead",
        "echo-first", "print-first", "echo-first-then-print", "print-first-then-print",
        "echo-as-snapshot", "echo-as-both-snapshots", "echo-on-down-book", "echo-too-late",
        "same-match-both-tokens", "two-matches-both-tokens", "two-matches-one-token"])
def test_fills_from_prints(steps: list[Step], shares: int) -> None:
    r = run(steps)
    assert r.matched(1) == shares * S
    assert sum(s for _, s in r.fills(1)) == shares * S
    assert all(p == 4500 for p, _ in r.fills(1))  # a maker fills at its own price


@pytest.mark.parametrize(("steps", "expected"), [
    # Two of our orders at one level: the first arrived fills first.
    ([*ALONE, post(2, 2, UP, B, 4500, 10), trade(5, UP, SELL, 4500, 14)], {1: 10, 2: 4}),
    # Better price first, whatever the arrival order.
    ([*ALONE, post(2, 2, UP, B, 4600, 5), trade(5, UP, SELL, 4500, 8)], {1: 3, 2: 5}),
    # Public size at the better level is ahead of our worse order too.
    ([book(0, UP, bids=((4600, 4),), asks=((4800, 10),)), post(1, 1, UP, B, 4600, 5),
      post(1, 2, UP, B, 4500, 10), trade(5, UP, SELL, 4500, 12)], {1: 5, 2: 3}),
    # Our BUYs on both tokens (Up 0.45, Down 0.45 = Up SELL 0.55): a print reaches one side.
    ([*ALONE, post(2, 2, DOWN, B, 4500, 10), trade(5, UP, B, 5500, 3)], {1: 0, 2: 3}),
    ([*ALONE, post(2, 2, DOWN, B, 4500, 10), trade(5, DOWN, SELL, 4500, 3)], {1: 0, 2: 3}),
    ([*ALONE, post(2, 2, DOWN, B, 4500, 10), trade(5, DOWN, B, 4500, 3)], {1: 0, 2: 0}),
    ([*ALONE, post(2, 2, DOWN, B, 4500, 10), trade(5, UP, SELL, 5500, 3)], {1: 0, 2: 0}),
    ([*ALONE, post(2, 2, DOWN, B, 4500, 10), trade(5, UP, SELL, 5600, 3)], {1: 0, 2: 3}),
], ids=["time-priority", "price-priority", "public-at-better-level", "down-buy-by-up-print",
        "down-buy-hit-on-down", "down-buy-down-asks-lifted", "down-buy-up-sellers-at-price",
        "down-buy-up-sellers-through"])
def test_a_print_is_shared_in_priority(steps: list[Step], expected: dict[int, int]) -> None:
    r = run(steps)
    assert {n: r.matched(n) for n in expected} == {n: s * S for n, s in expected.items()}


# -- fills from a crossing book ----------------------------------------------------------------

@pytest.mark.parametrize(("steps", "shares"), [
    ([*ALONE, book(5, UP, bids=((4400, 10),), asks=((4400, 4),))], 4),
    ([*ALONE, book(5, UP, bids=((4300, 10),), asks=((4400, 4), (4300, 3)))], 7),
    ([*ALONE, book(5, UP, asks=((4400, 40),))], 10),                   # capped at our size
    ([*ALONE, book(5, UP, bids=((4400, 10),), asks=((4500, 4),))], 0),  # at our price: not through
    ([*ALONE, level(5, UP, SELL, 4400, 4)], 4),                          # a price_change too
    ([*ALONE, book(5, DOWN, bids=((5600, 4),))], 4),                     # the Down mirror
    ([*ALONE, book(5, DOWN, bids=((5500, 4),))], 0),
    # Both books show the same liquidity: it fills once.
    ([*ALONE, book(5, UP, asks=((4400, 4),)), book(6, DOWN, bids=((5600, 4),))], 4),
    # Liquidity we used stays used while the level shows it...
    ([*ALONE, level(5, UP, SELL, 4400, 4), level(6, UP, SELL, 4400, 4)], 4),
    # ...more of it fills the rest...
    ([*ALONE, level(5, UP, SELL, 4400, 4), level(6, UP, SELL, 4400, 7)], 7),
    # ...and once the level shrinks below what we used, what comes back is new.
    ([*ALONE, level(5, UP, SELL, 4400, 4), level(6, UP, SELL, 4400, 2),
              level(7, UP, SELL, 4400, 5)], 7),
    # A print of the liquidity we already used fills nothing more (print or echo first).
    ([*ALONE, level(5, UP, SELL, 4400, 4), trade(10, UP, B, 4400, 4),
              level(10, UP, SELL, 4400, 0)], 4),
    ([*ALONE, level(5, UP, SELL, 4400, 4), level(10, UP, SELL, 4400, 0),
              trade(10, UP, B, 4400, 4)], 4),
], ids=["through", "two-levels", "capped", "at-price", "price-change", "down-mirror",
        "down-at-price", "both-books-once", "used-stays-used", "more-liquidity", "shrink-regrow",
        "print-of-used-liquidity", "echo-of-used-liquidity"])
def test_fills_from_a_crossing_book(steps: list[Step], shares: int) -> None:
    r = run(steps)
    assert r.matched(1) == shares * S
    assert all(p == 4500 for p, _ in r.fills(1))


def test_a_crossing_book_fills_our_orders_in_priority() -> None:
    r = run([*ALONE, post(2, 2, UP, B, 4500, 5), post(3, 3, UP, B, 4600, 5),
                     level(5, UP, SELL, 4400, 12)])
    assert (r.matched(3), r.matched(1), r.matched(2)) == (5 * S, 7 * S, 0)
    [ev] = [e for e in r.events if isinstance(e, TradeEvent) and e.status is
            TradeStatus.MATCHED and e.maker_fills[0].order_id == h(3)]
    # The taker we never saw: our token's other side, at our price.
    assert (ev.token_id, ev.side, ev.price_pips, ev.trader_side) == (UP, SELL, 4600, "MAKER")


# -- taking ------------------------------------------------------------------------------------

def test_a_crossing_order_that_may_take_takes_then_rests() -> None:
    steps = [book(0, UP, bids=((4300, 10),), asks=((4500, 4), (4600, 3), (4700, 50))),
             book(0, DOWN, bids=((5500, 2),)),  # the mirror of the Up ask at 0.45, as on the venue
             post(1, 1, UP, B, 4600, 10, post_only=False)]
    r = run(steps)
    taken = [(e.price_pips, e.size_micro, e.trader_side, e.owner) for e in r.events
             if isinstance(e, TradeEvent) and e.status is TradeStatus.MATCHED]
    assert taken == [(4500, 4 * S, "TAKER", OWNER), (4600, 3 * S, "TAKER", OWNER)]
    fee = taker_fee_micro(4500, 4 * S, CRYPTO) + taker_fee_micro(4600, 3 * S, CRYPTO)
    acc = r.ex.account()
    assert (acc.fees_micro, acc.taker_volume_micro, acc.maker_volume_micro) == (fee, 7 * S, 0)
    assert acc.cash_micro == -(4 * 4500 + 3 * 4600) * S // 10_000 - fee
    placement = [e for e in r.events if isinstance(e, OrderEvent)]
    assert [(e.type, e.size_matched_micro) for e in placement] == [
        (OrderEventType.PLACEMENT, 7 * S)]
    assert [(o.order_id, o.size_matched_micro) for o in r.ex.open_orders()] == [(h(1), 7 * S)]


def test_a_taker_that_fills_in_full_does_not_rest() -> None:
    r = run([book(0, UP, asks=((4500, 20),)), post(1, 1, UP, B, 4500, 10, post_only=False)])
    assert r.ex.open_orders() == []
    assert r.ex.positions_micro() == {UP: 10 * S}
    assert r.types(1) == []  # like the venue: a taker's fill comes as its trade


# -- latency -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("steps", "shares", "types"), [
    # Not in the book before it arrives at t=101.
    ([book(0, UP, bids=((4400, 10),)), post(1, 1, UP, B, 4500, 10), trade(50, UP, SELL, 4500, 4),
      trade(101, UP, SELL, 4500, 4)], 4, ["PLACEMENT", "UPDATE"]),
    # Its queue is the level as it stands on arrival, not as it stood when posted.
    ([book(0, UP, bids=((4400, 10),)), post(1, 1, UP, B, 4500, 10), level(50, UP, B, 4500, 6),
      trade(200, UP, SELL, 4500, 4)], 0, ["PLACEMENT"]),
    # A cancel in flight: fills until it lands at t=300.
    ([book(0, UP, bids=((4400, 10),)), post(1, 1, UP, B, 4500, 10), cancel(200, 1),
      trade(250, UP, SELL, 4500, 4), trade(350, UP, SELL, 4500, 4)], 4,
     ["PLACEMENT", "UPDATE", "CANCELLATION"]),
    # Crossing by the time it arrives: refused then, as a cancellation.
    ([book(0, UP, asks=((4700, 10),)), post(1, 1, UP, B, 4500, 10), level(50, UP, SELL, 4500, 3),
      advance(200)], 0, ["CANCELLATION"]),
    # Canceled before it arrived: never rests.
    # A cancel sent before the order arrived lands after it (same latency): then it is gone.
    ([book(0, UP, bids=((4400, 10),)), post(1, 1, UP, B, 4500, 10), cancel(50, 1),
      trade(160, UP, SELL, 4500, 4), advance(200)], 0, ["PLACEMENT", "CANCELLATION"]),
], ids=["arrives-later", "queue-on-arrival", "cancel-in-flight", "crossed-on-arrival",
        "canceled-while-in-flight"])
def test_latency(steps: list[Step], shares: int, types: list[str]) -> None:
    r = run(steps, latency_ms=100)
    assert r.matched(1) == shares * S
    assert r.types(1) == types


def test_arrival_times_and_refusals_on_arrival() -> None:
    r = run([book(0, UP, asks=((4700, 10),)), post(1, 1, UP, B, 4500, 10),
             post(2, 2, UP, B, 4400, 10), level(50, UP, SELL, 4500, 3), advance(100),
             advance(102)], latency_ms=100)
    stamps = [(e.order_id, e.type.value, e.ts_event_ms) for e in r.events
              if isinstance(e, OrderEvent)]
    assert stamps == [(h(1), "CANCELLATION", 101), (h(2), "PLACEMENT", 102)]
    assert r.ex.refused_on_arrival == {"post_only_cross": 1}


def test_what_falls_due_applies_before_the_message_of_that_time() -> None:
    r = run([book(0, UP, bids=((4400, 10),)), post(1, 1, UP, B, 4500, 10),
             trade(101, UP, SELL, 4500, 4)], latency_ms=100)
    assert r.matched(1) == 4 * S


# -- cancels and open orders -------------------------------------------------------------------

def test_cancel_replies() -> None:
    # 1 fills first (better price), then 2 after the 10 public shares ahead of it at 0.44.
    ex = run([*ALONE, post(2, 2, UP, B, 4400, 10), trade(3, UP, SELL, 4400, 30)]).ex
    assert ex.matched_micro(h(1)) is None
    upper = h(2).upper().replace("0X", "0x")
    canceled, not_canceled = ex.cancel([upper, h(1), h(9), h(9)], 4)
    assert canceled == []
    assert not_canceled == {h(1): NOT_CANCELED, h(2): NOT_CANCELED, h(9): NOT_CANCELED}
    assert ex.ignored_by == {"cancel_unknown": 3}
    assert gone_at_venue(NOT_CANCELED)  # the tracker reads it as "gone either way"


def test_cancel_twice_cancels_once() -> None:
    r = run(ALONE)
    assert r.ex.cancel([h(1), h(1).upper().replace("0X", "0x")], 2) == ([h(1)], {})
    assert r.ex.cancel([h(1)], 3) == ([h(1)], {})  # still in flight: accepted again
    r.events += r.ex.advance(3)
    assert r.types(1) == ["PLACEMENT", "CANCELLATION"]
    assert r.ex.cancel([h(1)], 4) == ([], {h(1): NOT_CANCELED})


def test_cancel_all_and_open_orders() -> None:
    r = run([*ALONE, post(2, 2, DOWN, B, 4000, 10), advance(15), trade(16, UP, SELL, 4500, 4)],
            latency_ms=10)
    ex = r.ex
    ex.post([order(3, price=4000)], 20)  # in flight: not yet open at the venue
    assert [(o.order_id, o.token_id, o.size_matched_micro, o.status) for o in ex.open_orders()
            ] == [(h(1), UP, 4 * S, "LIVE"), (h(2), DOWN, 0, "LIVE")]
    assert sorted(ex.cancel_all(21)) == [h(1), h(2), h(3)]
    assert len(ex.open_orders()) == 2  # until the cancels land
    events = ex.advance(31)
    assert ex.open_orders() == []
    # The one in flight arrives (t=30) before its cancel lands (t=31).
    assert [(e.order_id, e.type.value) for e in events if isinstance(e, OrderEvent)] == [
        (h(3), "PLACEMENT"), (h(1), "CANCELLATION"), (h(2), "CANCELLATION"),
        (h(3), "CANCELLATION")]


# -- resolution, fees and PnL ------------------------------------------------------------------

BOUGHT = [*ALONE, post(2, 2, DOWN, B, 5000, 10), trade(3, UP, SELL, 4500, 10),
                  trade(4, DOWN, SELL, 5000, 4)]  # 10 Up at 0.45, 4 Down at 0.50


@pytest.mark.parametrize(("winner", "payout", "pnl"), [
    (UP, 10 * S, 10 * S - 4_500_000 - 2_000_000),
    (DOWN, 4 * S, 4 * S - 4_500_000 - 2_000_000),
])
def test_resolution_settles_at_one_or_zero(winner: TokenId, payout: int, pnl: int) -> None:
    ex = run(BOUGHT).ex
    s = ex.resolve(CID, winner, 10)
    assert isinstance(s, Settlement)
    assert (s.payout_micro, dict(s.settled_micro)) == (payout, {UP: 10 * S, DOWN: 4 * S})
    assert [(e.order_id, e.type.value, e.size_matched_micro) for e in s.events
            if isinstance(e, OrderEvent)] == [(h(2), "CANCELLATION", 4 * S)]
    assert ex.positions_micro() == {}
    assert ex.pnl_micro() == (pnl, 0)
    acc = ex.account(CID)
    assert (acc.payout_micro, acc.fees_micro, acc.fills) == (payout, 0, 2)
    assert ex.open_orders() == []


def test_resolution_via_the_market_channel_and_twice() -> None:
    ex = run(BOUGHT).ex
    assert ex.on_resolved(make_resolved(winning_token_id=DOWN), 10).payout_micro == 4 * S
    assert ex.resolve(CID, UP, 11).payout_micro == 0
    assert ex.ignored_by == {"bad_resolution": 1}


def test_an_order_in_flight_at_resolution_is_refused_on_arrival() -> None:
    r = run(ALONE, latency_ms=10)
    r.ex.post([order(2, price=4000)], 5)
    s = r.ex.resolve(CID, UP, 11)
    assert [(e.order_id, e.type.value) for e in s.events if isinstance(e, OrderEvent)] == [
        (h(1), "PLACEMENT"), (h(1), "CANCELLATION")]
    assert [e.type.value for e in r.ex.advance(15) if isinstance(e, OrderEvent)] == [
        "CANCELLATION"]
    assert r.ex.refused_on_arrival == {"trading_disabled": 1}


@pytest.mark.parametrize(("final", "strike", "winner"), [
    (100_01, 100_00, UP), (100_00, 100_00, UP), (99_99, 100_00, DOWN)])
def test_winner_from_reference(final: int, strike: int, winner: TokenId) -> None:
    assert winner_from_reference((UP, DOWN), final, strike) == winner


def test_pnl_marks_open_positions_and_counts_the_unmarked() -> None:
    ex = run(BOUGHT).ex
    cash = -4_500_000 - 2_000_000
    assert ex.pnl_micro() == (cash, 2)
    assert ex.pnl_micro({UP: 5000}) == (cash + 5 * S, 1)
    assert ex.pnl_micro({UP: 5000, DOWN: 5000}) == (cash + 7 * S, 0)


def test_makers_pay_no_fee_and_earn_an_estimated_rebate() -> None:
    ex = run(BOUGHT).ex
    acc = ex.account()
    fee_like = taker_fee_micro(4500, 10 * S, CRYPTO) + taker_fee_micro(5000, 4 * S, CRYPTO)
    assert (acc.fees_micro, acc.maker_volume_micro) == (0, 14 * S)
    assert acc.fee_equivalent_micro == fee_like == 173_250 + 70_000
    assert acc.rebate_estimate_micro == fee_like * 2000 // 10_000
    assert run(BOUGHT, fees=FeeSchedule()).ex.account().rebate_estimate_micro == 0


# -- the same events as live -------------------------------------------------------------------

class Bot:
    """What the bot keeps of our orders: a real OrderTracker and a real Positions (the
    State's ledger), fed the exchange's replies and events as the OrderManager feeds them."""

    def __init__(self, ex: PaperExchange) -> None:
        self.ex = ex
        self.tracker = OrderTracker(owner=OWNER, resolve_timeout_ms=10_000)
        self.positions = Positions(OWNER)
        self.strays: list[str] = []

    def post(self, now_ms: int, *orders: PaperOrder) -> None:
        for po in orders:
            self.tracker.add_pending(po.order_id, DesiredQuote(
                condition_id=po.condition_id, token_id=po.token_id, side=po.side,
                price_pips=po.price_pips, size_micro=po.size_micro), now_ms)
        for res in self.ex.post(list(orders), now_ms):
            if res.accepted:
                self.tracker.post_accepted(res.order_id, res.status, now_ms)
            else:
                self.tracker.post_rejected(res.order_id, res.message, duplicate=False,
                                           now_ms=now_ms)

    def cancel(self, now_ms: int, *ns: int) -> None:
        ids = [h(n) for n in ns]
        self.tracker.cancel_sent(ids, now_ms)
        canceled, not_canceled = self.ex.cancel(ids, now_ms)
        self.tracker.cancel_reply(canceled, not_canceled, now_ms)

    def feed(self, events: list[PaperEvent] | tuple[PaperEvent, ...], now_ms: int) -> None:
        for ev in events:
            if isinstance(ev, OrderEvent):
                _, stray = self.tracker.on_order_event(ev, now_ms)
                if stray:
                    self.strays.append(ev.order_id)
            else:
                self.tracker.on_trade_event(ev, now_ms)
                self.positions.apply(ev)

    def state(self, n: int) -> tuple[OrderState, int] | str:
        o = self.tracker.get(h(n))
        return "finished" if o is None else (o.state, o.matched_micro)


def test_the_tracker_and_the_ledger_read_paper_events_as_live_ones() -> None:
    ex = make_exchange(latency_ms=50, confirm_ms=200, check_sell_balance=True)
    bot = Bot(ex)
    t = 0
    bot.feed(ex.on_book(snapshot(t, UP, bids=((4400, 10),), asks=((4700, 10), (4800, 50))), t), t)
    bot.post(10, order(1, price=4500), order(2, token=DOWN, price=5000),
             order(3, price=4700, post_only=False), order(4, price=4000, shares=5),
             order(5, price=4550), order(6, side=SELL, price=5000))
    assert bot.state(5) == bot.state(6) == "finished"  # refused: off tick, nothing to sell
    assert bot.state(1) == (OrderState.LIVE, 0)  # accepted; resting only from t=60
    bot.feed(ex.advance(60), 60)
    assert bot.state(3) == "finished"  # took 10 at 0.47 on arrival: FILLED
    assert bot.positions.position_micro(UP) == 10 * S
    bot.feed(ex.on_trade(make_last_trade(token_id=UP, side=SELL, price_pips=4500,
                                         size_micro=4 * S, ts_event_ms=70), 70), 70)
    assert bot.state(1) == (OrderState.PARTIAL, 4 * S) == (OrderState.PARTIAL,
                                                            ex.matched_micro(h(1)))
    bot.feed(ex.on_trade(make_last_trade(token_id=DOWN, side=SELL, price_pips=5000,
                                         size_micro=12 * S, ts_event_ms=80), 80), 80)
    assert bot.state(2) == "finished"
    assert bot.tracker.is_finished(h(2))
    bot.feed(ex.on_book(make_change(make_level(token_id=UP, side=SELL, price_pips=4400,
                                               size_micro=3 * S), ts_event_ms=90), 90), 90)
    assert bot.state(1) == (OrderState.PARTIAL, 7 * S)
    bot.cancel(100, 1, 4, 2)
    bot.feed(ex.on_trade(make_last_trade(token_id=UP, side=SELL, price_pips=4400,
                                         size_micro=1 * S, ts_event_ms=120), 120), 120)
    assert ex.matched_micro(h(1)) == 8 * S  # a fill while the cancel was in flight
    bot.feed(ex.advance(500), 500)
    assert bot.tracker.orders() == [] and bot.strays == []
    assert ex.open_orders() == []

    expected = {UP: 18 * S, DOWN: 10 * S}
    assert ex.positions_micro() == expected
    assert {k: v for k, v in bot.tracker.positions().items() if v} == expected
    assert bot.positions.positions_micro() == expected
    # Every fill is confirmed by now; cash agrees but for the fee the taker paid.
    assert {t: bot.positions.confirmed_micro(t) for t in expected} == expected
    acc = ex.account()
    assert acc.fees_micro == taker_fee_micro(4700, 10 * S, CRYPTO) > 0
    assert bot.positions.cash_micro() - acc.fees_micro == acc.cash_micro
    assert bot.positions.fills == acc.fills == 5
    assert bot.tracker.unknown_orders == bot.tracker.duplicates_reported == 0


def test_event_shapes() -> None:
    r = run([*ALONE, trade(5, DOWN, B, 5500, 4)], confirm_ms=100)
    place, update = (e for e in r.events if isinstance(e, OrderEvent))
    assert (place.type, place.status, place.owner, place.ts_event_ms, place.ts_recv_ns) == (
        OrderEventType.PLACEMENT, "LIVE", OWNER, 1, 1_000_000)
    assert (update.type, update.status, update.size_matched_micro, update.ts_event_ms) == (
        OrderEventType.UPDATE, "LIVE", 4 * S, 5)
    [matched] = [e for e in r.events if isinstance(e, TradeEvent)]
    # The top level is the print's taker (on Down), our fill is a maker fill on Up.
    assert (matched.status, matched.token_id, matched.side, matched.price_pips,
            matched.size_micro, matched.trader_side, matched.owner) == (
        TradeStatus.MATCHED, DOWN, B, 5500, 4 * S, "MAKER", OWNER)
    [fill] = matched.maker_fills
    assert (fill.order_id, fill.owner, fill.token_id, fill.side, fill.price_pips,
            fill.matched_size_micro) == (h(1), OWNER, UP, B, 4500, 4 * S)
    assert r.ex.advance(104) == []
    [done] = r.ex.advance(105)
    assert isinstance(done, TradeEvent)
    assert (done.trade_id, done.status, done.ts_event_ms) == (
        matched.trade_id, TradeStatus.CONFIRMED, 105)
    last = run([*ALONE, trade(5, UP, SELL, 4500, 10)])
    assert [e.status for e in last.events if isinstance(e, OrderEvent)][-1] == "MATCHED"


# -- bad input, determinism --------------------------------------------------------------------

@pytest.mark.parametrize(("feed", "why"), [
    (lambda ex: ex.on_trade(make_last_trade(token_id=TokenId("999")), 5), "unknown_token"),
    (lambda ex: ex.on_trade(make_last_trade(token_id=UP, size_micro=0), 5), "bad_trade"),
    (lambda ex: ex.on_trade(make_last_trade(token_id=UP, price_pips=10_000), 5), "bad_trade"),
    (lambda ex: ex.on_book(make_snapshot(token_id=TokenId("999")), 5), "unknown_token"),
    (lambda ex: ex.on_book(make_change(make_level(), condition_id="0x" + "cd" * 32), 5),
     "unknown_market"),
    (lambda ex: ex.on_book(make_change(make_level(token_id=TokenId("999"))), 5),
     "unknown_token"),
    (lambda ex: ex.on_book(make_snapshot(token_id=UP, ts_event_ms=-5), 5), "stale_book"),
    (lambda ex: ex.on_book(make_change(make_level(token_id=UP), ts_event_ms=-5), 5),
     "stale_book"),
    (lambda ex: ex.on_tick(make_tick_change(token_id=TokenId("999")), 5), "unknown_token"),
    (lambda ex: ex.cancel(["0xnope"], 5), "cancel_unknown"),
    (lambda ex: ex.resolve(CID, TokenId("999"), 5), "bad_resolution"),
    (lambda ex: ex.resolve("0x" + "cd" * 32, UP, 5), "bad_resolution"),
], ids=["trade-unknown-token", "trade-size-zero", "trade-price-one", "book-unknown-token",
        "change-unknown-market", "change-unknown-token", "stale-snapshot", "stale-change",
        "tick-unknown-token", "cancel-unknown", "resolve-unknown-winner",
        "resolve-unknown-market"])
def test_bad_input_is_counted_never_raised(feed: Any, why: str) -> None:
    ex = run([book(0, UP, bids=((4400, 10),))]).ex
    feed(ex)
    assert ex.ignored_by == {why: 1}
    assert ex.ignored == 1


SESSION = [book(0, UP, bids=((4400, 10), (4500, 3)), asks=((4700, 10),)),
           book(0, DOWN, bids=((5300, 10),), asks=((5500, 3),)),
           post(1, 1, UP, B, 4500, 10), post(2, 2, DOWN, B, 5200, 10), trade(5, UP, SELL, 4500, 5),
           level(6, UP, B, 4500, 0), trade(7, DOWN, SELL, 5200, 6), cancel(8, 2),
           level(9, UP, SELL, 4400, 2), advance(500)]


def test_deterministic() -> None:
    a, b = run(SESSION, latency_ms=3, confirm_ms=50), run(SESSION, latency_ms=3, confirm_ms=50)
    assert a.events == b.events and len(a.events) > 8
    assert a.ex.account() == b.ex.account()
    assert a.ex.positions_micro() == b.ex.positions_micro()


def test_book_messages_we_do_not_trade_on_are_harmless() -> None:
    ex = make_exchange()
    assert ex.on_book(snapshot(0, UP, bids=((4400, 10),), asks=()), 0) == []
    assert ex.on_book(BookChange(condition_id=CID, changes=(), ts_event_ms=1, ts_recv_ns=1),
                      1) == []
    assert ex.on_trade(LastTrade(token_id=UP, condition_id=CID, price_pips=4400, size_micro=S,
                                 side=SELL, fee_rate_bps=0, ts_event_ms=2, ts_recv_ns=2),
                       2) == []
    assert ex.ignored == 0


def test_set_market_from_discovery() -> None:
    ex = PaperExchange(owner=OWNER)
    ex.set_market_from(make_market(tick_pips=10, min_size_micro=S, taker_fee_rate_bps=700,
                                   maker_rebate_bps=2000))
    assert ex.post([order(1, price=4510, shares=1)], 0)[0].accepted
    ex.on_book(snapshot(1, UP, bids=(), asks=((4400, 1),)), 1)
    assert ex.account().fee_equivalent_micro == taker_fee_micro(4510, S, CRYPTO)
    assert ex.account().rebate_estimate_micro == taker_fee_micro(4510, S, CRYPTO) // 5


def test_ticks_known_to_the_exchange() -> None:
    ex = make_exchange()
    assert (ex.tick_pips(UP), ex.tick_pips(TokenId("999"))) == (100, None)
    ex.on_book(make_snapshot(token_id=DOWN, tick_pips=10, min_size_micro=S, ts_event_ms=1), 1)
    assert ex.tick_pips(UP) == 10  # one tick per market, as the venue keeps it
    assert ex.post([order(1, price=4510, shares=1)], 2)[0].accepted
