"""venue.wire.decode_user: the protocol's example order and trade frames (§2)."""

from __future__ import annotations

import orjson
import pytest

from messages import (
    ConditionId,
    MakerFill,
    OrderEvent,
    OrderEventType,
    OrderHash,
    Side,
    TokenId,
    TradeEvent,
    TradeId,
    TradeStatus,
)
from venue.wire import WireError, decode_user
from venue.wire_common import MS_BELOW, SECONDS_BELOW, epoch_ms

RECV = 1_700_000_000_000_000_000

# Protocol §2 examples, verbatim except where the doc elides a value.
ORDER = (b'{"event_type":"order","type":"PLACEMENT","id":"0xff35\xe2\x80\xa6790b",'
         b'"owner":"<api key>","order_owner":"<api key>","market":"0xbd31\xe2\x80\xa6",'
         b'"asset_id":"5211\xe2\x80\xa62426","side":"SELL","original_size":"10",'
         b'"size_matched":"0","price":"0.57","associate_trades":null,"outcome":"YES",'
         b'"created_at":"1672290687","expiration":"1234567","order_type":"GTD",'
         b'"status":"LIVE","maker_address":"0x\xe2\x80\xa6","timestamp":"1672290687000"}')
TRADE = (b'{"event_type":"trade","type":"TRADE","id":"28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e",'
         b'"taker_order_id":"0x06bc\xe2\x80\xa60c42","market":"0xbd31\xe2\x80\xa6",'
         b'"asset_id":"5211\xe2\x80\xa6","side":"BUY","size":"10","price":"0.57",'
         b'"fee_rate_bps":"0","status":"MATCHED","match_time":"1672290701",'
         b'"last_update":"1672290701","outcome":"YES","owner":"<api key>",'
         b'"trade_owner":"<api key>","maker_address":"0x\xe2\x80\xa6",'
         b'"transaction_hash":"0x\xe2\x80\xa6","bucket_index":0,"trader_side":"MAKER",'
         b'"timestamp":"1672290701000","maker_orders":[{"order_id":"0xff35\xe2\x80\xa6",'
         b'"owner":"<api key>","maker_address":"0x\xe2\x80\xa6","matched_amount":"10",'
         b'"price":"0.57","fee_rate_bps":"0","asset_id":"5211\xe2\x80\xa6","outcome":"YES",'
         b'"side":"SELL"}]}')
EXAMPLES = [ORDER, TRADE]

ORDER_EVENT = OrderEvent(
    order_id=OrderHash("0xff35…790b"), condition_id=ConditionId("0xbd31…"),
    token_id=TokenId("5211…2426"), side=Side.SELL, type=OrderEventType.PLACEMENT, status="LIVE",
    price_pips=5700, original_size_micro=10_000_000, size_matched_micro=0, owner="<api key>",
    ts_event_ms=1672290687000, ts_recv_ns=RECV)
TRADE_EVENT = TradeEvent(
    trade_id=TradeId("28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e"), status=TradeStatus.MATCHED,
    condition_id=ConditionId("0xbd31…"), token_id=TokenId("5211…"), side=Side.BUY,
    price_pips=5700, size_micro=10_000_000, taker_order_id=OrderHash("0x06bc…0c42"),
    trader_side="MAKER", owner="<api key>",
    maker_fills=(MakerFill(order_id=OrderHash("0xff35…"), owner="<api key>",
                           token_id=TokenId("5211…"), side=Side.SELL, price_pips=5700,
                           matched_size_micro=10_000_000),),
    ts_event_ms=1672290701000, ts_recv_ns=RECV)


def test_order_example() -> None:
    assert decode_user(ORDER, RECV) == [ORDER_EVENT]


def test_trade_example() -> None:
    assert decode_user(TRADE, RECV) == [TRADE_EVENT]


def test_array_and_keepalive() -> None:
    assert decode_user(b"[" + ORDER + b"," + TRADE + b"]", RECV) == [ORDER_EVENT, TRADE_EVENT]
    assert decode_user(b"PONG", RECV) == []
    assert decode_user(b"", RECV) == []


def _trade(**changes: object) -> bytes:
    doc = orjson.loads(TRADE)
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return orjson.dumps(doc)


@pytest.mark.parametrize(("status", "expected"), [
    ("TRADE_STATUS_CONFIRMED", TradeStatus.CONFIRMED), ("MINED", TradeStatus.MINED),
    ("RETRYING", TradeStatus.RETRYING), ("TRADE_STATUS_FAILED", TradeStatus.FAILED),
])
def test_trade_status_prefix_stripped(status: str, expected: TradeStatus) -> None:
    (trade,) = decode_user(_trade(status=status), RECV)
    assert isinstance(trade, TradeEvent)
    assert trade.status is expected


def test_trade_without_maker_orders_and_with_old_matchtime() -> None:
    frame = _trade(maker_orders=None, timestamp=None, match_time=None, last_update=None,
                   matchtime="1672290702", trader_side="TAKER")
    (trade,) = decode_user(frame, RECV)
    assert isinstance(trade, TradeEvent)
    assert trade.maker_fills == ()
    assert trade.ts_event_ms == 1672290702000
    assert trade.trader_side == "TAKER"


def test_trade_null_maker_orders() -> None:
    frame = orjson.dumps({**orjson.loads(TRADE), "maker_orders": None})
    (trade,) = decode_user(frame, RECV)
    assert isinstance(trade, TradeEvent)
    assert trade.maker_fills == ()


