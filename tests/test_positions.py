"""Positions from trade events: lifecycle, idempotence, maker vs taker, cash and PnL."""

from __future__ import annotations

import pytest

from messages import PositionsMerged, PositionsRedeemed, Side, TradeId, TradeStatus
from tests.builders import CID, DOWN, OTHER, OWNER, UP, make_maker_fill, make_trade
from trading.fees import FeeSchedule, taker_fee_micro
from trading.positions import Positions

M, MI, C, R, F = (TradeStatus.MATCHED, TradeStatus.MINED, TradeStatus.CONFIRMED,
                  TradeStatus.RETRYING, TradeStatus.FAILED)
TEN = 10_000_000


# (status sequence, expected (confirmed, provisional) after each step)
@pytest.mark.parametrize("statuses, after", [
    ([M, MI, C], [(0, TEN), (0, TEN), (TEN, 0)]),
    ([M, F], [(0, TEN), (0, 0)]),
    ([M, R, F], [(0, TEN), (0, TEN), (0, 0)]),
    ([M, R, MI, C], [(0, TEN), (0, TEN), (0, TEN), (TEN, 0)]),
    ([M, M, MI, MI, C, C], [(0, TEN), (0, TEN), (0, TEN), (0, TEN), (TEN, 0), (TEN, 0)]),
    ([C], [(TEN, 0)]),                       # CONFIRMED without a prior MATCHED
    ([C, M, F], [(TEN, 0), (TEN, 0), (TEN, 0)]),   # terminal: later statuses change nothing
    ([F], [(0, 0)]),                         # FAILED without a prior MATCHED
    ([F, M, C], [(0, 0), (0, 0), (0, 0)]),   # a late MATCHED after FAILED is not counted
    ([M, F, F, C], [(0, TEN), (0, 0), (0, 0), (0, 0)]),
])
def test_lifecycle(statuses, after):
    pos = Positions(OWNER)
    for status, (confirmed, provisional) in zip(statuses, after, strict=True):
        pos.apply(make_trade(status=status))
        assert (pos.confirmed_micro(UP), pos.provisional_micro(UP)) == (confirmed, provisional)
        assert pos.position_micro(UP) == confirmed + provisional


def test_failed_reverts_cash_and_fill_count():
    pos = Positions(OWNER)
    assert pos.apply(make_trade(status=M)).tokens == (UP,)
    assert pos.fills == 1
    assert pos.cash_micro(UP) == -4_900_000          # 10 shares at 0.49
    assert pos.avg_buy_pips(UP) == 4900
    assert pos.apply(make_trade(status=F)).tokens == (UP,)
    assert pos.fills == 0 and pos.failed == 1
    assert pos.cash_micro(UP) == 0
    assert pos.avg_buy_pips(UP) is None


def test_repeats_report_no_change():
    pos = Positions(OWNER)
    assert pos.apply(make_trade(status=M)).tokens == (UP,)
    assert pos.apply(make_trade(status=M)).tokens == ()
    assert pos.apply(make_trade(status=MI)).tokens == ()
    assert pos.apply(make_trade(status=C)).tokens == (UP,)
    assert pos.apply(make_trade(status=C)).tokens == ()
    assert pos.fills == 1


@pytest.mark.parametrize("trade, expected", [
    # maker: our maker fill counts, the taker top level does not
    (dict(), {UP: TEN}),
    # another owner's maker fill is ignored
    (dict(maker_fills=(make_maker_fill(owner=OTHER),)), {}),
    # several maker fills, ours and others', on both tokens
    (dict(maker_fills=(make_maker_fill(), make_maker_fill(owner=OTHER),
                       make_maker_fill(token_id=DOWN, side=Side.SELL, price_pips=5100,
                                       matched_size_micro=3_000_000))),
     {UP: TEN, DOWN: -3_000_000}),
    # taker: the top level is ours (a BUY of 10 Down), the makers are others'
    (dict(trader_side="TAKER", token_id=DOWN, side=Side.BUY, price_pips=5200,
          maker_fills=(make_maker_fill(owner=OTHER, token_id=DOWN, side=Side.SELL),)),
     {DOWN: TEN}),
    # a taker SELL
    (dict(trader_side="TAKER", side=Side.SELL, maker_fills=()), {UP: -TEN}),
    # a taker trade of someone else (top-level owner not ours)
    (dict(trader_side="TAKER", owner=OTHER, maker_fills=()), {}),
    # a MAKER trade's top level is never ours
    (dict(trader_side="MAKER", maker_fills=()), {}),
])
def test_which_fills_are_ours(trade, expected):
    pos = Positions(OWNER)
    pos.apply(make_trade(**trade))
    for token in (UP, DOWN):
        assert pos.position_micro(token) == expected.get(token, 0)


def test_cash_and_pnl_marked():
    pos = Positions(OWNER)
    pos.apply(make_trade(trade_id=TradeId("a"), status=C))             # buy 10 Up @ .49
    pos.apply(make_trade(trade_id=TradeId("b"), status=M, maker_fills=(
        make_maker_fill(side=Side.SELL, price_pips=5500, matched_size_micro=4_000_000),)))
    assert pos.position_micro(UP) == 6_000_000
    assert pos.cash_micro(UP) == -4_900_000 + 2_200_000
    assert pos.avg_sell_pips(UP) == 5500
    pnl, unmarked = pos.pnl_micro({UP: 5000})
    assert (pnl, unmarked) == (-2_700_000 + 3_000_000, 0)
    pnl, unmarked = pos.pnl_micro({})
    assert (pnl, unmarked) == (-2_700_000, 1)
    assert pos.cash_micro() == -2_700_000


