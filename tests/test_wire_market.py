"""venue.wire.decode_market: the protocol's example frames (§1.3), arrays, keep-alives."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from messages import (
    BestBidAsk,
    BookChange,
    BookSnapshot,
    ConditionId,
    LastTrade,
    LevelChange,
    MarketAnnounced,
    MarketResolved,
    Side,
    TickSizeChanged,
    TokenId,
)
from venue.wire import decode_market
from venue.wire_common import slot_setters

RECV = 1_700_000_000_123_456_789

# The example frames of protocol §1.3, verbatim except where the doc elides a value.
BOOK = (b'{"event_type":"book","asset_id":"6581\xe2\x80\xa65422","market":"0xbd31\xe2\x80\xa684af",'
        b'"bids":[{"price":".48","size":"30"},{"price":".49","size":"20"}],'
        b'"asks":[{"price":".52","size":"25"},{"price":".53","size":"60"}],'
        b'"timestamp":"1757908892351","hash":"0x\xe2\x80\xa6"}')
PRICE_CHANGE = (
    b'{"event_type":"price_change","market":"0x5f65\xe2\x80\xa6f8f1","timestamp":"1757908892351",'
    b'"price_changes":['
    b'{"asset_id":"7132\xe2\x80\xa62563","price":"0.5","size":"200","side":"BUY",'
    b'"hash":"56621a121a47ed9333273e21c83b660cff37ae50","best_bid":"0.5","best_ask":"1"},'
    b'{"asset_id":"5211\xe2\x80\xa62426","price":"0.5","size":"200","side":"SELL",'
    b'"hash":"1895759e\xe2\x80\xa6e2","best_bid":"0","best_ask":"0.5"}]}')
TICK_SIZE_CHANGE = (b'{"event_type":"tick_size_change","asset_id":"6581\xe2\x80\xa6",'
                    b'"market":"0xbd31\xe2\x80\xa6","old_tick_size":"0.01",'
                    b'"new_tick_size":"0.001","timestamp":"100000000"}')
LAST_TRADE = (b'{"event_type":"last_trade_price","asset_id":"1141\xe2\x80\xa61694",'
              b'"market":"0x6a67\xe2\x80\xa60347","price":"0.456","size":"219.217767",'
              b'"side":"BUY","fee_rate_bps":"0","timestamp":"1750428146322",'
              b'"transaction_hash":"0x\xe2\x80\xa6"}')
BEST_BID_ASK = (b'{"event_type":"best_bid_ask","market":"0x1","asset_id":"123",'
                b'"best_bid":"0.73","best_ask":"0.77","spread":"0.04",'
                b'"timestamp":"1766789469958"}')
NEW_MARKET = orjson.dumps({
    "event_type": "new_market", "id": "1031769", "question": "BTC up?", "market": "0xabc",
    "slug": "btc-updown-15m-1766789400", "description": "d", "assets_ids": ["111", "222"],
    "outcomes": ["Up", "Down"], "event_message": {"id": "1", "ticker": "t", "slug": "s",
                                                  "title": "T", "description": "D"},
    "timestamp": "1766789469958"})
MARKET_RESOLVED = orjson.dumps({
    "event_type": "market_resolved", "id": "1031769", "question": "BTC up?", "market": "0xabc",
    "slug": "btc-updown-15m-1766789400", "assets_ids": ["111", "222"],
    "outcomes": ["Up", "Down"], "winning_asset_id": "111", "winning_outcome": "Up",
    "timestamp": "1766790369958"})

EXAMPLES = [BOOK, PRICE_CHANGE, TICK_SIZE_CHANGE, LAST_TRADE, BEST_BID_ASK, NEW_MARKET,
            MARKET_RESOLVED]

EXPECTED = [
    BookSnapshot(token_id=TokenId("6581…5422"), condition_id=ConditionId("0xbd31…84af"),
                 bids=((4900, 20_000_000), (4800, 30_000_000)),
                 asks=((5200, 25_000_000), (5300, 60_000_000)), hash="0x…",
                 ts_event_ms=1757908892351, ts_recv_ns=RECV),
    BookChange(condition_id=ConditionId("0x5f65…f8f1"), ts_event_ms=1757908892351,
               ts_recv_ns=RECV, changes=(
        LevelChange(token_id=TokenId("7132…2563"), side=Side.BUY, price_pips=5000,
                    size_micro=200_000_000, best_bid_pips=5000, best_ask_pips=10000),
        LevelChange(token_id=TokenId("5211…2426"), side=Side.SELL, price_pips=5000,
                    size_micro=200_000_000, best_bid_pips=0, best_ask_pips=5000))),
    TickSizeChanged(token_id=TokenId("6581…"), condition_id=ConditionId("0xbd31…"),
                    old_tick_pips=100, new_tick_pips=10, ts_event_ms=100000000,
                    ts_recv_ns=RECV),
    LastTrade(token_id=TokenId("1141…1694"), condition_id=ConditionId("0x6a67…0347"),
              price_pips=4560, size_micro=219_217_767, side=Side.BUY, fee_rate_bps=0,
              ts_event_ms=1750428146322, ts_recv_ns=RECV),
    BestBidAsk(token_id=TokenId("123"), condition_id=ConditionId("0x1"), best_bid_pips=7300,
               best_ask_pips=7700, ts_event_ms=1766789469958, ts_recv_ns=RECV),
    MarketAnnounced(condition_id=ConditionId("0xabc"), slug="btc-updown-15m-1766789400",
                    token_ids=(TokenId("111"), TokenId("222")), ts_event_ms=1766789469958,
                    ts_recv_ns=RECV),
    MarketResolved(condition_id=ConditionId("0xabc"), winning_token_id=TokenId("111"),
                   winning_outcome="Up", ts_event_ms=1766790369958, ts_recv_ns=RECV),
]


@pytest.mark.parametrize(("frame", "expected"), list(zip(EXAMPLES, EXPECTED, strict=True)),
                         ids=[type(e).__name__ for e in EXPECTED])
def test_protocol_examples(frame: bytes, expected: object) -> None:
    assert decode_market(frame, RECV) == [expected]
    # websocket-client hands text frames over as str: same result.
    assert decode_market(frame.decode(), RECV) == [expected]


def test_fast_built_messages_equal_init_built_ones() -> None:
    # BookSnapshot/BookChange/LevelChange are built without __init__ on the hot path; every
    # field must be set and the objects must be indistinguishable from normal ones.
    for frame, expected in ((BOOK, EXPECTED[0]), (PRICE_CHANGE, EXPECTED[1])):
        (got,) = decode_market(frame, RECV)
        assert type(got) is type(expected)
        assert got == expected
        assert repr(got) == repr(expected)
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.ts_recv_ns = 0  # type: ignore[misc]


def test_initial_dump_array() -> None:
    frame = b"[" + b",".join(EXAMPLES) + b"]"
    assert decode_market(frame, RECV) == EXPECTED


@pytest.mark.parametrize("frame", [b"PONG", b"pong", b"", b"  \n", b"[]", "PONG", " PONG\n"])
def test_keepalive_and_empty_frames(frame: bytes | str) -> None:
    assert decode_market(frame, RECV) == []


def test_book_levels_sorted_best_first_whatever_the_wire_order() -> None:
    frame = orjson.dumps({
        "event_type": "book", "asset_id": "1", "market": "0x1", "timestamp": "5", "hash": "h",
        "bids": [{"price": "0.3", "size": "1"}, {"price": "0.5", "size": "2"},
                 {"price": "0.4", "size": "3"}],
        "asks": [{"price": "0.9", "size": "1"}, {"price": "0.6", "size": "2.5"},
                 {"price": "0.7", "size": "3"}],
        "tick_size": "0.01", "min_order_size": "5", "neg_risk": False, "version": "v2"})
    (book,) = decode_market(frame, RECV)
    assert isinstance(book, BookSnapshot)
    assert book.bids == ((5000, 2_000_000), (4000, 3_000_000), (3000, 1_000_000))
    assert book.asks == ((6000, 2_500_000), (7000, 3_000_000), (9000, 1_000_000))
    assert book.tick_pips == 100
    assert book.min_size_micro == 5_000_000


def test_book_tick_size_as_json_number_and_empty_sides() -> None:
    frame = orjson.dumps({"event_type": "book", "asset_id": "1", "market": "0x1",
                          "timestamp": 5, "bids": [], "asks": [], "tick_size": 0.001,
                          "min_order_size": 5})
    (book,) = decode_market(frame, RECV)
    assert isinstance(book, BookSnapshot)
    assert (book.bids, book.asks, book.hash) == ((), (), "")
    assert (book.tick_pips, book.min_size_micro, book.ts_event_ms) == (10, 5_000_000, 5)


def test_legacy_price_change_format() -> None:
    frame = orjson.dumps({
        "event_type": "price_change", "asset_id": "77", "market": "0x2",
        "changes": [{"price": "0.4", "side": "BUY", "size": "0"},
                    {"price": "0.6", "side": "SELL", "size": "12.5"}],
        "timestamp": "1729084877448", "hash": "3cd4d61e042c81560c9037ece0c61f3b1a8fbbdd"})
    (change,) = decode_market(frame, RECV)
    assert change == BookChange(condition_id=ConditionId("0x2"), ts_event_ms=1729084877448,
                                ts_recv_ns=RECV, changes=(
        LevelChange(token_id=TokenId("77"), side=Side.BUY, price_pips=4000, size_micro=0,
                    best_bid_pips=None, best_ask_pips=None),
        LevelChange(token_id=TokenId("77"), side=Side.SELL, price_pips=6000, size_micro=12_500_000,
                    best_bid_pips=None, best_ask_pips=None)))


def test_best_bid_ask_empty_side_is_none() -> None:
    frame = orjson.dumps({"event_type": "best_bid_ask", "market": "0x1", "asset_id": "1",
                          "best_bid": "", "timestamp": "1"})
    (bba,) = decode_market(frame, RECV)
    assert isinstance(bba, BestBidAsk)
    assert (bba.best_bid_pips, bba.best_ask_pips) == (None, None)


def test_level_memo_does_not_confuse_levels() -> None:
    # Same strings in another book, and a size spelled differently, give the same integers.
    a = orjson.dumps({"event_type": "book", "asset_id": "1", "market": "0x1", "timestamp": "1",
                      "bids": [{"price": "0.50", "size": "10"}],
                      "asks": [{"price": ".51", "size": "10.000"}]})
    for _ in range(2):
        (book,) = decode_market(a, RECV)
        assert isinstance(book, BookSnapshot)
        assert book.bids == ((5000, 10_000_000),)
        assert book.asks == ((5100, 10_000_000),)


def test_slot_setters_refuse_a_field_list_that_does_not_match_the_message() -> None:
    with pytest.raises(TypeError, match="LevelChange"):
        slot_setters(LevelChange, ("token_id", "side", "price_pips", "size_micro",
                                   "best_bid_pips"))
