"""The price feed (PolyBolt and RTDS) and the feeds' pure helpers."""

from __future__ import annotations

import logging

import orjson
import pytest

from actors.market_feed import MarketFeed
from actors.price_feed import PriceFeed, polybolt_close_policy, rtds_subscriptions
from actors.ws_support import (
    LogLimiter,
    ReconnectBackoff,
    close_code,
    feed_config_errors,
    redact,
    retry_after_s,
    timer_interval_s,
)
from messages import FeedStatus, PriceSource, PriceUpdate
from messages.errors import ConfigError
from tests.builders import make_markets_changed, market_n
from tests.fakes import Collector, FakeCreds, make_feed_config
from tests.test_feeds import stop_feeds
from tests.wsserver import WsServer


def polybolt_reply(conn, text):
    doc = orjson.loads(text)
    if doc.get("op") == "auth":
        return [orjson.dumps({"op": "authed", "rid": doc["rid"]}).decode()]
    if doc.get("op") == "subscribe":
        return [orjson.dumps({"op": "subscribed", "channel": s["channel"], "rid": doc["rid"]})
                .decode() for s in doc["subscriptions"]]
    if doc.get("op") == "ping":
        return ['{"op":"pong"}']
    return []


def tick_frame(symbol: str = "btcusd", value: str = "64126.5", channel: str = "price.crypto"):
    payload = {"symbol": symbol, "value": float(value), "full_accuracy_value": value,
               "timestamp": 1788973001000, "source": "chainlink"}
    if channel.endswith("twap"):
        payload["window_seconds"] = 60
    return orjson.dumps({"v": 1, "channel": channel, "seq": 2, "ts": 1788973001000,
                         "payload": payload}).decode()


@pytest.fixture
def server():
    srv = WsServer(reply=polybolt_reply).start()
    yield srv
    stop_feeds()
    srv.stop()


@pytest.fixture
def sink():
    return Collector()


def start_polybolt(server, sink, assets=("btc",), **cfg):
    return PriceFeed.start(server.url("/ws/prices"), make_feed_config(**cfg), FakeCreds(),
                           list(assets), [sink])


def test_polybolt_auth_then_subscribe_then_ticks(server, sink, caplog):
    caplog.set_level(logging.DEBUG)
    ref = start_polybolt(server, sink, raw_log_sample=1)
    conn = server.wait_conn(0)
    auth, sub = (orjson.loads(f) for f in server.wait_frames(conn, 2))
    assert auth["op"] == "auth" and auth["auth"]["apiKey"] == FakeCreds().api_key
    assert sub == {"op": "subscribe", "rid": sub["rid"], "subscriptions": [
        {"channel": "price.crypto", "filter": {"symbol": "btcusd"}},
        {"channel": "price.crypto.twap", "filter": {"symbol": "btcusd", "window_seconds": 60}}]}
    server.send(conn, tick_frame("ethusd"))  # not ours: dropped
    server.send(conn, tick_frame(channel="price.crypto.twap", value="64000.25"))
    server.send(conn, tick_frame())
    ticks = sink.wait_of(PriceUpdate, 2)
    assert [(t.asset, t.source, t.price_e8) for t in ticks] == [
        ("btc", PriceSource.TWAP, 6_400_025_000_000), ("btc", PriceSource.BINANCE,
                                                       6_412_650_000_000)]
    assert ref.proxy().stats().get(timeout=5)["decode_errors"] == 0
    assert FakeCreds().secret not in caplog.text


def test_polybolt_assets_follow_markets(server, sink):
    ref = start_polybolt(server, sink)
    conn = server.wait_conn(0)
    server.wait_frames(conn, 2)
    ref.tell(make_markets_changed(market_n(0, asset="eth")))
    sub = orjson.loads(server.wait_frames(conn, 3)[2])
    assert sub["op"] == "subscribe"
    assert [s["filter"]["symbol"] for s in sub["subscriptions"]] == ["ethusd", "ethusd"]
    ref.tell(make_markets_changed(market_n(0, asset="btc")))
    unsub = orjson.loads(server.wait_frames(conn, 4)[3])
    assert unsub["op"] == "unsubscribe"
    assert {s["filter"]["symbol"] for s in unsub["subscriptions"]} == {"ethusd"}


def test_polybolt_ping_op(server, sink):
    start_polybolt(server, sink, ping_interval_s=0.02)
    conn = server.wait_conn(0)
    server.wait_for(lambda: sum(f == '{"op":"ping"}' for f in conn.received) >= 3)


@pytest.mark.parametrize(("code", "reason"), [(4003, "draining"), (4001, "auth_failed"),
                                              (4002, "slow_consumer"),
                                              (4008, "policy_violation")])
