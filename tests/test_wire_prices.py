"""venue.wire.decode_polybolt / decode_rtds: reference-price frames (§3)."""

from __future__ import annotations

import orjson
import pytest

from messages import PriceSource, PriceUpdate
from venue.wire import WireError, asset_of, decode_polybolt, decode_rtds

RECV = 1_788_973_001_000_000_123

# Protocol §3.2 envelope example, verbatim.
POLYBOLT_PRICE = (b'{"v":1,"channel":"price.crypto","seq":2,"ts":1788973001000,"payload":'
                  b'{"symbol":"btcusd","value":64126.0,"full_accuracy_value":"64126.00000000",'
                  b'"timestamp":1788973001000,"source":"pyth"}}')
POLYBOLT_TWAP = orjson.dumps({
    "v": 1, "channel": "price.crypto.twap", "seq": 7, "ts": 1788973002000,
    "payload": {"symbol": "ethusd", "window_seconds": 60, "value": 2411.23,
                "full_accuracy_value": "2411.2345678912", "timestamp": 1788973001500,
                "source": "chainlink"}})
POLYBOLT_SNAPSHOT = orjson.dumps({
    "v": 1, "channel": "price.crypto", "seq": 1, "ts": 1788973000000, "snapshot": True,
    "payload": {"symbol": "solusd", "source": "chainlink", "data": [
        {"timestamp": 1788972999000, "value": 150.5, "full_accuracy_value": "150.50000000"},
        {"timestamp": 1788973000000, "value": 150.25}]}})
# Protocol §3.1 envelope example, verbatim.
RTDS_CHAINLINK = (b'{"topic":"crypto_prices_chainlink","type":"update","timestamp":1753314088421,'
                  b'"payload":{"symbol":"btc/usd","timestamp":1753314088395,"value":67234.50}}')
RTDS_BINANCE = (b'{"topic":"crypto_prices","type":"update","timestamp":1753314088421,'
                b'"payload":{"symbol":"btcusdt","timestamp":1753314088395,"value":67240.12}}')
RTDS_TWAP = orjson.dumps({
    "topic": "crypto_prices_twap_sixty", "type": "update", "timestamp": 1753314088421,
    "payload": {"symbol": "btc/usd", "timestamp": 1753314088000, "window_s": 60,
                "value": 67230.1, "full_accuracy_value": "67230123456789012345678"}})


def _tick(**kw: object) -> PriceUpdate:
    base: dict[str, object] = {"ts_recv_ns": RECV}
    return PriceUpdate(**{**base, **kw})  # type: ignore[arg-type]


def test_polybolt_price_example() -> None:
    assert decode_polybolt(POLYBOLT_PRICE, RECV) == [_tick(
        asset="btc", source=PriceSource.BINANCE, price_e8=6_412_600_000_000,
        ts_event_ms=1788973001000, provider="pyth", seq=2)]


def test_polybolt_twap() -> None:
    assert decode_polybolt(POLYBOLT_TWAP, RECV) == [_tick(
        asset="eth", source=PriceSource.TWAP, price_e8=241_123_456_789,
        ts_event_ms=1788973001500, provider="chainlink", window_seconds=60, seq=7)]


def test_polybolt_snapshot_one_tick_per_point() -> None:
    ticks = decode_polybolt(POLYBOLT_SNAPSHOT, RECV)
    assert ticks == [
        _tick(asset="sol", source=PriceSource.BINANCE, price_e8=15_050_000_000,
              ts_event_ms=1788972999000, provider="chainlink", seq=1, snapshot=True),
        _tick(asset="sol", source=PriceSource.BINANCE, price_e8=15_025_000_000,
              ts_event_ms=1788973000000, provider="chainlink", seq=1, snapshot=True),
    ]
    empty = orjson.dumps({"v": 1, "channel": "price.crypto.twap", "seq": 1, "snapshot": True,
                          "payload": {"symbol": "btcusd", "data": []}})
    assert decode_polybolt(empty, RECV) == []


@pytest.mark.parametrize("frame", [
    b'{"op":"authed","rid":"a1"}', b'{"op":"subscribed","channel":"price.crypto","rid":"s1"}',
    b'{"op":"unsubscribed","channel":"price.crypto","rid":"u1"}', b'{"op":"pong"}', b"", b" ",
])
def test_polybolt_control_frames(frame: bytes) -> None:
    assert decode_polybolt(frame, RECV) == []


