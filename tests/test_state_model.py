"""StateModel: apply sequences → snapshot contents, view reuse, resyncs, feed health."""

from __future__ import annotations

import pytest

from messages import PriceSource, Side, TokenId, TradeId, TradeStatus
from tests.builders import (
    CID,
    DOWN,
    END_MS,
    OWNER,
    START_MS,
    T0_NS,
    UP,
    make_best,
    make_change,
    make_feed,
    make_kill,
    make_last_trade,
    make_level,
    make_maker_fill,
    make_market,
    make_markets_changed,
    make_order_event,
    make_price,
    make_resolved,
    make_snapshot,
    make_tick_change,
    make_timer,
    make_trade,
    market_n,
)
from trading.state import StateModel

P = 100_000 * 10**8


def model(*markets, feeds_up=True, books=True) -> StateModel:
    m = StateModel(owner=OWNER)
    markets = markets or (make_market(),)
    m.apply(make_markets_changed(*markets))
    if feeds_up:
        for feed in ("market", "user", "price"):
            m.apply(make_feed(feed=feed))
    if books:
        for mk in markets:
            for token in mk.token_ids:
                m.apply(make_snapshot(token_id=token, condition_id=mk.condition_id))
    return m


def snap(m: StateModel, ns: int = T0_NS):
    return m.snapshot(ns, ns)


def test_empty_model_snapshot():
    m = StateModel(owner=OWNER)
    s = snap(m)
    assert (s.seq, s.markets, s.refs) == (1, (), ())
    assert not (s.market_feed_up or s.user_feed_up or s.price_feed_up or s.kill_switch)


def test_snapshot_contents_after_a_sequence():
    m = model(make_market(price_to_beat_e8=P))
    m.apply(make_change(make_level(side=Side.BUY, price_pips=5000, size_micro=5,
                                   best_bid_pips=5000, best_ask_pips=5200)))
    m.apply(make_trade(status=TradeStatus.MATCHED))
    m.apply(make_price(source=PriceSource.BINANCE, price_e8=P + 5, ts_recv_ns=T0_NS + 7))
    s = m.snapshot(T0_NS + 2_500_000, T0_NS + 7)
    assert s.now_ms == START_MS + 2 and s.cause_recv_ns == T0_NS + 7
    assert s.market_feed_up and s.user_feed_up and s.price_feed_up and not s.kill_switch
    (v,) = s.markets
    assert v.market == make_market(price_to_beat_e8=P)
    assert (v.up_bid_pips, v.up_ask_pips, v.down_bid_pips, v.down_ask_pips) == (
        5000, 5200, 4900, 5200)
    assert v.tick_pips == 100 and v.book_synced
    assert v.book_recv_ns == T0_NS + 1_000_000
    assert (v.position_up_micro, v.position_down_micro) == (10_000_000, 0)
    assert v.strike_e8 == P
    (r,) = s.refs
    assert (r.asset, r.binance_e8, r.binance_recv_ns, r.twap_e8, r.twap_recv_ns) == (
        "btc", P + 5, T0_NS + 7, 0, 0)
    assert r.sigma_per_sqrt_s == 1e-4


def test_seq_increments_and_unchanged_views_are_reused():
    m = model(make_market(), market_n(2, asset="eth"))
    s1 = snap(m)
    s2 = snap(m)
    assert (s1.seq, s2.seq) == (1, 2)
    assert s2.markets is s1.markets and s2.refs is s1.refs
    # A book change in market 2 rebuilds only its view.
    tok2 = market_n(2).token_ids[0]
    assert m.apply(make_change(make_level(token_id=tok2, price_pips=5000),
                               condition_id=market_n(2).condition_id))
    s3 = snap(m)
    assert s3.markets[0] is s1.markets[0]
    assert s3.markets[1] is not s1.markets[1] and s3.markets[1].up_bid_pips == 5000
    assert s3.refs is s1.refs
    # A price tick rebuilds only that asset's view.
    assert m.apply(make_price(asset="eth"))
    s4 = snap(m)
    assert s4.markets is s3.markets
    btc, eth = s4.refs
    assert btc is s3.refs[0] and eth is not s3.refs[1] and eth.binance_e8 == P


