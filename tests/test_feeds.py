"""Market and user feeds against the loopback websocket server (tests/wsserver.py)."""

from __future__ import annotations

import logging
import threading

import orjson
import pykka
import pytest

from actors.market_feed import MarketFeed
from actors.user_feed import UserFeed
from actors.ws_feed import WsFeed
from messages import BestBidAsk, BookChange, BookSnapshot, FeedStatus, OrderEvent
from tests.builders import make_markets_changed, market_n
from tests.fakes import Collector, FakeCreds, FakeMetrics, make_feed_config
from tests.wsserver import WsServer

CID = "0x" + "ab" * 32


def book_frame(token: str = "1000", cid: str = "0x" + "00" * 32,
               ts_ms: int = 1757908892351) -> str:
    return orjson.dumps({
        "event_type": "book", "asset_id": token, "market": cid,
        "bids": [{"price": ".48", "size": "30"}], "asks": [{"price": ".52", "size": "25"}],
        "timestamp": str(ts_ms), "hash": "0xabc"}).decode()


def order_frame() -> str:
    return orjson.dumps({
        "event_type": "order", "type": "PLACEMENT", "id": "0x" + "ff" * 32, "owner": "k",
        "market": CID, "asset_id": "1001", "side": "SELL", "original_size": "10",
        "size_matched": "0", "price": "0.57", "status": "LIVE",
        "timestamp": "1672290687000"}).decode()


@pytest.fixture
def server():
    srv = WsServer().start()
    yield srv
    stop_feeds()
    srv.stop()


def stop_feeds():
    """Teardown: the feeds a test started against the server stop before the server does."""
    for ref in pykka.ActorRegistry.get_by_class(WsFeed):
        ref.stop()


@pytest.fixture
def sink():
    return Collector()


@pytest.fixture
def metrics():
    return FakeMetrics()


def start_market(server, sink, metrics=None, **cfg):
    return MarketFeed.start(server.url("/ws/market"), make_feed_config(**cfg), [sink],
                            metrics=metrics)


def test_subscribe_frame_and_decoded_events_reach_the_sink(server, sink):
    ref = start_market(server, sink)
    ref.tell(make_markets_changed(market_n(0), market_n(1)))
    conn = server.wait_conn(0)
    (first,) = server.wait_frames(conn, 1)
    assert orjson.loads(first) == {"type": "market", "assets_ids": ["1000", "1001", "1002",
                                                                     "1003"],
                                   "custom_feature_enabled": True}
    server.send(conn, book_frame())
    (book,) = sink.wait_of(BookSnapshot)
    assert book.token_id == "1000" and book.bids == ((4800, 30_000_000),)
    assert book.ts_recv_ns > 0
    assert sink.of(FeedStatus, feed="market", connected=True, reason="connected")


def test_live_subscription_changes_and_resync(server, sink):
    ref = start_market(server, sink)
    ref.tell(make_markets_changed(market_n(0)))
    conn = server.wait_conn(0)
    server.wait_frames(conn, 1)
    ref.tell(make_markets_changed(market_n(1)))
    frames = [orjson.loads(f) for f in server.wait_frames(conn, 3)]
    assert frames[1] == {"operation": "unsubscribe", "assets_ids": ["1000", "1001"]}
    assert frames[2] == {"operation": "subscribe", "assets_ids": ["1002", "1003"],
                         "custom_feature_enabled": True}
    ref.proxy().resync(["1003", "9999"]).get(timeout=5)  # 9999 is not subscribed: ignored
    frames = [orjson.loads(f) for f in server.wait_frames(conn, 5)]
    assert frames[3] == {"operation": "unsubscribe", "assets_ids": ["1003"]}
    assert frames[4] == {"operation": "subscribe", "assets_ids": ["1003"],
                         "custom_feature_enabled": True}
    (st,) = sink.wait_of(FeedStatus, reason="resync")
    assert st.token_ids == ("1003",) and st.connected
    assert conn.n == 0 and len(server.conns) == 1  # no reconnect was needed


def test_ping_keepalive(server, sink):
    start_market(server, sink, ping_interval_s=0.02)
    conn = server.wait_conn(0)
    server.wait_for(lambda: conn.received.count("PING") >= 3)


