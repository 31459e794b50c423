"""The metrics tier: bot → npm StatsD daemon → carbon-cache → graphite-web, every panel has data.

All real, all on 127.0.0.1: the simulated venue, ``bin/polymm run`` against it with StatsD on,
the npm StatsD daemon with the shipped ``conf/grafana/statsd-config.js`` (test ports and a 1 s
flush on top), Debian's carbon-cache and graphite-web (``scripts/install-graphite.sh``; config
and whisper files in the test's temp dir, a 1 s retention to match the flush). The dashboard's
template variables are resolved the way Grafana does, through graphite-web's ``/metrics/find``
(``mode`` and ``instance`` must list this run's; ``market`` is "All", its ``allValue``), and
every target of every panel in ``conf/grafana/dashboards/`` is asked for through
``/render?format=json`` over the dashboard's own time range: each must return a non-null point.

Panels that show trouble need the trouble to happen, so the test makes it, through the venue's
admin routes, while the target is still empty: socket drops (reconnects), a freeze longer than
the feeds' liveness timeout (silent sockets), a short market freeze that loses book updates
(a checksum mismatch, so a resync), a taker against one of our orders (fills); the venue's fault
profile injects malformed frames (decode errors) and a low ``max_open_orders_per_market`` makes
the risk check drop posts (trims, risk rejects). Synchronised by polling the render API until a
deadline (``Event.wait`` between rounds).

Skipped only when Graphite or the StatsD daemon cannot be installed on this machine (no apt /
root / network, no node): the reason is in the pytest summary. ``make test`` installs both first.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runtime.metric_names import parse_graphite_path
from sim.process import SimProcess
from tests.e2e import series_override, terminate, wait_until
from tests.graphite_listener import dashboard_panels, series_paths
from tests.graphite_stack import GraphiteStack, install, non_null
from tests.loopback_http import free_port
from tests.test_e2e_statsd import SHIPPED_CONFIG, STATSD_DIR

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "conf" / "grafana" / "dashboards"
STATSD_INSTALL = ROOT / "scripts" / "install-statsd.sh"
MODE, INSTANCE = "paper", "graphite-e2e"
PREFIX_TEMPLATE = "polymm.$mode.$instance"
WINDOW_S = 30
LIVENESS_S = 3
FLUSH_MS = 1000
STARTUP_S = 60.0
DATA_DEADLINE_S = 120.0
BOT_DURATION_S = 300  # the bot's own bound; the test stops it as soon as every panel has data
TRIGGER_EVERY_S = 8.0

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              # install (first run on a fresh machine) + start-up + the data deadline
              pytest.mark.timeout(600)]


# -- the stack -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graphite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphiteStack]:
    reason = install()
    if reason is not None:
        pytest.skip(reason)
    stack = GraphiteStack(tmp_path_factory.mktemp("graphite")).start(STARTUP_S)
    yield stack
    stack.stop()


@dataclass
class StatsdDaemon:
    proc: subprocess.Popen[bytes]
    udp_port: int
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@pytest.fixture(scope="module")
def statsd_to_carbon(graphite: GraphiteStack,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatsdDaemon]:
    """The npm StatsD daemon, its graphite backend at our carbon, flushing every second."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Graphite tier skipped: node/npm not installed (the StatsD daemon)")
    proc = subprocess.run(["bash", str(STATSD_INSTALL)], capture_output=True, text=True,
                          timeout=600, check=False)
    if proc.returncode == 3:
        pytest.skip(f"Graphite tier skipped: {proc.stderr.strip()}")
    assert proc.returncode == 0, f"install-statsd.sh failed:\n{proc.stdout}{proc.stderr}"
    tmp = tmp_path_factory.mktemp("statsd")
    udp_port = free_port(socket.SOCK_DGRAM)
    overrides = {"port": udp_port, "address": "127.0.0.1", "mgmt_port": free_port(),
                 "mgmt_address": "127.0.0.1", "graphiteHost": "127.0.0.1",
                 "graphitePort": graphite.line_port, "flushInterval": FLUSH_MS,
                 "automaticConfigReload": False}
    # The daemon evals "config = " + file: the shipped config (its namespace settings are
    # what is under test), with the test's ports and flush on top.
    conf = tmp / "statsd.js"
    conf.write_text(f"Object.assign({SHIPPED_CONFIG.read_text()}, {json.dumps(overrides)})\n")
    log = tmp / "statsd.log"
    with log.open("wb") as out:
        daemon = StatsdDaemon(subprocess.Popen(["node", "stats.js", str(conf)], cwd=STATSD_DIR,
                                               stdout=out, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL), udp_port, log)
    try:
        # Its own numStats gauge, every flush: proves daemon → carbon → graphite-web first.
        wait_until(lambda: non_null(graphite.render("stats.statsd.numStats", "-5min")) > 0,
                   STARTUP_S, "the daemon's stats.statsd.numStats in graphite-web", 0.5,
                   dead=lambda: _dead(daemon, graphite))
        yield daemon
    finally:
        terminate(daemon.proc, 10)