def test_removed_markets_are_dropped_and_kept_ones_keep_state():
    a, b = market_n(1), market_n(2)
    m = model(a, b)
    m.apply(make_trade(condition_id=b.condition_id,
                       maker_fills=(make_maker_fill(token_id=b.token_ids[0]),)))
    s1 = snap(m)
    assert m.apply(make_markets_changed(b, removed=(a.condition_id,)))
    s2 = snap(m)
    assert [v.market.condition_id for v in s2.markets] == [b.condition_id]
    assert s2.markets[0] is s1.markets[1]          # unchanged kept market: same view
    assert s2.markets[0].book_synced and s2.markets[0].position_up_micro == 10_000_000
    assert m.book(a.token_ids[0]) is None
    ignored = m.ignored
    assert not m.apply(make_snapshot(token_id=a.token_ids[0], condition_id=a.condition_id))
    assert m.ignored == ignored + 1


def test_market_order_follows_discovery_and_metadata_changes_rebuild():
    a, b = market_n(1), market_n(2)
    m = model(a, b)
    s1 = snap(m)
    b2 = market_n(2, accepting_orders=False)
    m.apply(make_markets_changed(b2, a))
    s2 = snap(m)
    assert [v.market for v in s2.markets] == [b2, a]
    assert s2.markets[1] is s1.markets[0]


def test_unknown_types_and_tokens_are_counted():
    m = model()
    assert not m.apply(object())
    assert not m.apply(make_snapshot(token_id=TokenId("999")))
    assert not m.apply(make_price(asset="doge"))
    assert not m.apply(make_price(source=PriceSource.OTHER))
    assert (m.unknown_types, m.ignored) == (1, 4)


def test_checksum_mismatch_unsyncs_and_requests_one_resync():
    m = model()
    assert m.take_resync_requests() == ()
    bad = make_change(make_level(price_pips=4000, size_micro=1, best_bid_pips=4000,
                                 best_ask_pips=5200))
    assert m.apply(bad)
    assert m.checksum_mismatches == 1
    assert not snap(m).markets[0].book_synced
    assert m.take_resync_requests() == (UP,)
    assert m.take_resync_requests() == ()
    # Still wrong: counted, but the request is not repeated before the fresh snapshot.
    m.apply(make_change(make_level(price_pips=4100, size_micro=1, best_bid_pips=4000),
                        ts_event_ms=START_MS + 2))
    assert m.checksum_mismatches == 2 and m.take_resync_requests() == ()
    assert m.apply(make_snapshot(ts_event_ms=START_MS + 3))
    assert snap(m).markets[0].book_synced
    m.apply(make_change(make_level(price_pips=4000, size_micro=0, best_bid_pips=1),
                        ts_event_ms=START_MS + 4))
    assert m.take_resync_requests() == (UP,)


def test_checksum_is_checked_after_the_whole_frame_per_token():
    m = model()
    # Two entries for UP carrying the top after the frame (how the simulated venue sends it),
    # and one for DOWN.
    frame = make_change(
        make_level(price_pips=5000, size_micro=1, best_bid_pips=5100, best_ask_pips=5200),
        make_level(price_pips=5100, size_micro=1, best_bid_pips=5100, best_ask_pips=5200),
        make_level(token_id=DOWN, side=Side.SELL, price_pips=5200, size_micro=0,
                   best_bid_pips=4900, best_ask_pips=5300))
    assert m.apply(frame)
    assert m.checksum_mismatches == 0 and m.take_resync_requests() == ()
    v = snap(m).markets[0]
    assert (v.up_bid_pips, v.down_ask_pips) == (5100, 5300)