def test_malformed_and_oversize_frames_are_counted_and_skipped(server, sink, metrics):
    ref = start_market(server, sink, metrics, max_frame_bytes=4096)
    conn = server.wait_conn(0)
    server.send(conn, "{not json")
    server.send(conn, '{"event_type":"book","asset_id":"1"}')
    server.send(conn, "x" * 5000)
    server.send(conn, "PONG")
    server.send(conn, book_frame())
    sink.wait_of(BookSnapshot)
    stats = ref.proxy().stats().get(timeout=5)
    assert stats["decode_errors"] == 2 and stats["oversize_frames"] == 1
    assert stats["messages"] == 1
    assert metrics.count("feed.decode_errors", "market") == 3
    assert ref.is_alive()


def test_a_failing_sink_does_not_stop_the_reader(server, sink):
    def bad(msg):
        raise RuntimeError("boom")

    ref = MarketFeed.start(server.url(), make_feed_config(), [bad, sink])
    conn = server.wait_conn(0)
    server.send(conn, book_frame())
    server.send(conn, book_frame("1001"))
    sink.wait_of(BookSnapshot, 2)
    assert ref.proxy().stats().get(timeout=5)["sink_errors"] >= 2


def test_a_best_bid_ask_echoing_its_price_change_is_skipped_and_counted(server, sink):
    # The venue follows a change of the top with a best_bid_ask that repeats it
    # (venue.top_echoes): the State is not told it, and the feed's stats count it.
    ref = start_market(server, sink)
    ref.tell(make_markets_changed(market_n(0)))
    conn = server.wait_conn(0)
    server.wait_frames(conn, 1)
    cid = "0x" + "00" * 32
    server.send(conn, orjson.dumps({
        "event_type": "price_change", "market": cid, "timestamp": "1757908892351",
        "price_changes": [{"asset_id": "1000", "price": "0.49", "size": "10", "side": "BUY",
                           "hash": "0x1", "best_bid": "0.49", "best_ask": "0.52"}]}).decode())

    def top(bid: str, ts: str) -> str:
        return orjson.dumps({"event_type": "best_bid_ask", "market": cid, "asset_id": "1000",
                             "best_bid": bid, "best_ask": "0.52", "spread": "0.03",
                             "timestamp": ts}).decode()

    server.send(conn, top("0.49", "1757908892351"))  # the echo
    server.send(conn, top("0.48", "1757908892351"))  # disagrees with the change: told
    server.send(conn, top("0.49", "1757908892352"))  # a later event: told
    told = sink.wait_of(BestBidAsk, count=2)
    assert [(m.best_bid_pips, m.ts_event_ms) for m in told] == [
        (4800, 1757908892351), (4900, 1757908892352)]
    assert len(sink.of(BookChange)) == 1
    stats = ref.proxy().stats().get(timeout=5)
    assert stats["echoes_skipped"] == 1 and stats["messages"] == 3


def test_reconnect_resubscribes_and_reports(server, sink, metrics):
    ref = start_market(server, sink, metrics)
    ref.tell(make_markets_changed(market_n(0)))
    first = server.wait_conn(0)
    server.wait_frames(first, 1)
    server.drop(first)
    sink.wait_of(FeedStatus, connected=False)
    second = server.wait_conn(1)
    (sub,) = server.wait_frames(second, 1)
    assert orjson.loads(sub)["assets_ids"] == ["1000", "1001"]
    sink.wait_of(FeedStatus, connected=True, reason="resync")
    statuses = [(s.connected, s.reason) for s in sink.of(FeedStatus)]
    assert statuses[0] == (True, "connected") and statuses[-1] == (True, "resync")
    assert ref.proxy().stats().get(timeout=5)["reconnects"] == 1
    assert metrics.count("feed.reconnects", "market") == 1


def test_close_frame_reconnects(server, sink):
    start_market(server, sink)
    first = server.wait_conn(0)
    server.close(first, 1011)
    (down,) = sink.wait_of(FeedStatus, connected=False)
    assert down.reason == "closed_1011"
    server.wait_conn(1)


def test_silent_socket_is_detected_and_replaced():
    srv = WsServer(answer_ping=False).start()
    sink = Collector()
    try:
        ref = MarketFeed.start(srv.url(), make_feed_config(liveness_timeout_s=0.2,
                                                           ping_interval_s=0.05), [sink])
        ref.tell(make_markets_changed(market_n(0)))
        srv.wait_conn(0)
        (down,) = sink.wait_of(FeedStatus, connected=False)
        assert down.reason == "silent"
        second = srv.wait_conn(1)
        srv.wait_frames(second, 1)  # resubscribed on the new socket
        assert ref.proxy().stats().get(timeout=5)["silent"] >= 1
        ref.stop()
    finally:
        srv.stop()


