"""Two feed guarantees against the loopback websocket server: the measured lag is
``receive time − venue time`` in milliseconds (positive for a late frame), and raw frames are
logged one in ``raw_log_sample`` (N > 1), not every frame and not none.
"""

from __future__ import annotations

import logging
import time

import orjson
import pytest

from actors.market_feed import MarketFeed
from actors.price_feed import PriceFeed
from messages import BookSnapshot, PriceUpdate
from tests.fakes import Collector, FakeCreds, FakeMetrics, make_feed_config
from tests.test_feeds import book_frame, stop_feeds
from tests.test_feeds_price import polybolt_reply
from tests.wsserver import WsServer

LATE_MS = 2500
"""How old the venue time of a frame is when the server sends it."""
UNIT_BOUND_MS = 60_000
"""Far above any loopback delay, far below the next unit's error (seconds read as ms would
be ~1000x off the other way; ns or µs ~10^6x): the upper bound only checks the unit."""


@pytest.fixture
def server():
    srv = WsServer(reply=polybolt_reply).start()
    yield srv
    stop_feeds()
    srv.stop()


def price_frame(ts_ms: int) -> str:
    return orjson.dumps({"v": 1, "channel": "price.crypto", "seq": 2, "ts": ts_ms,
                         "payload": {"symbol": "btcusd", "value": 64126.5,
                                     "full_accuracy_value": "64126.5", "timestamp": ts_ms,
                                     "source": "binance"}}).decode()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _check_lag(lag: int | None, metrics: FakeMetrics, dim: str) -> None:
    assert lag is not None
    assert LATE_MS <= lag < LATE_MS + UNIT_BOUND_MS, lag
    assert ("feed.ws_message_lag_ms", lag, dim) in metrics.timings


def test_market_lag_is_receive_minus_venue_time_in_ms(server):
    sink, metrics = Collector(), FakeMetrics()
    ref = MarketFeed.start(server.url("/ws/market"), make_feed_config(), [sink],
                           metrics=metrics)
    conn = server.wait_conn(0)
    server.send(conn, book_frame("1000", ts_ms=now_ms() - LATE_MS))
    sink.wait_of(BookSnapshot)
    _check_lag(ref.proxy().stats().get(timeout=5)["lag_ms"], metrics, "market")


def test_price_lag_is_receive_minus_venue_time_in_ms(server):
    sink, metrics = Collector(), FakeMetrics()
    ref = PriceFeed.start(server.url("/ws/prices"), make_feed_config(), FakeCreds(), ["btc"],
                          [sink], metrics=metrics)
    conn = server.wait_conn(0)
    server.wait_frames(conn, 2)  # auth, subscribe
    server.send(conn, price_frame(now_ms() - LATE_MS))
    sink.wait_of(PriceUpdate)
    _check_lag(ref.proxy().stats().get(timeout=5)["lag_ms"], metrics, "price")


@pytest.mark.parametrize("n", [3, 4])
def test_raw_frames_are_logged_one_in_n(server, caplog, n):
    caplog.set_level(logging.DEBUG, logger="polymm.raw.market")
    sink = Collector()
    MarketFeed.start(server.url("/ws/market"), make_feed_config(raw_log_sample=n), [sink])
    conn = server.wait_conn(0)
    frames = 3 * n
    for k in range(frames):
        server.send(conn, book_frame(f"{7000 + k}", ts_ms=now_ms()))
    sink.wait_of(BookSnapshot, frames)  # each frame is logged (or not) before it is decoded
    raw = [r.getMessage() for r in caplog.records if r.name == "polymm.raw.market"]
    logged = [k for k in range(frames) if any(f'"asset_id":"{7000 + k}"' in m for m in raw)]
    assert logged == [n - 1, 2 * n - 1, 3 * n - 1], raw  # the n-th, 2n-th and 3n-th frames
    assert len(raw) == 3