def test_polybolt_close_codes_reconnect_and_reauth(server, sink, code, reason):
    start_polybolt(server, sink)
    first = server.wait_conn(0)
    server.wait_frames(first, 2)
    server.close(first, code)
    (down,) = sink.wait_of(FeedStatus, connected=False)
    assert down.reason == reason
    second = server.wait_conn(1)
    auth, _ = (orjson.loads(f) for f in server.wait_frames(second, 2))
    assert auth["op"] == "auth"


def test_polybolt_silent_socket(sink):
    srv = WsServer(reply=polybolt_reply).start()
    try:
        ref = PriceFeed.start(srv.url(), make_feed_config(liveness_timeout_s=0.2,
                                                          ping_interval_s=0.02),
                              FakeCreds(), ["btc"], [sink])
        srv.wait_conn(0)
        # pongs answer our pings, but no price data arrives: the socket is silent.
        (down,) = sink.wait_of(FeedStatus, connected=False)
        assert down.reason == "silent"
        srv.wait_conn(1)
        ref.stop()
    finally:
        srv.stop()


def test_rtds_subscribe_and_ping():
    srv = WsServer().start()
    sink = Collector()
    try:
        PriceFeed.start(srv.url("/rtds"), make_feed_config(provider="rtds", ping_interval_s=0.02),
                        None, ["btc", "eth"], [sink])
        conn = srv.wait_conn(0)
        (sub,) = srv.wait_frames(conn, 1)
        doc = orjson.loads(sub)
        assert doc["action"] == "subscribe"
        assert doc["subscriptions"][0] == {"topic": "crypto_prices", "type": "update",
                                           "filters": "btcusdt,ethusdt"}
        assert doc["subscriptions"][1]["filters"] == '{"symbol":"btc/usd"}'
        srv.wait_for(lambda: conn.received.count("PING") >= 2)
        srv.send(conn, orjson.dumps({
            "topic": "crypto_prices_chainlink", "type": "update", "timestamp": 1753314088421,
            "payload": {"symbol": "btc/usd", "timestamp": 1753314088395,
                        "value": 67234.5}}).decode())
        (tick,) = sink.wait_of(PriceUpdate)
        assert tick.source == PriceSource.CHAINLINK and tick.price_e8 == 6_723_450_000_000
    finally:
        stop_feeds()
        srv.stop()


# -- pure helpers ----------------------------------------------------------------------------


def test_close_policy_table():
    assert polybolt_close_policy(4001) == ("auth_failed", "max")
    assert polybolt_close_policy(4002) == ("slow_consumer", "backoff")
    assert polybolt_close_policy(4003) == ("draining", "drain")
    assert polybolt_close_policy(4008) == ("policy_violation", "max")
    assert polybolt_close_policy(1006) == ("closed_1006", "backoff")


def test_backoff_is_exponential_jittered_capped_and_resets():
    lo = ReconnectBackoff(1.0, 8.0, rng=lambda: 0.0)
    hi = ReconnectBackoff(1.0, 8.0, rng=lambda: 1.0)
    assert [lo.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert [hi.next_delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    hi.reset()
    assert hi.next_delay() == 1.0


def test_log_limiter_bursts_then_samples():
    now = [0.0]
    lim = LogLimiter(burst=2, period_s=10.0, clock=lambda: now[0])
    assert [lim.allow() for _ in range(5)] == [0, 0, None, None, None]
    now[0] = 10.5
    assert lim.allow() == 3  # reports how many were suppressed


def test_redact_and_close_code_and_retry_after():
    assert redact({"type": "user", "auth": {"secret": "s"}}) == {"type": "user",
                                                                 "auth": "********"}
    assert redact("PING") == "PING"
    assert close_code(b"\x0f\xa3draining") == 4003 and close_code(b"") == 1005

    class Refused(Exception):
        def __init__(self) -> None:
            super().__init__("429")
            self.resp_headers = {"Retry-After": "7"}

    assert retry_after_s(Refused()) == 7.0 and retry_after_s(ValueError()) is None


def test_feed_config_validation_and_rtds_filters():
    with pytest.raises(ConfigError) as err:
        MarketFeed("ws://127.0.0.1:1/", make_feed_config(reconnect_min_s=5, reconnect_max_s=1),
                   [])
    assert "market_feed.reconnect_min_s" in str(err.value)
    assert feed_config_errors(make_feed_config(), "x") == []
    assert timer_interval_s(make_feed_config(ping_interval_s=10, liveness_timeout_s=0.2)) \
        == pytest.approx(0.05)
    assert rtds_subscriptions(["sol"])[-1] == {"topic": "crypto_prices_twap_sixty", "type": "*"}
    with pytest.raises(ConfigError):
        PriceFeed(url="ws://127.0.0.1:1/", config=make_feed_config(provider="x"), creds=None,
                  assets=[], sinks=[])