@pytest.mark.parametrize("code", ["auth_required", "auth_invalid", "bad_filter", "sub_limit",
                                  "rate_limited"])
def test_polybolt_error_frame(code: str) -> None:
    with pytest.raises(WireError, match=code) as info:
        decode_polybolt(orjson.dumps({"op": "error", "code": code, "rid": "s1"}), RECV)
    assert info.value.reason == "venue_error"


def test_rtds_examples() -> None:
    assert decode_rtds(RTDS_CHAINLINK, RECV) == [_tick(
        asset="btc", source=PriceSource.CHAINLINK, price_e8=6_723_450_000_000,
        ts_event_ms=1753314088395)]
    assert decode_rtds(RTDS_BINANCE, RECV) == [_tick(
        asset="btc", source=PriceSource.BINANCE, price_e8=6_724_012_000_000,
        ts_event_ms=1753314088395)]
    assert decode_rtds(RTDS_TWAP, RECV) == [_tick(
        asset="btc", source=PriceSource.TWAP, price_e8=6_723_012_345_678,
        ts_event_ms=1753314088000, window_seconds=60)]
    assert decode_rtds(b"PONG", RECV) == []


def test_rtds_subscribe_dump() -> None:
    frame = orjson.dumps({"topic": "crypto_prices", "type": "subscribe", "timestamp": 5,
                          "payload": {"symbol": "ethusdt", "data": [
                              {"timestamp": 1, "value": 2400.5}, {"timestamp": 2, "value": 2401}]}})
    assert decode_rtds(frame, RECV) == [
        _tick(asset="eth", source=PriceSource.BINANCE, price_e8=240_050_000_000, ts_event_ms=1,
              snapshot=True),
        _tick(asset="eth", source=PriceSource.BINANCE, price_e8=240_100_000_000, ts_event_ms=2,
              snapshot=True)]


@pytest.mark.parametrize(("symbol", "asset"), [
    ("btcusd", "btc"), ("btcusdt", "btc"), ("btc/usd", "btc"), ("BTCUSD", "btc"),
    ("hypeusd", "hype"), ("eth", "eth")])
def test_asset_of(symbol: str, asset: str) -> None:
    assert asset_of(symbol) == asset


@pytest.mark.parametrize(("decode", "frame", "reason"), [
    (decode_polybolt, b'{"op":"weird"}', "unknown_event"),
    (decode_polybolt, b'{"v":1,"channel":"price.equity","payload":{}}', "unknown_event"),
    (decode_polybolt, b'{"v":1,"seq":1}', "missing_field"),
    (decode_polybolt, b'{"v":1,"channel":"price.crypto","payload":{"symbol":"btcusd",'
                      b'"full_accuracy_value":"-1","timestamp":1}}', "bad_number"),
    (decode_polybolt, b'{"v":1,"channel":"price.crypto","payload":{"symbol":"usd",'
                      b'"full_accuracy_value":"1","timestamp":1}}', "bad_value"),
    (decode_polybolt, b'{"v":1,"channel":"price.crypto","payload":{"symbol":"btcusd",'
                      b'"full_accuracy_value":"1"}}', "missing_field"),
    (decode_polybolt, b'{"v":1,"channel":"price.crypto","snapshot":true,'
                      b'"payload":{"symbol":"btcusd","data":{}}}', "bad_type"),
    (decode_rtds, b'{"topic":"comments","type":"comment_created","payload":{}}',
     "unknown_event"),
    (decode_rtds, b'{"type":"update"}', "missing_field"),
    (decode_rtds, b'{"topic":"crypto_prices","payload":{"symbol":"btcusdt","value":true,'
                  b'"timestamp":1}}', "bad_number"),
    (decode_rtds, b'{"topic":"crypto_prices","payload":{"symbol":"btcusdt","value":1e-9,'
                  b'"timestamp":1}}', "bad_number"),
    (decode_rtds, b'{"topic":"crypto_prices_twap_sixty","payload":{"symbol":"btc/usd",'
                  b'"full_accuracy_value":67000,"timestamp":1}}', "bad_type"),
])
def test_price_errors(decode: object, frame: bytes, reason: str) -> None:
    with pytest.raises(WireError) as info:
        decode(frame, RECV)  # type: ignore[operator]
    assert info.value.reason == reason
