"""Exact StatsD lines on a real UDP socket."""

from __future__ import annotations

import socket

import pytest

from runtime.metric_names import BY_NAME, TABLE
from runtime.metrics import Metrics


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


def test_kind_and_dimension_must_match_the_table(udp):
    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="p")
    m.gauge("orders.fills", 1)  # a counter used as a gauge
    m.incr("risk.inventory_shares", dim="btc-15m")  # a gauge used as a counter
    m.incr("orders.rejects")  # needs a reason
    m.incr("orders.fills", dim="x")  # has no dimension
    m.timing_ms("orders.fills", 1.0)
    m.incr("orders.fills")
    m.flush()
    assert _lines(udp, 1) == ["p.orders.fills:1|c"]
    assert m.misused == {"orders.fills", "risk.inventory_shares", "orders.rejects"}
    assert m.unknown == set()
    m.close()


def test_negative_bool_and_non_finite_gauges(udp):
    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="p")
    m.gauge("risk.pnl_usd", -3.25)
    m.gauge("risk.kill_switch", True)
    m.gauge("risk.notional_usd", float("nan"))
    m.timing_ms("orders.diff_ms", float("inf"))
    m.flush()
    # A leading "-" is a delta to StatsD: the absolute value is set by "0" first.
    assert _lines(udp, 3) == ["p.risk.pnl_usd:0|g", "p.risk.pnl_usd:-3.25|g",
                              "p.risk.kill_switch:1|g"]
    m.close()


def test_drop_gauge_stops_the_heartbeat(udp):
    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="p")
    m.gauge("risk.inventory_shares", 1, dim="btc-15m")
    m.gauge("risk.inventory_shares", 2, dim="eth-15m")
    m.drop_gauge("risk.inventory_shares", dim="btc-15m")
    m.flush()
    assert _lines(udp, 1) == ["p.risk.inventory_shares.eth-15m:2|g"]
    m.close()


def test_timer_sample_rate_thins_only_per_message_timers(udp):
    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="p", seed=7, timer_sample_rate=0.1)
    for i in range(1000):
        m.timing_ms("feed.ws_message_lag_ms", float(i), dim="market")
    for i in range(100):
        m.timing_ms("orders.diff_ms", float(i))  # low rate: every sample kept
    m.gauge("orders.open", 1)  # gauges go last: the end marker
    m.flush()
    lines: list[str] = []
    while "p.orders.open:1|g" not in lines:
        lines.extend(_lines(udp, 1))
    lag = [x for x in lines if x.startswith("p.feed.ws_message_lag_ms.market:")]
    diff = [x for x in lines if x.startswith("p.orders.diff_ms:")]
    assert 50 <= len(lag) <= 150  # ~100 of 1000 (seeded)
    assert len(diff) == 100
    m.close()


def test_build_metrics_prefix_and_off_switch():
    from polymm.config_schema import Config, StatsdConfig
    from runtime.metrics import build_metrics, metrics_prefix

    cfg = Config(mode="paper", instance="bot-1", statsd=StatsdConfig(enabled=False))
    assert metrics_prefix(cfg) == "polymm.paper.bot-1"
    assert build_metrics(cfg) is None


def test_counters_from_many_threads_add_up_exactly_across_concurrent_flushes(udp):
    import threading

    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="p")
    go = threading.Event()

    def work():
        go.wait(5)
        for _ in range(20_000):
            m.incr("state.events_applied")

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    go.set()
    while any(w.is_alive() for w in workers):
        m.flush()  # flushes race the writers
    for w in workers:
        w.join(10)
    m.flush()
    total = 0
    while total < 80_000:
        for line in _lines(udp, 1):
            name, _, value = line.partition(":")
            assert name == "p.state.events_applied"
            total += int(value.removesuffix("|c"))
    assert total == 80_000
    assert m.totals == {"state.events_applied": 80_000}
    m.close()


def test_full_reservoir_keeps_a_uniform_sample(udp):
    port = udp.getsockname()[1]
    m = Metrics(host="127.0.0.1", port=port, prefix="p", max_samples=200, seed=3)
    for i in range(20_000):
        m.timing_ms("orders.sign_ms", float(i))
    m.gauge("orders.open", 1)
    m.flush()
    lines: list[str] = []
    while "p.orders.open:1|g" not in lines:
        lines.extend(_lines(udp, 1))
    kept = sorted(float(x.split(":")[1].removesuffix("|ms")) for x in lines
                  if x.startswith("p.orders.sign_ms:"))
    assert len(kept) == 200
    # Uniform over 0..19999: about 20 per tenth; the early and late tenths are both there.
    tenths = [sum(1 for v in kept if k * 2000 <= v < (k + 1) * 2000) for k in range(10)]
    assert all(5 <= n <= 40 for n in tenths), tenths
    m.close()
