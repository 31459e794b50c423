"""One ledger, one set of fill rules: the Quoter's inventory and the risk check's agree.

The State's model (inventory skew) and the OrderManager's tracker (the risk check's positions
and their cost) are fed the same trade events; after every event both must report the same
position on every token. The sequences are the ones on which two sets of rules once differed.
"""

from __future__ import annotations

import pytest

from messages import OrderHash, Side, TradeId, TradeStatus
from messages.user import TradeEvent
from tests.builders import DOWN, OTHER, OWNER, UP, make_maker_fill, make_trade
from trading.order_tracker import OrderTracker
from trading.risk import Exposure
from trading.state import StateModel

MATCHED, MINED, CONFIRMED, FAILED = (TradeStatus.MATCHED, TradeStatus.MINED,
                                     TradeStatus.CONFIRMED, TradeStatus.FAILED)
OURS = OrderHash("0x" + "33" * 32)


def maker(trade: str, status: TradeStatus, size: int = 10_000_000, token: str = UP,
          price: int = 4900) -> TradeEvent:
    return make_trade(trade_id=TradeId(trade), status=status, maker_fills=(
        make_maker_fill(token_id=token, matched_size_micro=size, price_pips=price),))


def taker(trade: str, status: TradeStatus, trader_side: str = "TAKER",
          size: int = 5_000_000) -> TradeEvent:
    """We took: a BUY of Down at 0.40 against someone else's resting order."""
    return make_trade(trade_id=TradeId(trade), status=status, trader_side=trader_side,
                      owner=OWNER, token_id=DOWN, side=Side.BUY, price_pips=4000,
                      size_micro=size, taker_order_id=OURS,
                      maker_fills=(make_maker_fill(owner=OTHER, token_id=DOWN,
                                                   side=Side.SELL, price_pips=4000,
                                                   matched_size_micro=size),))


SEQUENCES = {
    "matched_then_confirmed": [maker("a", MATCHED), maker("a", MINED), maker("a", CONFIRMED)],
    "failed_seen_before_matched": [maker("b", FAILED), maker("b", MATCHED),
                                   maker("b", CONFIRMED)],
    "matched_then_failed": [maker("c", MATCHED), maker("c", FAILED), maker("c", MATCHED)],
    "confirmed_without_matched": [maker("d", CONFIRMED), maker("d", MATCHED)],
    "taker_side_lower_case": [taker("e", MATCHED, trader_side="taker"),
                              taker("e", CONFIRMED, trader_side="taker")],
    "taker_then_failed": [taker("f", MATCHED), taker("f", FAILED)],
    "both_tokens": [maker("g", MATCHED, token=UP), maker("h", MATCHED, token=DOWN, price=4800),
                    maker("h", FAILED)],
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_state_and_tracker_see_the_same_inventory(name: str) -> None:
    model = StateModel(owner=OWNER)
    tracker = OrderTracker(owner=OWNER, resolve_timeout_ms=10_000)
    for i, ev in enumerate(SEQUENCES[name]):
        model.apply(ev)
        tracker.on_trade_event(ev, i)
        for token in (UP, DOWN):
            assert model.positions.position_micro(token) == \
                tracker.positions().get(token, 0), (name, i, token)
        assert model.positions.fills == tracker.fills


EXPECTED = {  # (Up, Down) after each whole sequence, in micro-shares
    "matched_then_confirmed": (10_000_000, 0),
    "failed_seen_before_matched": (0, 0),
    "matched_then_failed": (0, 0),
    "confirmed_without_matched": (10_000_000, 0),
    "taker_side_lower_case": (0, 5_000_000),
    "taker_then_failed": (0, 0),
    "both_tokens": (10_000_000, 0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_rules_themselves(name: str) -> None:
    tracker = OrderTracker(owner=OWNER, resolve_timeout_ms=10_000)
    for i, ev in enumerate(SEQUENCES[name]):
        tracker.on_trade_event(ev, i)
    pos = tracker.positions()
    assert (pos.get(UP, 0), pos.get(DOWN, 0)) == EXPECTED[name]


def test_trades_before_any_market_set_still_count_for_the_quoter() -> None:
    """Start-up trades (read back from REST) reach the State before Discovery's first set."""
    model = StateModel(owner=OWNER)
    model.apply(maker("s", CONFIRMED))
    assert model.positions.position_micro(UP) == 10_000_000


def test_position_cost_counts_against_the_notional_limit() -> None:
    """10 Up bought at 0.49 and 5 Down at 0.40: 4.90 + 2.00 pUSD at risk before any order."""
    tracker = OrderTracker(owner=OWNER, resolve_timeout_ms=10_000)
    tracker.on_trade_event(maker("x", MATCHED), 0)
    tracker.on_trade_event(taker("y", MATCHED), 1)
    assert tracker.position_cost_micro() == 6_900_000
    exposure = Exposure.build(tracker.positions(), [], [], tracker.position_cost_micro())
    assert exposure.notional_micro == 6_900_000
    tracker.on_trade_event(taker("y", FAILED), 2)
    assert tracker.position_cost_micro() == 4_900_000