@pytest.mark.parametrize("bid, ask, mismatch", [
    (4900, 5200, False),
    (None, 5200, True),       # BestBidAsk's None is an empty side, not "unchecked"
    (4900, 5300, True),
])
def test_best_bid_ask_is_a_checksum(bid, ask, mismatch):
    m = model()
    m.apply(make_best(best_bid_pips=bid, best_ask_pips=ask))
    assert (m.checksum_mismatches == 1) is mismatch
    assert m.take_resync_requests() == ((UP,) if mismatch else ())


def test_best_bid_ask_older_than_the_book_is_not_checked():
    m = model()
    m.apply(make_change(make_level(price_pips=5000, size_micro=1), ts_event_ms=START_MS + 5))
    m.apply(make_best(best_bid_pips=4900, ts_event_ms=START_MS + 4))
    assert m.checksum_mismatches == 0


def test_stale_and_pre_snapshot_changes_are_dropped():
    m = model(books=False)
    assert not m.apply(make_change(make_level()))                 # no snapshot yet
    m.apply(make_snapshot(ts_event_ms=START_MS + 10))
    assert not m.apply(make_change(make_level(), ts_event_ms=START_MS + 9))
    assert not m.apply(make_snapshot(ts_event_ms=START_MS + 9))
    assert m.stale_dropped == 3
    assert m.book(UP).top() == (4900, 5200)


def test_unsynced_book_takes_an_older_snapshot():
    m = model()
    m.apply(make_snapshot(ts_event_ms=START_MS + 10))
    m.apply(make_best(best_bid_pips=1000, ts_event_ms=START_MS + 10))
    assert m.take_resync_requests() == (UP,)
    assert m.apply(make_snapshot(bids=((1000, 1),), ts_event_ms=START_MS + 5))
    v = snap(m).markets[0]
    assert v.book_synced and v.up_bid_pips == 1000


def test_feed_down_unsyncs_books_until_each_snapshot():
    m = model()
    assert snap(m).markets[0].book_synced
    assert m.apply(make_feed(feed="market", connected=False, reason="closed"))
    s = snap(m)
    assert not s.market_feed_up and not s.markets[0].book_synced
    assert m.apply(make_feed(feed="market", connected=True))
    assert m.apply(make_snapshot(token_id=UP, ts_event_ms=START_MS + 5))
    assert not snap(m).markets[0].book_synced
    assert m.apply(make_snapshot(token_id=DOWN, ts_event_ms=START_MS + 5))
    s = snap(m)
    assert s.market_feed_up and s.markets[0].book_synced
    # the other feeds only flip their flags
    assert m.apply(make_feed(feed="user", connected=False))
    assert not m.apply(make_feed(feed="user", connected=False))
    s = snap(m)
    assert not s.user_feed_up and s.markets[0].book_synced
    assert not m.apply(make_feed(feed="bogus"))


def test_tick_follows_tick_size_change_at_once():
    m = model()
    assert m.apply(make_tick_change(token_id=UP, new_tick_pips=10)) is False   # DOWN still 0.01
    assert snap(m).markets[0].tick_pips == 100
    assert m.apply(make_tick_change(token_id=DOWN, new_tick_pips=10))
    assert snap(m).markets[0].tick_pips == 10
    assert m.apply(make_snapshot(token_id=UP, tick_pips=100, ts_event_ms=START_MS + 1))
    assert snap(m).markets[0].tick_pips == 100


def test_strike_from_twap_then_confirmed():
    m = model()
    twap = dict(source=PriceSource.TWAP)
    m.apply(make_price(**twap, price_e8=P, ts_event_ms=START_MS - 1000))
    assert snap(m).markets[0].strike_e8 is None
    assert m.apply(make_price(**twap, price_e8=P + 9, ts_event_ms=START_MS + 1000))
    v = snap(m).markets[0]
    assert v.strike_e8 == P
    # A snapshot replaying history later does not move a confirmed strike.
    m.apply(make_price(**twap, price_e8=P + 1, ts_event_ms=START_MS - 500, snapshot=True))
    assert snap(m).markets[0].strike_e8 == P
    assert snap(m).refs[0].twap_e8 == P + 9


