"""The paper exchange: the venue's rules, latency, cancels, fees, resolution, and bad input.

Most rules are tables of scenarios in the language of ``tests/paper_scenarios.py``; the fills
(from prints, from a crossing book, taking) and the events the tracker and the ledger read are
in ``tests/test_paper_fills.py``. Pure code: no actor, no thread, no clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from messages import (
    BookChange,
    LastTrade,
    OrderEvent,
    RejectReason,
    TokenId,
)
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
from tests.paper_scenarios import (
    ALONE,
    CRYPTO,
    OID,
    SELL,
    TOP,
    B,
    S,
    Step,
    advance,
    book,
    cancel,
    h,
    level,
    make_exchange,
    order,
    post,
    run,
    snapshot,
    trade,
)
from trading.fees import FeeSchedule, maker_rebate_estimate_micro, taker_fee_micro
from trading.order_records import gone_at_venue
from trading.paper_exchange import (
    PaperExchange,
    PaperOrder,
    Settlement,
    winner_from_reference,
)
from trading.paper_rules import NOT_CANCELED, decimal_str
from venue.rest_errors import classify_reject

# -- fees --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("price", "size", "schedule", "fee"), [
    (5000, 100 * S, CRYPTO, 1_750_000),           # the protocol's max: 1.75 per 100 at 0.5
    (5000, 1 * S, CRYPTO, 17_500),
    (4600, 10 * S, CRYPTO, 173_880),              # 10 x 0.07 x 0.46 x 0.54 = 0.17388
    (100, 1 * S, CRYPTO, 690),                    # 0.000693 rounds to 5 decimals: 0.00069
    (9900, 1 * S, CRYPTO, 690),                   # symmetric in p and 1 - p
    (5000, 20_300, CRYPTO, 360),                  # 355.25 micro rounds up to 360
    (5000, 20_200, CRYPTO, 350),                  # 353.5 micro rounds down to 350
    (5000, 1, CRYPTO, 0),                         # under half of 0.00001: rounds to 0
    (5000, 290, CRYPTO, 10),                      # 5.075 micro rounds up to 0.00001
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
