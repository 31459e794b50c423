"""The feeds' sinks: the user feed's owner redaction (our API key becomes ``self`` for every
sink, once), and the filters that keep a feed from waking an actor for messages it ignores."""

from __future__ import annotations

from messages import BookChange, MarketResolved, PriceSource, PriceUpdate, TradeEvent
from runtime.sinks import only
from tests.builders import (
    make_change,
    make_level,
    make_maker_fill,
    make_order_event,
    make_price,
    make_resolved,
    make_snapshot,
    make_trade,
)
from venue.redact import OTHER, SELF, redacting_sinks

KEY = "api-key-of-ours"


def test_every_sink_gets_the_same_redacted_message() -> None:
    got: list[list[object]] = [[], [], []]
    sinks = redacting_sinks([got[0].append, got[1].append, got[2].append], KEY)
    trade = make_trade(owner=KEY, maker_fills=(make_maker_fill(owner="someone"),
                                               make_maker_fill(owner=KEY)))
    order = make_order_event(owner="someone")
    for msg in (trade, order, trade):
        for sink in sinks:
            sink(msg)
    first = got[0]
    assert first[0].owner == SELF  # type: ignore[attr-defined]
    assert [f.owner for f in first[0].maker_fills] == [OTHER, SELF]  # type: ignore[attr-defined]
    assert first[1].owner == OTHER  # type: ignore[attr-defined]
    assert first[2] == first[0]
    for other in got[1:]:  # redacted once per message: the very same object for each sink
        assert [a is b for a, b in zip(other, first, strict=True)] == [True, True, True]


def test_a_filtered_sink_passes_exactly_its_kinds_and_what_where_accepts() -> None:
    got: list[object] = []
    trades = only(TradeEvent, got.append)
    market = only((BookChange, MarketResolved), got.append)
    settles = only(PriceUpdate, got.append, lambda m: m.source is PriceSource.TWAP)
    trade, change, resolved = make_trade(), make_change(make_level()), make_resolved()
    twap, binance = make_price(source=PriceSource.TWAP), make_price()
    for sink in (trades, market, settles):
        for msg in (trade, change, resolved, twap, binance, make_snapshot()):
            sink(msg)
    assert got == [trade, change, resolved, twap]
