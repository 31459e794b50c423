"""The paper exchange's fills: from prints (queue position), from a crossing book, taking, and
the events the tracker and the ledger read as live ones.

Scenarios in the language of ``tests/paper_scenarios.py``. Pure code: no actor, no thread, no
clock.
"""

from __future__ import annotations

import pytest

from messages import (
    OrderEvent,
    OrderEventType,
    TokenId,
    TradeEvent,
    TradeStatus,
)
from messages.quotes import DesiredQuote
from tests.builders import (
    DOWN,
    OWNER,
    UP,
    make_change,
    make_last_trade,
    make_level,
)
from tests.paper_scenarios import (
    ALONE,
    CRYPTO,
    SELL,
    B,
    S,
    Step,
    book,
    h,
    level,
    make_exchange,
    order,
    post,
    run,
    snapshot,
    trade,
)
from trading.fees import taker_fee_micro
from trading.order_records import OrderState
from trading.order_tracker import OrderTracker
from trading.paper_exchange import (
    PaperEvent,
    PaperExchange,
    PaperOrder,
)
from trading.positions import Positions

# -- fills from prints -------------------------------------------------------------------------

# Our BUY of 10 Up at 0.45 (the Down view: SELL 10 Down at 0.55), joining a level of 0 or 6.
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
