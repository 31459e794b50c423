"""Exact StatsD lines on a real UDP socket."""

from __future__ import annotations

import socket

import pytest

from polymm.metric_names import BY_NAME, TABLE
from polymm.metrics import Metrics


@pytest.fixture
def udp():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def _lines(sock: socket.socket, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        data, _ = sock.recvfrom(65536)
        out.extend(data.decode().split("\n"))
    return out


def test_counters_gauges_timers_are_aggregated_and_sent(udp):
    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="polymm.paper.t1")
    for _ in range(3):
        m.incr("state.events_applied")
    m.incr("feed.decode_errors", 2, dim="market")
    m.gauge("risk.inventory_shares", 12.5, dim="btc-5m")
    m.timing_ms("orders.tick_to_order_ms", 0.25)
    m.flush()
    lines = _lines(udp, 4)
    assert sorted(lines) == sorted([
        "polymm.paper.t1.state.events_applied:3|c",
        "polymm.paper.t1.feed.decode_errors.market:2|c",
        "polymm.paper.t1.orders.tick_to_order_ms:0.250000|ms",
        "polymm.paper.t1.risk.inventory_shares.btc-5m:12.5|g",
    ])
    # Gauges are re-sent on every flush (a heartbeat); counters only when they moved.
    m.flush()
    assert _lines(udp, 1) == ["polymm.paper.t1.risk.inventory_shares.btc-5m:12.5|g"]
    m.close()


def test_unknown_names_are_not_emitted(udp):
    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="p")
    m.incr("no.such.metric")
    m.incr("state.events_applied")
    m.flush()
    assert _lines(udp, 1) == ["p.state.events_applied:1|c"]
    assert m.unknown == {"no.such.metric"}
    m.close()


def test_timer_samples_are_bounded_per_interval(udp):
    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="p", max_samples=10, seed=1)
    for i in range(1000):
        m.timing_ms("quoter.build_ms", float(i))
    m.flush()
    lines = _lines(udp, 10)
    assert len(lines) == 10
    assert all(line.startswith("p.quoter.build_ms:") and line.endswith("|ms") for line in lines)
    m.close()


def test_dimensions_are_one_segment(udp):
    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="p")
    m.incr("orders.rejects", dim="post only.cross|x")
    m.flush()
    assert _lines(udp, 1) == ["p.orders.rejects.post_only_cross_x:1|c"]
    m.close()


def test_table_is_well_formed():
    assert len(BY_NAME) == len(TABLE)
    for d in TABLE:
        assert d.kind in ("counter", "gauge", "timer")
        assert d.meaning
        if d.kind == "timer":
            assert d.name.endswith(("_ms", "batch_size")), d.name