def test_order_update_partial_fill_without_timestamp_uses_created_at() -> None:
    doc = {**orjson.loads(ORDER), "type": "UPDATE", "status": "MATCHED", "size_matched": "2.5"}
    doc.pop("timestamp")
    (order,) = decode_user(orjson.dumps(doc), RECV)
    assert isinstance(order, OrderEvent)
    assert order.type is OrderEventType.UPDATE
    assert order.size_matched_micro == 2_500_000
    assert order.ts_event_ms == 1672290687000


# A FOK the venue killed, as recorded by nautilus (ws_user_order_fok_killed.json, ids redacted).
FOK_KILLED = (b'{"id":"0x78xx","owner":"00000000-0000-0000-0000-000000000001","market":"0x0014",'
              b'"asset_id":"256","side":"BUY","order_owner":"00000000-0000-0000-0000-000000000001",'
              b'"original_size":"12","size_matched":"","price":"0.6","associate_trades":[],'
              b'"outcome":"","type":"CANCELLATION","created_at":"","expiration":"0",'
              b'"order_type":"FOK","status":"CANCELED_order couldn\'t be fully filled. FOK orders '
              b'are fully filled or killed.","maker_address":"0xf39f","timestamp":"1777824065000",'
              b'"event_type":"order"}')


def test_killed_fok_with_empty_size_matched_is_an_order_event() -> None:
    (order,) = decode_user(FOK_KILLED, RECV)
    assert order == OrderEvent(
        order_id=OrderHash("0x78xx"), condition_id=ConditionId("0x0014"), token_id=TokenId("256"),
        side=Side.BUY, type=OrderEventType.CANCELLATION,
        status="CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed.",
        price_pips=6000, original_size_micro=12_000_000, size_matched_micro=0,
        owner="00000000-0000-0000-0000-000000000001", ts_event_ms=1777824065000,
        ts_recv_ns=RECV)


def test_order_with_empty_created_at_and_no_timestamp_is_missing_its_time() -> None:
    doc = orjson.loads(FOK_KILLED)
    doc.pop("timestamp")
    with pytest.raises(WireError) as info:
        decode_user(orjson.dumps(doc), RECV)
    assert info.value.reason == "missing_field" and "timestamp" in str(info.value)


def test_trade_timestamp_in_seconds_is_not_taken_as_milliseconds() -> None:
    # nautilus user_trade3.json: "timestamp" in seconds, equal to last_update (2025-11-10).
    (trade,) = decode_user(_trade(timestamp="1762776436", last_update="1762776436"), RECV)
    assert isinstance(trade, TradeEvent)
    assert trade.ts_event_ms == 1_762_776_436_000


def test_seconds_field_sent_in_milliseconds_is_not_scaled_again() -> None:
    # nautilus ws_user_order_venue_cancel.json: "created_at" in milliseconds.
    doc = {**orjson.loads(ORDER), "created_at": "1774377384000"}
    doc.pop("timestamp")
    (order,) = decode_user(orjson.dumps(doc), RECV)
    assert order.ts_event_ms == 1_774_377_384_000


@pytest.mark.parametrize(("raw", "ms"), [
    ("0", 0), ("1762776436", 1_762_776_436_000), (SECONDS_BELOW - 1, (SECONDS_BELOW - 1) * 1000),
    (SECONDS_BELOW, SECONDS_BELOW), ("1762776436000", 1_762_776_436_000),
    (MS_BELOW - 1, MS_BELOW - 1),
])
def test_epoch_ms_tells_seconds_from_milliseconds(raw: object, ms: int) -> None:
    assert epoch_ms(raw) == ms


@pytest.mark.parametrize("raw", [MS_BELOW, "1762776436000000", "1762776436000000000"])
def test_epoch_ms_refuses_micro_and_nanoseconds(raw: object) -> None:
    with pytest.raises(ValueError, match="neither Unix seconds nor milliseconds"):
        epoch_ms(raw)


@pytest.mark.parametrize(("frame", "reason"), [
    (_trade(timestamp="1762776436000000"), "bad_number"),
    (orjson.dumps({**orjson.loads(ORDER), "size_matched": None}), "bad_type"),
    (orjson.dumps({**orjson.loads(ORDER), "size_matched": " "}), "bad_number"),
    (_trade(status="MATCHED_NOT_BROADCASTED"), "bad_value"),
    (_trade(side="HOLD"), "bad_value"),
    (_trade(maker_orders={"order_id": "x"}), "bad_type"),
    (_trade(maker_orders=[{"order_id": "x"}]), "missing_field"),
    (_trade(maker_orders=[{"order_id": "x", "asset_id": "1", "side": "BUY", "price": "0.5",
                           "matched_amount": "1.0000001"}]), "bad_number"),
    (_trade(size=10), "bad_type"),
    (_trade(timestamp=None, match_time=None, last_update=None), "missing_field"),
    (orjson.dumps({**orjson.loads(ORDER), "type": "REPLACE"}), "bad_value"),
    (b'{"event_type":"balance"}', "unknown_event"),
])
def test_user_errors(frame: bytes, reason: str) -> None:
    with pytest.raises(WireError) as info:
        decode_user(frame, RECV)
    assert info.value.reason == reason