def test_load_sets_confirmed_and_keeps_provisional():
    pos = Positions(OWNER)
    pos.apply(make_trade(status=M))
    pos.load(UP, 50_000_000)
    assert pos.confirmed_micro(UP) == 50_000_000
    assert pos.position_micro(UP) == 60_000_000
    pos.load(DOWN, 7)
    assert pos.position_micro(DOWN) == 7


def test_knows_and_repr_hides_owner():
    pos = Positions(OWNER)
    assert not pos.knows(TradeId("trade-1"))
    pos.apply(make_trade())
    assert pos.knows(TradeId("trade-1"))
    assert OWNER not in repr(pos)


# -- collateral the Treasury brought back, and fees ---------------------------------------------

CRYPTO = FeeSchedule(rate_bps=700, exponent=1, rebate_bps=2000)  # crypto up/down (§7.2)


def _merged(amount: int, tx: str = "0xaa") -> PositionsMerged:
    return PositionsMerged(condition_id=CID, token_ids=(UP, DOWN), amount_micro=amount,
                           tx_hash=tx, ts_recv_ns=0)


def _redeemed(burned: tuple[int, int], payout: int, tx: str = "0xbb") -> PositionsRedeemed:
    return PositionsRedeemed(condition_id=CID, token_ids=(UP, DOWN), burned_micro=burned,
                             payout_micro=payout, tx_hash=tx, ts_recv_ns=0)


def _both_sides(pos: Positions) -> None:
    """10 Up bought at .49 and 10 Down at .48 (a complete set for 0.97)."""
    pos.apply(make_trade(trade_id=TradeId("up"), status=C))
    pos.apply(make_trade(trade_id=TradeId("down"), status=C, token_id=DOWN, maker_fills=(
        make_maker_fill(token_id=DOWN, price_pips=4800),)))


def test_a_merge_takes_the_sets_off_and_brings_the_pusd_back_once():
    pos = Positions(OWNER)
    _both_sides(pos)
    before, _ = pos.pnl_micro({UP: 5000, DOWN: 5000})
    assert pos.cost_micro() == 9_700_000
    assert pos.apply_merged(_merged(6_000_000)) == (UP, DOWN)
    assert pos.apply_merged(_merged(6_000_000, tx="0xAA")) == ()  # the same tx, any case
    assert (pos.position_micro(UP), pos.position_micro(DOWN)) == (4_000_000, 4_000_000)
    assert pos.merged_micro == pos.collateral_micro() == 6_000_000
    assert pos.cost_micro() == 4 * 490_000 + 4 * 480_000
    # A complete set is worth 1 at any marks that sum to 1: merging moves no PnL.
    assert pos.pnl_micro({UP: 5000, DOWN: 5000}) == (before, 0)
    assert pos.pnl_micro({UP: 7000, DOWN: 3000})[0] == before


def test_a_redemption_pays_the_winner_and_burns_both():
    pos = Positions(OWNER)
    _both_sides(pos)
    pos.apply_redeemed(_redeemed((TEN, TEN), TEN))
    assert pos.positions_micro() == {UP: 0, DOWN: 0}
    assert pos.redeemed_micro == TEN
    assert pos.pnl_micro({}) == (TEN - 9_700_000, 0)  # nothing left to mark
    assert pos.apply_redeemed(_redeemed((TEN, TEN), TEN)) == ()
    assert pos.redeemed_micro == TEN


def test_a_taker_fill_pays_the_fee_of_its_market_a_maker_fill_none():
    pos = Positions(OWNER)
    pos.set_fee_schedule(CID, CRYPTO)
    # Maker: no fee; its fee-equivalent 10 x 0.07 x .49 x .51 = 0.17493 → 0.17490 (5 dp)
    pos.apply(make_trade(trade_id=TradeId("m"), status=C))
    assert pos.fees_micro == 0 and pos.cash_micro(UP) == -4_900_000
    assert pos.rebate_estimate_micro() == 174_930 * 2000 // 10_000
    # Taker: we BUY 10 Down against a maker's SELL of Down at .52: 10 x .07 x .52 x .48
    pos.apply(make_trade(trade_id=TradeId("t"), status=M, trader_side="TAKER", token_id=DOWN,
                         side=Side.BUY, price_pips=5200, maker_fills=(make_maker_fill(
                             owner=OTHER, token_id=DOWN, side=Side.SELL, price_pips=5200),)))
    assert pos.fees_micro == 174_720
    assert pos.cash_micro(DOWN) == -5_200_000 - 174_720
    pos.apply(make_trade(trade_id=TradeId("t"), status=F))  # undone with its fee
    assert pos.fees_micro == 0 and pos.cash_micro(DOWN) == 0


def test_a_taker_pays_per_maker_at_each_makers_price_mirrored_on_the_other_token():
    pos = Positions(OWNER)
    pos.set_fee_schedule(CID, CRYPTO)
    # Our BUY of 10 Up crosses a SELL of 4 Up at .40 and a BUY of 6 Down at .55 (Up at .45).
    pos.apply(make_trade(status=C, trader_side="TAKER", side=Side.BUY, price_pips=4500,
                         maker_fills=(
                             make_maker_fill(owner=OTHER, side=Side.SELL, price_pips=4000,
                                             matched_size_micro=4_000_000),
                             make_maker_fill(owner=OTHER, token_id=DOWN, side=Side.BUY,
                                             price_pips=5500, matched_size_micro=6_000_000))))
    assert pos.fees_micro == (taker_fee_micro(4000, 4_000_000, CRYPTO)
                              + taker_fee_micro(4500, 6_000_000, CRYPTO))


def test_fills_before_their_market_is_known_count_no_fee():
    pos = Positions(OWNER)
    pos.apply(make_trade(status=C, trader_side="TAKER", maker_fills=()))
    assert pos.fees_micro == 0 and pos.rebate_estimate_micro() == 0
