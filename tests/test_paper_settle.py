"""The paper exchange settles an up/down window from the reference prices
(``trading.paper_settle``): the rule as a table, then the gateway's resolution events and its
``MarketResolved``, and the State marking a window that had already left the traded set."""

from __future__ import annotations

import pytest

from messages import (
    MarketResolved,
    MarketsChanged,
    OrderEvent,
    OrderEventType,
    PriceSource,
    PriceUpdate,
    Side,
)
from tests.builders import (
    CID,
    DOWN,
    END_MS,
    START_MS,
    UP,
    make_last_trade,
    make_maker_fill,
    make_market,
    make_markets_changed,
    make_price,
    make_resolved,
    make_trade,
    market_n,
)
from tests.test_paper_gateway import gateway, resting
from trading.paper_settle import GIVE_UP_MS, ReferenceSettler, Settled
from trading.state import StateModel

TW, CL, BN = PriceSource.TWAP, PriceSource.CHAINLINK, PriceSource.BINANCE
K = 100_000 * 10**8  # the strike the tables use


def px(source: PriceSource, ts_ms: int, price: int, asset: str = "btc", *,
       window: int = 60) -> PriceUpdate:
    return make_price(source=source, ts_event_ms=ts_ms, price_e8=price, asset=asset,
                      ts_recv_ns=ts_ms * 1_000_000,
                      window_seconds=window if source is PriceSource.TWAP else 0)


def settle(prices: list[PriceUpdate], **market: object) -> list[Settled]:
    s = ReferenceSettler()
    s.set_markets([make_market(**market)])
    out: list[Settled] = []
    for p in prices:
        out += s.on_price(p)
    return out


UP_WON = [Settled(condition_id=CID, winning_token_id=UP, winning_outcome="Up")]
DOWN_WON = [Settled(condition_id=CID, winning_token_id=DOWN, winning_outcome="Down")]


@pytest.mark.parametrize(("prices", "market", "expected"), [
    # The TWAP stream: the last point at or before the open and at or before the close.
    ([px(TW, START_MS - 500, K), px(TW, START_MS + 500, K - 9), px(TW, END_MS - 200, K + 1),
      px(TW, END_MS + 800, K - 50)], {}, UP_WON),
    ([px(TW, START_MS - 500, K), px(TW, START_MS + 500, K), px(TW, END_MS - 200, K - 1),
      px(TW, END_MS + 800, K + 50)], {}, DOWN_WON),
    # At the strike exactly: Up (the venue's "at or above").
    ([px(TW, START_MS, K), px(TW, END_MS, K)], {}, UP_WON),
    # RTDS has no TWAP: the Chainlink spot stream stands in.
    ([px(CL, START_MS - 100, K), px(CL, START_MS + 100, K), px(CL, END_MS - 100, K - 1),
      px(CL, END_MS + 100, K)], {}, DOWN_WON),
    # Both: the TWAP decides (the spot says Up, the TWAP Down).
    ([px(CL, START_MS, K), px(TW, START_MS, K), px(CL, END_MS, K + 10), px(TW, END_MS, K - 10)],
     {}, DOWN_WON),
    # No point at the open (a window learned late): Gamma's priceToBeat is the strike.
    ([px(TW, END_MS - 100, K + 5), px(TW, END_MS + 100, K + 5)], {"price_to_beat_e8": K},
     UP_WON),
    ([px(TW, END_MS - 100, K + 5), px(TW, END_MS + 100, K + 5)],
     {"price_to_beat_e8": K + 6}, DOWN_WON),
    # ... and without it the strike is unknown: no settlement (the venue's message will do).
    ([px(TW, END_MS - 100, K + 5), px(TW, END_MS + 100, K + 5)], {}, []),
    # A point stamped after the close but received before it (a clock ahead): not yet.
    ([px(TW, START_MS, K), px(TW, END_MS - 500, K + 1),
      make_price(source=TW, ts_event_ms=END_MS + 1_000, price_e8=K - 1, window_seconds=60,
                 ts_recv_ns=(END_MS - 400) * 1_000_000)], {}, []),
    # Nothing before the close: a point just before it does not settle.
    ([px(TW, START_MS, K), px(TW, END_MS - 1, K + 5)], {}, []),
    # A hole in the stream before the close (over trading.strikes.MAX_GAP_MS): no final price.
    ([px(TW, START_MS, K), px(TW, END_MS - 20_000, K + 5), px(TW, END_MS + 100, K + 5)], {}, []),
    # A 30 s TWAP is not the venue's series: the window waits (here for the spot stream).
    ([px(TW, START_MS, K, window=30), px(TW, END_MS, K + 1, window=30)], {}, []),
    ([px(TW, START_MS, K, window=30), px(CL, START_MS, K), px(TW, END_MS, K + 1, window=30),
      px(CL, END_MS, K - 1)], {}, DOWN_WON),
    # The exchange price is not what the window settles on.
    ([px(BN, START_MS, K), px(BN, END_MS - 100, K + 5), px(BN, END_MS + 100, K + 5)], {}, []),
    # Another asset's prices say nothing about this window.
    ([px(TW, START_MS, K, "eth"), px(TW, END_MS, K, "eth")], {}, []),
    # A market quoted without a reference price is never settled from one.
    ([px(TW, START_MS, K), px(TW, END_MS, K)], {"asset": ""}, []),
    # Once: later points after the settlement settle nothing more.
    ([px(TW, START_MS, K), px(TW, END_MS, K + 1), px(TW, END_MS + 1_000, K - 1)], {}, UP_WON),
])
def test_a_window_settles_from_the_reference(prices: list[PriceUpdate], market: dict[str, object],
                                             expected: list[Settled]) -> None:
    assert settle(prices, **market) == expected


