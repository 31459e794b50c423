"""The Grafana dashboard and provisioning agree with the metric table (they cannot drift)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from runtime.metric_names import (
    BY_NAME,
    COUNTER,
    GAUGE,
    PERCENT_THRESHOLDS,
    TABLE,
    TIMER,
    graphite_path,
    parse_graphite_path,
)
from tests.graphite_listener import dashboard_panels, expand_braces, glob_regex, series_paths

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "conf" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "polymm.json"
PREFIX = "polymm.$mode.$instance"


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _targets(dash: dict) -> list[tuple[str, str]]:
    return [(p["title"], t["target"]) for p in dashboard_panels(dash) for t in p.get("targets", [])]


def test_every_dashboard_target_is_a_table_metric_of_the_right_kind():
    targets = _targets(_dashboard())
    assert len(targets) >= 20
    problems = []
    for title, target in targets:
        paths = series_paths(target)
        if not paths:
            problems.append(f"{title}: no series path in {target!r}")
        for path in paths:
            try:
                d, dim, _ = parse_graphite_path(path, PREFIX)
            except ValueError as exc:
                problems.append(f"{title}: {exc}")
                continue
            # The name itself must be spelled out: a glob there could match anything.
            if any(c in d.name for c in "*?[{$"):
                problems.append(f"{title}: glob in metric name {path}")
            if d.dim == "market" and dim not in ("$market", "*"):
                problems.append(f"{title}: market metric {path} ignores $market")
    assert not problems, "\n".join(problems)


def test_dashboard_covers_the_panels_the_issue_asks_for():
    queried: dict[str, set[str]] = {}
    for _, target in _targets(_dashboard()):
        for path in series_paths(target):
            d, _, stat = parse_graphite_path(path, PREFIX)
            queried.setdefault(d.name, set()).add(stat)
    p50_p99 = {f"upper_{PERCENT_THRESHOLDS[0]}", f"upper_{PERCENT_THRESHOLDS[-1]}"}
    for name in ("feed.ws_message_lag_ms", "orders.tick_to_order_ms",
                 "orders.order_submit_latency_ms", "orders.sign_ms"):
        assert p50_p99 <= queried.get(name, set()), name
    for name in ("orders.fills", "orders.rejects", "risk.inventory_shares", "risk.pnl_usd",
                 "state.snapshots_coalesced", "actors.mailbox_depth", "feed.reconnects",
                 "quoter.gated_markets"):
        assert name in queried, name


# -- every queried metric has an emitter ---------------------------------------------------------
# The bot's own code: tests, the simulated venue and the benchmarks do not count as emitters.
BOT_PACKAGES = ("actors", "trading", "venue", "polymm", "messages", "runtime", "journal")
# ``Metrics``' methods, and the thin ``_incr``/``_gauge``/``_timing`` wrappers the actors call.
EMIT_KINDS = {"incr": COUNTER, "_incr": COUNTER, "gauge": GAUGE, "_gauge": GAUGE,
              "timing_ms": TIMER, "_timing": TIMER}


def emit_sites(root: Path = ROOT, packages: tuple[str, ...] = BOT_PACKAGES
               ) -> dict[str, set[tuple[str, str]]]:
    """Metric name -> ``{(kind, "file:line")}`` of every emit call with a literal name.

    An emit call is ``<anything>.incr("name", ...)`` (or ``gauge``, ``timing_ms`` and the
    wrappers); a name built at run time is not seen, so every emitted name must be spelled out
    at its call site, as the metric table asks.
    """
    out: dict[str, set[tuple[str, str]]] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in EMIT_KINDS and node.args
                        and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    out.setdefault(node.args[0].value, set()).add(
                        (EMIT_KINDS[node.func.attr], f"{path.relative_to(root)}:{node.lineno}"))
    return out


def test_every_dashboard_metric_is_emitted_by_the_bot():
    # A panel on a name nothing sends shows "No data" for ever; the metric table alone cannot
    # tell (tests/test_e2e_graphite.py then checks that each one really reaches Graphite).
    sites = emit_sites()
    problems = []
    for title, target in _targets(_dashboard()):
        for path in series_paths(target):
            d, _, _ = parse_graphite_path(path, PREFIX)
            kinds = {k for k, _ in sites.get(d.name, set())}
            if not kinds:
                problems.append(f"{title}: {d.name} is emitted nowhere in {BOT_PACKAGES}")
            elif d.kind not in kinds:
                problems.append(f"{title}: {d.name} is a {d.kind}, emitted only as {kinds}")
    assert not problems, "\n".join(problems)


def test_every_table_metric_is_emitted_by_the_bot():
    sites = emit_sites()
    dead = [d.name for d in TABLE if d.kind not in {k for k, _ in sites.get(d.name, set())}]
    assert not dead, f"in runtime/metric_names.py but emitted nowhere (as its kind): {dead}"


def test_emit_site_scan(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "m.incr('a.count')\n"
        "self._gauge('b.level', 1, dim='x')\n"
        "self._metrics.timing_ms('c.ms', 2.0)\n"
        "m.timing_ms(name, 3.0)\n"        # a name built at run time: not seen
        "log.info('d.not_metric')\n"
        "incr('e.bare')\n")               # not a method call: not an emit site
    sites = emit_sites(tmp_path, ("pkg",))
    assert sites == {"a.count": {(COUNTER, "pkg/m.py:1")}, "b.level": {(GAUGE, "pkg/m.py:2")},
                     "c.ms": {(TIMER, "pkg/m.py:3")}}


def test_percentile_stats_match_the_shipped_statsd_config():
    text = (GRAFANA / "statsd-config.js").read_text()
    m = re.search(r"percentThreshold:\s*\[([^\]]*)\]", text)
    assert m is not None
    assert tuple(int(x) for x in m.group(1).split(",")) == PERCENT_THRESHOLDS
    assert re.search(r"legacyNamespace:\s*false", text)
    assert re.search(r'globalPrefix:\s*"stats"', text)


def test_dashboard_identity_and_templating():
    dash = _dashboard()
    assert dash["uid"] == "polymm-main"
    names = [v["name"] for v in dash["templating"]["list"]]
    assert names == ["mode", "instance", "market"]
    queries = {v["name"]: v["query"] for v in dash["templating"]["list"]}
    # Each variable lists the segment at its own position in the prefix.
    assert queries["mode"] == "stats.gauges.polymm.*"
    assert queries["instance"] == "stats.gauges.polymm.$mode.*"
    d, dim, _ = parse_graphite_path(queries["market"], PREFIX)
    assert (d.dim, dim) == ("market", "*")
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))


def test_provisioning_points_at_the_dashboard_datasource():
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/graphite.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "graphite"
    uids = {p["datasource"]["uid"] for p in dashboard_panels(_dashboard())}
    uids |= {t["datasource"]["uid"] for p in dashboard_panels(_dashboard()) for t in p["targets"]}
    assert uids == {source["uid"]}
    prov = yaml.safe_load((GRAFANA / "provisioning/dashboards/polymm.yaml").read_text())
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]


# -- the checker itself --------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("stats.timers.polymm.$mode.$instance.feed.ws_message_lag_ms.market.upper_99",
     ("feed.ws_message_lag_ms", "market", "upper_99")),
    ("stats.counters.polymm.$mode.$instance.orders.fills.count", ("orders.fills", "", "count")),
    ("stats.gauges.polymm.$mode.$instance.risk.inventory_shares.$market",
     ("risk.inventory_shares", "$market", "")),
    ("stats.timers.polymm.$mode.$instance.orders.tick_to_order_ms.median",
     ("orders.tick_to_order_ms", "", "median")),
])
def test_parse_accepts_what_statsd_writes(path, expected):
    d, dim, stat = parse_graphite_path(path, PREFIX)
    assert (d.name, dim, stat) == expected


@pytest.mark.parametrize(("path", "why"), [
    ("stats.counters.polymm.$mode.$instance.orders.fills", "not a counter stat"),
    ("stats.gauges.polymm.$mode.$instance.orders.fills.count", "no metric"),
    ("stats.timers.polymm.$mode.$instance.orders.fills.count", "is a counter, queried as a timer"),
    ("stats.timers.polymm.$mode.$instance.orders.tick_to_order_ms.upper_90", "not a timer stat"),
    ("stats.gauges.polymm.$mode.$instance.risk.inventory_shares", "no metric"),
    ("stats.gauges.polymm.$mode.$instance.risk.pnl_usd.x", "no metric"),
    ("stats.polymm.$mode.$instance.orders.fills", "not under"),
    ("stats_counts.polymm.$mode.$instance.orders.fills", "not under"),
])
def test_parse_rejects_what_the_table_cannot_produce(path, why):
    with pytest.raises(ValueError, match=why):
        parse_graphite_path(path, PREFIX)


def test_graphite_path_round_trips_every_table_name():
    for d in TABLE:
        dim = "x" if d.dim else ""
        stat = {"counter": "count", "timer": "upper_99", "gauge": ""}[d.kind]
        path = graphite_path("polymm.paper.i", d.name, dim, stat)
        assert parse_graphite_path(path, "polymm.paper.i") == (BY_NAME[d.name], dim, stat)


def test_series_paths_and_globs():
    target = ("aliasByNode(summarize(stats.counters.p.feed.reconnects.{market,price}.count, "
              "'1min', 'sum', false), 6, 7)")
    assert series_paths(target) == ["stats.counters.p.feed.reconnects.market.count",
                                    "stats.counters.p.feed.reconnects.price.count"]
    assert series_paths("alias(stats.gauges.p.risk.pnl_usd, 'stats.fake')") == [
        "stats.gauges.p.risk.pnl_usd"]
    assert list(expand_braces("a.{b,c}.d")) == ["a.b.d", "a.c.d"]
    rx = glob_regex("stats.gauges.p.risk.inventory_shares.{btc-15m,eth-15m}")
    assert rx.match("stats.gauges.p.risk.inventory_shares.eth-15m")
    assert not rx.match("stats.gauges.p.risk.inventory_shares.sol-15m")
    assert glob_regex("a.*.c").match("a.b.c") and not glob_regex("a.*.c").match("a.b.x.c")