def _dead(daemon: StatsdDaemon, graphite: GraphiteStack) -> str:
    if daemon.proc.poll() is not None:
        return f"statsd exited ({daemon.proc.returncode}):\n{daemon.log_tail()}"
    return graphite.alive()


# -- the bot and the venue -----------------------------------------------------------------------

class Bot:
    """``bin/polymm run`` against ``venue_url``, its StatsD client at the daemon."""

    def __init__(self, tmp: Path, venue_url: str, statsd_port: int) -> None:
        self.tmp = tmp
        self.log_path = tmp / "bot.log"
        sets = [f"event_log.dir={tmp / 'events'}", "statsd.host=127.0.0.1",
                f"statsd.port={statsd_port}", f"instance={INSTANCE}",
                f"sim.window_seconds={WINDOW_S}", series_override(WINDOW_S),
                "quoter.min_seconds_to_close=5",
                # The collateral panel needs a Treasury transaction: a redeem after the first
                # window with a fill, looked for every second.
                "treasury.interval_s=1",
                # Below what the quoter asks for (a bid and an ask per market): the risk
                # check drops a post of every pass that posts both.
                "risk.max_open_orders_per_market=1"]
        for feed in ("market_feed", "price_feed"):
            sets += [f"{feed}.liveness_timeout_s={LIVENESS_S}", f"{feed}.ping_interval_s=1"]
        for feed in ("market_feed", "user_feed", "price_feed"):
            sets += [f"{feed}.reconnect_max_s=1"]
        cmd = [sys.executable, str(ROOT / "bin" / "polymm"), "run", "--venue-url", venue_url,
               "--duration", str(BOT_DURATION_S), "--summary", str(tmp / "summary.json")]
        for s in sets:
            cmd += ["--set", s]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def dead(self) -> str:
        if self.proc.poll() is not None:
            return f"the bot exited ({self.proc.returncode}):\n{self.log_tail()}"
        return ""

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> int:
        """SIGTERM (the bot's own graceful shutdown), then SIGKILL to its session."""
        terminate(self.proc, 60, group=True)
        self._log.close()
        return self.proc.returncode


def _fill_one_of_ours(sim: SimProcess) -> None:
    """A taker against one of our resting orders (the only key with orders is the bot's)."""
    keys = list(sim.state().get("open_orders", {}))
    live = [o for k in keys for o in sim.orders(k) if o.get("status") == "LIVE"]
    if live:
        o = live[0]
        side = "SELL" if o["side"] == "BUY" else "BUY"
        sim.take(str(o["asset_id"]), side, f"{int(o['price_pips']) / 10_000:.4f}", "1000")


# What makes a panel's metric move when a run does not by itself, by metric name.
TRIGGERS: dict[str, Callable[[SimProcess], object]] = {
    "feed.reconnects": lambda sim: sim.drop("market", "user", "prices"),
    "feed.silent_sockets": lambda sim: sim.freeze("market", "prices", seconds=LIVENESS_S + 3),
    # Book updates lost while frozen: the next best bid/ask disagrees with our book.
    "feed.resyncs": lambda sim: sim.freeze("market", seconds=0.5),
    "orders.fills": _fill_one_of_ours,
}
MALFORMED = {"name": "malformed-frames",
             "sockets": {"channels": ["market", "user", "prices"], "malformed_per_min": 30.0}}


# -- the dashboard -------------------------------------------------------------------------------

@dataclass
class Target:
    dashboard: str
    panel: str
    raw: str
    metrics: set[str]
    resolved: str = ""
    frm: str = "-1h"
    until: str = "now"
    points: int = 0
    reply: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel}: {self.resolved or self.raw}"


def _targets(path: Path, dash: dict[str, Any]) -> list[Target]:
    out = []
    for p in dashboard_panels(dash):
        for t in p.get("targets", []):
            if t.get("hide"):
                continue
            names = {parse_graphite_path(s, PREFIX_TEMPLATE)[0].name
                     for s in series_paths(t["target"])}
            out.append(Target(path.name, p["title"], t["target"], names))
    return out


_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def substitute(text: str, values: dict[str, str]) -> str:
    """Grafana's ``$var`` / ``${var}`` interpolation for the variables in ``values``."""
    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return values.get(name, m.group(0))
    return _VAR.sub(one, text)


