"""End to end through the real StatsD daemon: Metrics → UDP → npm statsd → Graphite → listener.

The daemon (npm ``statsd``, installed by scripts/install-statsd.sh into ``.statsd/`` if it is not
there yet) runs as a subprocess with the shipped ``conf/grafana/statsd-config.js`` and test
ports: UDP and management on free loopback ports, its graphite backend pointed at a
``GraphiteListener``. The test checks that the lag, submit-latency and tick-to-order percentiles
and the inventory gauges arrive with the right values under series the Grafana dashboard
queries. Skipped only where node or npm is missing.

The metrics source is pluggable (``MetricsSource``): today ``DirectSource`` drives
``runtime.metrics.Metrics`` with known samples; a source that runs the bot against the simulated
venue can declare its own (looser) expectations the same way.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from polymm.config_schema import Config, StatsdConfig
from runtime.metrics import Metrics, metrics_prefix
from tests.e2e import terminate
from tests.graphite_listener import GraphiteListener, Point, glob_regex, series_paths
from tests.loopback_http import free_port

ROOT = Path(__file__).resolve().parent.parent
STATSD_DIR = ROOT / ".statsd" / "node_modules" / "statsd"
SHIPPED_CONFIG = ROOT / "conf" / "grafana" / "statsd-config.js"
DASHBOARD = ROOT / "conf" / "grafana" / "dashboards" / "polymm.json"
DEADLINE_S = 30.0

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node/npm not installed: the StatsD daemon cannot run here")


@dataclass(frozen=True, slots=True)
class Expect:
    """A series that must arrive, and what at least one of its values must satisfy."""

    path: str
    ok: Callable[[float], bool]
    what: str


class MetricsSource(Protocol):
    """Emits polymm metrics to the daemon at ``host:port`` under ``polymm.<mode>.<instance>``."""

    markets: tuple[str, ...]

    def start(self, *, host: str, port: int, mode: str, instance: str) -> None: ...

    def pump(self) -> None:
        """Emit one round; called repeatedly until the expectations hold (UDP may drop)."""

    def expectations(self) -> list[Expect]: ...

    def stop(self) -> None: ...


def _eq(x: float) -> Callable[[float], bool]:
    return lambda v: v == x


class DirectSource:
    """Drives ``Metrics`` with fixed samples, one complete round per flush."""

    markets = ("btc-15m", "eth-15m")

    def __init__(self) -> None:
        self._m: Metrics | None = None
        self.prefix = ""

    def start(self, *, host: str, port: int, mode: str, instance: str) -> None:
        cfg = Config(mode=mode, instance=instance, statsd=StatsdConfig(host=host, port=port))
        self.prefix = metrics_prefix(cfg)
        # Not started: pump() flushes, so each round reaches the daemon as one burst.
        self._m = Metrics(host=host, port=port, prefix=self.prefix)

    def pump(self) -> None:
        m = self._m
        if m is None:
            raise RuntimeError("DirectSource.pump before start")
        for i in range(1, 101):
            m.timing_ms("feed.ws_message_lag_ms", i, dim="market")
            m.timing_ms("feed.ws_message_lag_ms", 100 + i, dim="price")
            m.timing_ms("orders.tick_to_order_ms", i * 0.25)
            m.timing_ms("orders.order_submit_latency_ms", 9 + i, dim="post")
            m.timing_ms("orders.order_submit_latency_ms", 2 * i, dim="cancel")
        m.gauge("risk.inventory_shares", 12.5, dim="btc-15m")
        m.gauge("risk.inventory_shares", -3.5, dim="eth-15m")  # negative: "0|g" then "-3.5|g"
        m.incr("orders.fills", 3)
        m.flush()

    def expectations(self) -> list[Expect]:
        t = f"stats.timers.{self.prefix}"
        g = f"stats.gauges.{self.prefix}"
        c = f"stats.counters.{self.prefix}"
        # With percentThreshold [50, 99] over 100 sorted samples v, upper_50 = v[49] and
        # upper_99 = v[98] (statsd: values[round(pct/100 * count) - 1]).
        return [
            Expect(f"{t}.feed.ws_message_lag_ms.market.upper_50", _eq(50), "market lag p50"),
            Expect(f"{t}.feed.ws_message_lag_ms.market.upper_99", _eq(99), "market lag p99"),
            Expect(f"{t}.feed.ws_message_lag_ms.price.upper_50", _eq(150), "price lag p50"),
            Expect(f"{t}.feed.ws_message_lag_ms.price.upper_99", _eq(199), "price lag p99"),
            Expect(f"{t}.orders.tick_to_order_ms.upper_50", _eq(12.5), "tick-to-order p50"),
            Expect(f"{t}.orders.tick_to_order_ms.upper_99", _eq(24.75), "tick-to-order p99"),
            Expect(f"{t}.orders.order_submit_latency_ms.post.upper_50", _eq(59), "post p50"),
            Expect(f"{t}.orders.order_submit_latency_ms.post.upper_99", _eq(108), "post p99"),
            Expect(f"{t}.orders.order_submit_latency_ms.cancel.upper_50", _eq(100),
                   "cancel p50"),
            Expect(f"{t}.orders.order_submit_latency_ms.cancel.upper_99", _eq(198),
                   "cancel p99"),
            Expect(f"{g}.risk.inventory_shares.btc-15m", _eq(12.5), "btc inventory"),
            Expect(f"{g}.risk.inventory_shares.eth-15m", _eq(-3.5), "eth inventory"),
            Expect(f"{c}.orders.fills.count", lambda v: v > 0 and v % 3 == 0, "fills"),
        ]

    def stop(self) -> None:
        if self._m is not None:
            self._m.close()


# -- the daemon ----------------------------------------------------------------------------------

def _install() -> None:
    # Idempotent: a no-op (one node call) when the pinned version is already in .statsd/.
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "install-statsd.sh")],
                          capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        pytest.fail(f"install-statsd.sh failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    udp_port: int
    listener: GraphiteListener
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def wait_for(self, predicate: Callable[[list[Point]], bool], timeout: float) -> bool:
        """Wait on the listener in short slices, failing fast if the daemon exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.listener.wait_for(predicate, min(0.5, deadline - time.monotonic())):
                return True
            if self.proc.poll() is not None:
                pytest.fail(f"statsd exited with {self.proc.returncode}:\n{self.log_tail()}")
        return False


