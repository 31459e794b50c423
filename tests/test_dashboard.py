"""The Grafana dashboard and provisioning agree with the metric table (they cannot drift)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from polymm.metric_names import (
    BY_NAME,
    PERCENT_THRESHOLDS,
    TABLE,
    graphite_path,
    parse_graphite_path,
)
from tests.graphite_listener import expand_braces, glob_regex, series_paths

GRAFANA = Path(__file__).resolve().parent.parent / "conf" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "polymm.json"
PREFIX = "polymm.$mode.$instance"


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _panels(dash: dict) -> list[dict]:
    out = []
    for p in dash["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))  # collapsed rows keep their panels inside
    return [p for p in out if p.get("type") != "row"]


def _targets(dash: dict) -> list[tuple[str, str]]:
    return [(p["title"], t["target"]) for p in _panels(dash) for t in p.get("targets", [])]


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
    uids = {p["datasource"]["uid"] for p in _panels(_dashboard())}
    uids |= {t["datasource"]["uid"] for p in _panels(_dashboard()) for t in p["targets"]}
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