def test_the_venue_settling_first_leaves_nothing_to_settle() -> None:
    s = ReferenceSettler()
    s.set_markets([make_market()])
    assert s.on_price(px(TW, START_MS, K)) == []
    s.resolved(CID)
    assert s.on_price(px(TW, END_MS, K + 1)) == [] and s.pending() == 0
    s.set_markets([make_market()])  # discovery lists it again: still settled
    assert s.on_price(px(TW, END_MS + 1, K + 1)) == []


def test_a_window_discovery_dropped_still_settles_and_keeps_its_strike() -> None:
    s = ReferenceSettler()
    s.set_markets([make_market()])
    assert s.on_price(px(TW, START_MS, K)) == [] and s.on_price(px(TW, START_MS + 1, K)) == []
    s.set_markets([market_n(1, start_ms=END_MS, end_ms=END_MS + 900_000)])  # the next window
    # Ten minutes later the open's point is out of the stream's history; the kept strike holds.
    for t in range(START_MS + 60_000, END_MS, 5_000):
        assert s.on_price(px(TW, t, K + 3)) == []
    assert s.on_price(px(TW, END_MS, K + 3)) == UP_WON
    assert s.pending() == 1  # the next window


def test_the_gateway_settles_our_positions_and_tells_the_state() -> None:
    gw, clock = gateway(latency_ms=0)  # the book: 0.44 bid, 0.46 ask
    gw.on_reference(px(TW, START_MS, K))
    resting(gw, clock, 4500)
    fills = gw.on_market(make_last_trade(token_id=UP, side=Side.SELL, price_pips=4500,
                                         size_micro=10_000_000, ts_event_ms=START_MS + 1_000))
    assert fills and gw.exchange.position_micro(UP) == 10_000_000
    resting(gw, clock, 4000)
    # The window closes below its strike: Down won, our Up shares pay nothing.
    assert gw.on_reference(px(TW, END_MS - 1_000, K - 1)) == ([], [])
    events, resolutions = gw.on_reference(px(TW, END_MS + 500, K - 1))
    assert resolutions == [make_resolved(
        winning_token_id=DOWN, winning_outcome="Down", ts_event_ms=END_MS + 500,
        ts_recv_ns=(END_MS + 500) * 1_000_000, from_reference=True)]
    assert [e.type for e in events if isinstance(e, OrderEvent)] == [OrderEventType.CANCELLATION]
    assert gw.exchange.position_micro(UP) == 0
    summary = gw.summary()
    assert summary["payouts_usd"] == 0 and summary["open_orders"] == 0
    # The venue's own message later changes nothing, and is not counted as bad input.
    assert gw.on_market(make_resolved(winning_token_id=DOWN, winning_outcome="Down")) == []
    assert gw.exchange.ignored == 0
    assert gw.on_reference(px(TW, END_MS + 2_000, K + 1)) == ([], [])


