"""The whole bot against the simulated venue, its metrics through the real StatsD daemon.

Reuses the daemon and dashboard machinery of ``test_e2e_statsd``: a ``BotSource`` runs
``bin/polymm run`` with its StatsD client pointed at the daemon, and the test asserts that the
feed lag, submit-latency and tick-to-order percentiles and the inventory gauges arrive under the
series the Grafana dashboard queries.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import terminate
from tests.test_e2e_statsd import (  # noqa: F401  (statsd_daemon is a fixture)
    ROOT,
    Expect,
    statsd_daemon,
)
from tests.test_e2e_statsd import (
    test_metrics_arrive_under_the_dashboards_series as check_dashboard_series,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _positive(v: float) -> bool:
    return v > 0


def _any(_v: float) -> bool:
    return True


class BotSource:
    """Runs the bot (with its own simulated venue) for a bounded time."""

    markets = ("btc-30s",)

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None
        self.prefix = ""

    def start(self, *, host: str, port: int, mode: str, instance: str) -> None:
        self.prefix = f"polymm.{mode}.{instance}"
        cmd = [sys.executable, str(ROOT / "bin" / "polymm"), "run", "--duration", "45",
               "--window-seconds", "30", "--seed", "5", "--summary", str(self.tmp / "s.json"),
               "--set", f"event_log.dir={self.tmp / 'events'}", "--set", f"statsd.host={host}",
               "--set", f"statsd.port={port}", "--set", f"instance={instance}",
               "--set", "sim.noise_rate_per_s=20", "--set", "quoter.min_seconds_to_close=5"]
        self.log = (self.tmp / "bot.log").open("wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def pump(self) -> None:
        if self.proc is not None and self.proc.poll() not in (None, 0):
            raise AssertionError(f"bot exited with {self.proc.returncode}: "
                                 f"{(self.tmp / 'bot.log').read_text()[-2000:]}")

    def expectations(self) -> list[Expect]:
        t, g = f"stats.timers.{self.prefix}", f"stats.gauges.{self.prefix}"
        return [
            Expect(f"{t}.feed.ws_message_lag_ms.market.upper_50", _any, "market lag p50"),
            Expect(f"{t}.feed.ws_message_lag_ms.market.upper_99", _any, "market lag p99"),
            Expect(f"{t}.feed.ws_message_lag_ms.price.upper_99", _any, "price lag p99"),
            Expect(f"{t}.orders.order_submit_latency_ms.post.upper_50", _positive,
                   "post submit p50"),
            Expect(f"{t}.orders.order_submit_latency_ms.post.upper_99", _positive,
                   "post submit p99"),
            Expect(f"{t}.orders.tick_to_order_ms.upper_50", _positive, "tick-to-order p50"),
            Expect(f"{t}.orders.tick_to_order_ms.upper_99", _positive, "tick-to-order p99"),
            Expect(f"{g}.risk.inventory_shares.btc-30s", _any, "inventory gauge"),
        ]

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc, 60)
        self.log.close()


@pytest.fixture
def bot_source(tmp_path):
    source = BotSource(tmp_path)
    yield source
    source.stop()


def test_bot_metrics_reach_the_dashboards_series(statsd_daemon, bot_source):  # noqa: F811
    check_dashboard_series(statsd_daemon, bot_source)