def test_strike_fallback_to_price_to_beat_then_twap():
    m = model(make_market(price_to_beat_e8=P + 3))
    assert snap(m).markets[0].strike_e8 == P + 3
    m.apply(make_price(source=PriceSource.TWAP, price_e8=P, ts_event_ms=START_MS))
    assert snap(m).markets[0].strike_e8 == P


def test_trades_move_positions_and_order_events_do_not():
    m = model()
    s0 = snap(m)
    assert not m.apply(make_order_event())
    assert m.apply(make_trade(status=TradeStatus.MATCHED))
    assert not m.apply(make_trade(status=TradeStatus.MINED))
    s1 = snap(m)
    assert s1.markets[0] is not s0.markets[0] and s1.markets[0].position_up_micro == 10_000_000
    assert m.apply(make_trade(status=TradeStatus.FAILED))
    assert snap(m).markets[0].position_up_micro == 0


def test_late_status_of_a_counted_trade_lands_after_its_market_is_gone():
    m = model()
    m.apply(make_trade(status=TradeStatus.MATCHED))
    m.apply(make_markets_changed())
    m.apply(make_trade(status=TradeStatus.CONFIRMED))
    assert m.positions.confirmed_micro(UP) == 10_000_000
    # A new fill on a market no longer quoted still moves our inventory (the risk check's
    # ledger counts it too); no market view changes, so no new snapshot is due.
    assert not m.apply(make_trade(trade_id=TradeId("new-one")))
    assert m.positions.fills == 2


def test_resolution_stops_quoting_and_settles_marks():
    m = model()
    m.apply(make_trade(status=TradeStatus.CONFIRMED))
    assert m.apply(make_resolved(winning_token_id=UP))
    assert not snap(m).markets[0].market.accepting_orders
    # Gamma still says accepting: the resolution wins.
    m.apply(make_markets_changed(make_market(end_ms=END_MS + 1)))
    assert not snap(m).markets[0].market.accepting_orders
    assert m.pnl_micro() == (-4_900_000 + 10_000_000, 0)
    m.apply(make_markets_changed())
    assert m.pnl_micro() == (5_100_000, 0)


def test_pnl_marks_to_mid_then_last_trade():
    m = model()
    m.apply(make_trade(status=TradeStatus.CONFIRMED))
    assert m.pnl_micro() == (-4_900_000 + 10_000_000 * 5050 // 10_000, 0)
    m.apply(make_snapshot(bids=(), ts_event_ms=START_MS + 1))
    assert m.pnl_micro() == (-4_900_000, 1)
    assert not m.apply(make_last_trade(price_pips=5000))
    assert m.pnl_micro() == (100_000, 0)


def test_kill_switch_and_timer():
    m = model()
    assert m.apply(make_kill(on=True))
    assert not m.apply(make_kill(on=True))
    assert snap(m).kill_switch
    assert m.apply(make_timer(ts_recv_ns=T0_NS + 5))
    assert m.clock_ns == T0_NS + 5


def test_load_position_marks_market_dirty():
    m = model()
    s0 = snap(m)
    m.load_position(DOWN, 3_000_000)
    s1 = snap(m)
    assert s1.markets[0] is not s0.markets[0] and s1.markets[0].position_down_micro == 3_000_000


def test_market_summaries_and_counters():
    m = model()
    m.apply(make_trade())
    (row,) = m.market_summaries(START_MS)
    assert row["condition_id"] == CID and row["alias"] == "btc-15m"
    assert (row["up_bid"], row["up_ask"], row["inv_up"], row["ttc_s"]) == (4900, 5200, 10.0, 900)
    assert m.events_applied == 1 + 3 + 2 + 1
    assert m.feed_up("market") and m.markets() == (make_market(),)


def test_bad_vol_parameters_fail_at_construction():
    with pytest.raises(ValueError):
        StateModel(owner=OWNER, vol_halflife_s=0.0)