def _bought_up(model: StateModel) -> None:
    model.apply(make_trade(owner="self", maker_fills=(make_maker_fill(owner="self"),)))


def test_a_window_resolved_after_it_left_the_set_is_marked_at_its_payout() -> None:
    model = StateModel(owner="self")
    model.apply(make_markets_changed(make_market()))
    _bought_up(model)
    next_set: MarketsChanged = make_markets_changed(market_n(1))
    model.apply(next_set)  # discovery dropped it at its close, unresolved
    assert model.pnl_micro()[1] == 1  # one position without a mark
    late = MarketResolved(condition_id=CID, winning_token_id=UP, winning_outcome="Up",
                          ts_event_ms=END_MS + 55_000, ts_recv_ns=0, from_reference=True)
    model.apply(late)
    _pnl, unmarked = model.pnl_micro()
    assert unmarked == 0 and model.marks_pips()[UP] == 10_000 and model.marks_pips()[DOWN] == 0
    assert model.ignored == 0
    # A resolution of a market never seen is still ignored.
    model.apply(MarketResolved(condition_id=market_n(7).condition_id, winning_token_id=UP,
                               winning_outcome="Up", ts_event_ms=0, ts_recv_ns=0))
    assert model.ignored == 1


def test_a_resolution_is_final() -> None:
    model = StateModel(owner="self")
    model.apply(make_markets_changed(make_market()))
    first = MarketResolved(condition_id=CID, winning_token_id=UP, winning_outcome="Up",
                           ts_event_ms=END_MS, ts_recv_ns=0, from_reference=True)
    assert model.apply(first) is True
    assert model.apply(MarketResolved(condition_id=CID, winning_token_id=DOWN,
                                      winning_outcome="Down", ts_event_ms=END_MS + 55_000,
                                      ts_recv_ns=0)) is False
    assert model.marks_pips()[UP] == 10_000


def test_a_window_that_cannot_settle_is_forgotten_after_a_while() -> None:
    s = ReferenceSettler()
    s.set_markets([make_market()])
    s.on_price(px(TW, START_MS, K))
    # A hole in the stream over the close: no final price, ever.
    assert s.on_price(px(TW, END_MS + 60_000, K)) == [] and s.pending() == 1
    assert s.on_price(px(TW, END_MS + GIVE_UP_MS + 1, K)) == []
    assert s.pending() == 0 and s.given_up == 1


def test_a_point_stamped_far_ahead_of_its_arrival_is_refused() -> None:
    # It would close the window early and, in the stream's history, push out the close's
    # points; the window settles on the honest points as if it had never come.
    s = ReferenceSettler()
    s.set_markets([make_market()])
    s.on_price(px(TW, START_MS, K))
    bogus = make_price(source=TW, ts_event_ms=END_MS + 3_600_000, price_e8=K - 1,
                       window_seconds=60, ts_recv_ns=(START_MS + 1_000) * 1_000_000)
    assert s.on_price(bogus) == [] and s.refused == 1
    assert s.on_price(px(TW, END_MS - 500, K + 1)) == []
    assert s.on_price(px(TW, END_MS + 500, K + 1)) == UP_WON