@pytest.fixture
def statsd_daemon(tmp_path: Path) -> Iterator[Daemon]:
    _install()
    listener = GraphiteListener().start()
    udp_port = free_port(socket.SOCK_DGRAM)
    overrides = {"port": udp_port, "address": "127.0.0.1",
                 "mgmt_port": free_port(), "mgmt_address": "127.0.0.1",
                 "graphiteHost": "127.0.0.1", "graphitePort": listener.port,
                 "flushInterval": 1000, "automaticConfigReload": False}
    # The daemon evals "config = " + file: the shipped config, with the test's ports on top.
    conf = tmp_path / "statsd-test.js"
    conf.write_text(f"Object.assign({SHIPPED_CONFIG.read_text()}, {json.dumps(overrides)})\n")
    log = tmp_path / "statsd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["node", "stats.js", str(conf)], cwd=STATSD_DIR,
                                stdout=out, stderr=subprocess.STDOUT)
    daemon = Daemon(proc, udp_port, listener, log)
    try:
        # The daemon's own stats arrive at every flush: the first proves UDP server + backend up.
        if not daemon.wait_for(lambda pts: any(p.path == "stats.statsd.numStats" for p in pts),
                               DEADLINE_S):
            pytest.fail(f"statsd sent nothing to the listener:\n{daemon.log_tail()}")
        yield daemon
    finally:
        terminate(proc, 10)
        listener.stop()


@pytest.fixture
def metrics_source() -> Iterator[MetricsSource]:
    source = DirectSource()
    yield source
    source.stop()


# -- the test ------------------------------------------------------------------------------------

def _dashboard_globs(mode: str, instance: str, markets: tuple[str, ...]) -> list[re.Pattern[str]]:
    dash = json.loads(DASHBOARD.read_text())
    panels = [q for p in dash["panels"] for q in [p, *p.get("panels", [])]]
    subst = {"$mode": mode, "$instance": instance, "$market": "{" + ",".join(markets) + "}"}
    out = []
    for p in panels:
        for t in p.get("targets", []):
            for path in series_paths(t["target"]):
                for var, value in subst.items():
                    path = path.replace(var, value)
                out.append(glob_regex(path))
    return out


def test_metrics_arrive_under_the_dashboards_series(statsd_daemon, metrics_source):
    mode, instance = "paper", "e2e"
    metrics_source.start(host="127.0.0.1", port=statsd_daemon.udp_port, mode=mode,
                         instance=instance)
    expects = metrics_source.expectations()

    globs = _dashboard_globs(mode, instance, metrics_source.markets)
    unqueried = [e.path for e in expects if not any(g.match(e.path) for g in globs)]
    assert not unqueried, f"not queried by any dashboard panel: {unqueried}"

    def satisfied(points: list[Point]) -> bool:
        return not _missing(expects, points)

    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        metrics_source.pump()
        if statsd_daemon.wait_for(satisfied, min(1.5, deadline - time.monotonic())):
            break
    missing = _missing(expects, statsd_daemon.listener.points())
    assert not missing, _explain(missing, statsd_daemon)
    # Every line we sent parsed (negative gauges, float timers): the daemon counted no bad line.
    bad = statsd_daemon.listener.values("stats.counters.statsd.bad_lines_seen.count")
    assert bad and set(bad) == {0.0}, _explain([], statsd_daemon)
    assert not statsd_daemon.listener.bad_lines


def _missing(expects: list[Expect], points: list[Point]) -> list[Expect]:
    seen: dict[str, list[float]] = {}
    for p in points:
        seen.setdefault(p.path, []).append(p.value)
    return [e for e in expects if not any(e.ok(v) for v in seen.get(e.path, []))]


def _explain(missing: list[Expect], daemon: Daemon) -> str:
    got: dict[str, list[float]] = {}
    for p in daemon.listener.points():
        got.setdefault(p.path, []).append(p.value)
    lines = [f"missing {e.what}: {e.path} (got {got.get(e.path)})" for e in missing]
    lines += [f"received {len(got)} series; statsd log:", daemon.log_tail()]
    return "\n".join(lines)