def test_market_feed_without_subscriptions_is_not_declared_silent(server, sink):
    ref = start_market(server, sink, liveness_timeout_s=0.05, ping_interval_s=0.01)
    conn = server.wait_conn(0)
    # Many PINGs go by (each tick also checks liveness) without a reconnect.
    server.wait_for(lambda: conn.received.count("PING") >= 20)
    assert ref.proxy().stats().get(timeout=5)["silent"] == 0 and len(server.conns) == 1


# -- user feed -------------------------------------------------------------------------------


def start_user(server, sink, **cfg):
    return UserFeed.start(server.url("/ws/user"), make_feed_config(**cfg), FakeCreds(), [sink])


def test_user_auth_frame_subscriptions_and_events(server, sink):
    ref = start_user(server, sink)
    conn = server.wait_conn(0)
    (auth,) = server.wait_frames(conn, 1)
    creds = FakeCreds()
    assert orjson.loads(auth) == {
        "type": "user", "markets": [],
        "auth": {"apiKey": creds.api_key, "secret": creds.secret,
                 "passphrase": creds.passphrase}}
    ref.tell(make_markets_changed(market_n(1)))
    (_, sub) = server.wait_frames(conn, 2)
    assert orjson.loads(sub) == {"operation": "subscribe", "markets": ["0x" + "01" * 32]}
    server.send(conn, order_frame())
    (ev,) = sink.wait_of(OrderEvent)
    assert ev.price_pips == 5700 and ev.original_size_micro == 10_000_000


def test_user_reconnect_reauths_with_markets_and_reports_resync(server, sink):
    ref = start_user(server, sink)
    first = server.wait_conn(0)
    server.wait_frames(first, 1)
    ref.tell(make_markets_changed(market_n(2)))
    server.wait_frames(first, 2)
    server.drop(first)
    second = server.wait_conn(1)
    (auth,) = server.wait_frames(second, 1)
    assert orjson.loads(auth)["markets"] == ["0x" + "02" * 32]
    sink.wait_of(FeedStatus, feed="user", connected=True, reason="resync")


def test_user_auth_secrets_never_logged(server, sink, caplog):
    caplog.set_level(logging.DEBUG)
    ref = start_user(server, sink, raw_log_sample=1)
    conn = server.wait_conn(0)
    server.wait_frames(conn, 1)
    server.send(conn, order_frame())
    sink.wait_of(OrderEvent)
    server.drop(conn)
    server.wait_frames(server.wait_conn(1), 1)
    ref.stop()
    text = caplog.text + repr([r.args for r in caplog.records])
    assert "polymm.raw.user" in {r.name for r in caplog.records}  # raw logging was on
    assert '"auth":"********"' in caplog.text
    creds = FakeCreds()
    assert creds.secret not in text and creds.passphrase not in text


def test_user_feed_liveness_counts_pongs(server, sink):
    # The user channel is quiet while nothing trades: PONGs keep it alive.
    ref = start_user(server, sink, liveness_timeout_s=0.1, ping_interval_s=0.02)
    conn = server.wait_conn(0)
    server.wait_for(lambda: conn.received.count("PING") >= 15)
    assert ref.proxy().stats().get(timeout=5)["silent"] == 0


def test_user_feed_without_creds_fails_at_construction():
    from messages.errors import ConfigError

    with pytest.raises(ConfigError):
        UserFeed(url="ws://127.0.0.1:1/ws/user", config=make_feed_config(), creds=None,
                 sinks=[])


def test_no_reconnect_once_the_bot_shuts_down(server, sink):
    shutting_down = threading.Event()
    ref = MarketFeed.start(server.url("/ws/market"), make_feed_config(reconnect_min_s=0.01,
                                                                      reconnect_max_s=0.02),
                           [sink], shutdown=shutting_down)
    ref.tell(make_markets_changed(market_n(0)))
    first = server.wait_conn(0)
    server.wait_frames(first, 1)
    shutting_down.set()
    server.drop(first)
    sink.wait_of(FeedStatus, connected=False)
    reader = ref._actor_weakref()._reader
    reader.join(5)  # the reader ends instead of retrying the venue
    assert not reader.is_alive()
    assert len(server.conns) == 1
    ref.stop()


def test_a_socket_closed_before_the_read_loop_ends_it_without_a_crash():
    """A connection whose socket is already gone (``sock`` None) ends the read loop with a
    reason (the reader reconnects) instead of an AttributeError that would kill the reader."""
    from actors.ws_reader import ReaderLoop

    class Closed:
        sock = None

    feed = MarketFeed("ws://127.0.0.1:1/", make_feed_config(), [])  # never started
    assert ReaderLoop(feed)._read_loop(Closed()) == ("closed", None)