def template_values(dash: dict[str, Any], find: Callable[[str], list[str]],
                    wanted: dict[str, str]) -> dict[str, str] | None:
    """The dashboard's template variables as Grafana resolves them, in order; None until
    every query lists what it must (``wanted``: this run's mode and instance).

    A variable with a saved "All" takes its ``allValue`` (or every option); a saved value is
    used as is; an unsaved one is the run's (``wanted``), which its query must list.
    """
    values: dict[str, str] = {}
    for var in dash.get("templating", {}).get("list", []):
        name = var["name"]
        options = find(substitute(var["query"], values))
        current = (var.get("current") or {}).get("value")
        if current in ("$__all", ["$__all"]):
            if not options:
                return None
            values[name] = var.get("allValue") or "{" + ",".join(options) + "}"
        elif current:
            values[name] = current if isinstance(current, str) else "{" + ",".join(current) + "}"
        elif name in wanted:
            if wanted[name] not in options:
                return None
            values[name] = wanted[name]
        elif options:
            values[name] = options[0]
        else:
            return None
    return values


def _graphite_range(dash: dict[str, Any]) -> tuple[str, str]:
    """Grafana's ``now-1h`` .. ``now`` as Graphite's ``-1h`` .. ``now``."""
    t = dash.get("time") or {"from": "now-1h", "to": "now"}
    return (t["from"].removeprefix("now"), t["to"].removeprefix("now") or "now")


# -- the test ------------------------------------------------------------------------------------

def test_every_dashboard_panel_target_returns_data_from_graphite(graphite, statsd_to_carbon,
                                                                 tmp_path):
    dashboards = sorted(DASHBOARDS.glob("*.json"))
    assert dashboards
    loaded = [(p, json.loads(p.read_text())) for p in dashboards]
    targets = [t for p, d in loaded for t in _targets(p, d)]
    assert len(targets) >= 20

    sim_log = (tmp_path / "sim.log").open("wb")
    sim = SimProcess(["--window-seconds", str(WINDOW_S), "--seed", "5", "--assets", "btc",
                      "--noise-rate", "20", "--log-level", "WARNING"], stderr=sim_log).start()
    bot: Bot | None = None
    try:
        sim.set_faults(MALFORMED)
        bot = Bot(tmp_path, sim.base_url, statsd_to_carbon.udp_port)
        running = bot

        def dead() -> str:
            return (running.dead() or _dead(statsd_to_carbon, graphite)
                    or ("" if sim.running() else "the simulated venue exited"))

        for path, dash in loaded:
            values = wait_until(lambda d=dash: template_values(
                d, graphite.find, {"mode": MODE, "instance": INSTANCE}),
                DATA_DEADLINE_S, f"{path.name}: template variables listing {MODE}/{INSTANCE}",
                0.5, dead=dead)
            frm, until = _graphite_range(dash)
            for t in targets:
                if t.dashboard == path.name:
                    t.resolved, t.frm, t.until = substitute(t.raw, values), frm, until

        fired: dict[str, float] = {}

        def all_have_data() -> bool:
            missing = [t for t in targets if not t.points]
            for t in missing:
                t.reply = graphite.render(t.resolved, t.frm, t.until)
                t.points = non_null(t.reply)
            still = {m for t in missing if not t.points for m in t.metrics}
            now = time.monotonic()
            for name in sorted(still & TRIGGERS.keys()):
                if now - fired.get(name, -1e9) >= TRIGGER_EVERY_S:
                    fired[name] = now
                    TRIGGERS[name](sim)
            return not any(not t.points for t in targets)

        wait_until(all_have_data, DATA_DEADLINE_S, "data for every panel target", 1.0,
                   dead=dead, explain=lambda: _explain(targets, graphite, statsd_to_carbon,
                                                       running))
        # Every line the bot sent parsed: the daemon counted no bad line.
        bad = graphite.render("stats.counters.statsd.bad_lines_seen.count", "-1h")
        assert non_null(bad) and {v for s in bad for v, _ in s["datapoints"]
                                  if v is not None} == {0.0}, bad
    finally:
        if bot is not None:
            bot.stop()
        sim.stop()
        sim_log.close()


def _explain(targets: list[Target], graphite: GraphiteStack, daemon: StatsdDaemon,
             bot: Bot) -> str:
    lines = ["panel targets without a data point:"]
    for t in targets:
        if not t.points:
            shape = [(s.get("target"), len(s.get("datapoints", []))) for s in t.reply]
            lines.append(f"  {t}  -> series {shape}")
    try:
        # One line per metric: the stats of a timer or counter would be twenty lines each.
        prefix = f".polymm.{MODE}.{INSTANCE}."
        names = sorted({n.split(prefix, 1)[1].rsplit(".", 1)[0] if n.startswith(
            ("stats.timers.", "stats.counters.")) else n.split(prefix, 1)[1]
            for n in graphite.index() if prefix in n})
    except OSError as exc:
        names = [f"/metrics/index.json failed: {exc}"]
    lines.append(f"graphite has {len(names)} metrics of this run: {' '.join(names)}")
    lines += ["--- bot log", bot.log_tail(), "--- statsd log", daemon.log_tail(),
              graphite.log_tail()]
    return "\n".join(lines)
