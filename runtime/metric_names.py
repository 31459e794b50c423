"""The one table of metric names: nothing is emitted that is not in it.

Full StatsD names are ``<prefix>.<name>[.<dim>]`` with prefix ``polymm.<mode>.<instance>``;
the dimension (a feed, a market alias, a reason, an actor) always sits last. Units are in the
names (``_ms``, ``_pips``, ``_shares``, ``_usd``). The Grafana dashboard in ``conf/grafana/`` is
checked against this table by a test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricDef:
    name: str
    kind: str  # counter | gauge | timer
    unit: str
    dim: str  # "" or one of DIMS
    meaning: str


COUNTER, GAUGE, TIMER = "counter", "gauge", "timer"

DIMS: dict[str, str] = {
    "feed": "market | price | user",
    "market": "the market's alias (btc-15m, or a fixed slug's configured alias)",
    "outcome": "<market alias>-up | <market alias>-down",
    "reason": "a GateReason, RejectReason or risk-limit name",
    "actor": "the actor's role (state, quoter, order_manager, ...)",
    "op": "post | cancel (submit latency, batch size); order | cancel (rate budget)",
}
"""What the last segment of a dimensioned name holds, by the table's ``dim``."""

TABLE: tuple[MetricDef, ...] = (
    # feeds
    MetricDef("feed.ws_message_lag_ms", TIMER, "ms", "feed",
              "now - venue timestamp of a received message (market and price feeds)"),
    MetricDef("feed.messages", COUNTER, "messages", "feed", "frames received"),
    MetricDef("feed.bytes", COUNTER, "bytes", "feed", "bytes received"),
    MetricDef("feed.decode_errors", COUNTER, "frames", "feed", "frames rejected by the decoder"),
    MetricDef("feed.reconnects", COUNTER, "connects", "feed", "reconnects after a loss"),
    MetricDef("feed.silent_sockets", COUNTER, "events", "feed",
              "open sockets that stopped delivering data (liveness)"),
    MetricDef("feed.resyncs", COUNTER, "events", "feed", "book/user resyncs requested"),
    MetricDef("feed.connected", GAUGE, "bool", "feed", "1 while the feed is connected"),
    # discovery
    MetricDef("discovery.polls", COUNTER, "requests", "", "Gamma polls"),
    MetricDef("discovery.errors", COUNTER, "requests", "", "failed Gamma polls"),
    MetricDef("discovery.changes", COUNTER, "events", "", "MarketsChanged emitted"),
    MetricDef("discovery.markets", GAUGE, "markets", "", "markets being traded"),
    # state
    MetricDef("state.events_applied", COUNTER, "events", "", "feed events applied"),
    MetricDef("state.apply_errors", COUNTER, "events", "", "events that failed to apply"),
    MetricDef("state.snapshots_published", COUNTER, "snapshots", "", "snapshots put in the slot"),
    MetricDef("state.snapshots_coalesced", COUNTER, "snapshots", "",
              "snapshots replaced in the slot before the quoter took them"),
    MetricDef("state.checksum_mismatches", COUNTER, "events", "",
              "book best bid/ask disagreed with the venue's: resync"),
    # quoter
    MetricDef("quoter.build_ms", TIMER, "ms", "", "time to build desired quotes"),
    MetricDef("quoter.errors", COUNTER, "events", "", "strategy exceptions"),
    MetricDef("quoter.gated", COUNTER, "changes", "reason", "a market became gated, by reason"),
    MetricDef("quoter.gated_markets", GAUGE, "markets", "reason", "markets gated now, by reason"),
    MetricDef("quoter.fair_pips", GAUGE, "pips", "market", "fair value of Up"),
    MetricDef("quoter.half_spread_pips", GAUGE, "pips", "market", "quoted half spread"),
    # order manager
    MetricDef("orders.diff_ms", TIMER, "ms", "", "time to diff desired against live orders"),
    MetricDef("orders.sign_ms", TIMER, "ms", "", "build + sign time per order"),
    MetricDef("orders.order_submit_latency_ms", TIMER, "ms", "op",
              "REST round trip of a post or cancel batch (op = post | cancel)"),
    MetricDef("orders.tick_to_order_ms", TIMER, "ms", "",
              "receive time of the causing event to the moment the order bytes were sent"),
    MetricDef("orders.batch_size", TIMER, "orders", "op", "orders per REST batch"),
    MetricDef("orders.posted", COUNTER, "orders", "", "orders accepted by the venue"),
    MetricDef("orders.canceled", COUNTER, "orders", "", "orders canceled"),
    MetricDef("orders.rejects", COUNTER, "orders", "reason", "orders refused, by reason"),
    MetricDef("orders.unknown_resolved", COUNTER, "orders", "",
              "orders whose POST outcome was unknown, resolved"),
    MetricDef("orders.replace_waits", COUNTER, "orders", "",
              "replacements held back by risk until their cancel was confirmed"),
    MetricDef("orders.unknown_orders", COUNTER, "orders", "",
              "orders at the venue the bot did not send (canceled)"),
    MetricDef("orders.fills", COUNTER, "fills", "", "fills of our orders"),
    MetricDef("orders.heartbeat_ms", TIMER, "ms", "", "dead-man heartbeat round trip"),
    MetricDef("orders.heartbeat_errors", COUNTER, "requests", "", "failed heartbeats"),
    MetricDef("orders.rate_budget_remaining", GAUGE, "tokens", "op",
              "per-signer rate budget left (op = order | cancel)"),
    MetricDef("orders.open", GAUGE, "orders", "", "open orders"),
    # positions and risk
    MetricDef("risk.inventory_shares", GAUGE, "shares", "market",
              "net inventory Up - Down per market"),
    MetricDef("risk.position_shares", GAUGE, "shares", "outcome",
              "position per outcome token (dim = <market>-up | <market>-down)"),
    MetricDef("risk.notional_usd", GAUGE, "usd", "",
              "pUSD at risk in the last risk check: positions at cost, open BUYs, in-flight"),
    MetricDef("risk.pnl_usd", GAUGE, "usd", "", "PnL marked to fair"),
    MetricDef("risk.kill_switch", GAUGE, "bool", "", "1 while the kill switch is on"),
    MetricDef("risk.trims", COUNTER, "orders", "reason", "posts trimmed or dropped by a limit"),
    # collateral (the Treasury)
    MetricDef("treasury.txs", COUNTER, "transactions", "",
              "merge and redeem transactions signed (EOA) or batches submitted (relayer)"),
    MetricDef("treasury.failed", COUNTER, "events", "",
              "Treasury failures: refused, reverted, dropped, timed out, chain errors"),
    MetricDef("treasury.pending", GAUGE, "transactions", "", "Treasury transactions in flight"),
    MetricDef("treasury.redeemable_left_usd", GAUGE, "usd", "",
              "pUSD that resolved markets still owe us (winning shares not yet redeemed)"),
    # actor health
    MetricDef("actors.mailbox_depth", GAUGE, "messages", "actor", "mailbox depth per actor"),
    MetricDef("eventlog.backlog", GAUGE, "events", "", "events waiting to be written"),
    MetricDef("eventlog.written", COUNTER, "events", "", "events written"),
)

BY_NAME: dict[str, MetricDef] = {m.name: m for m in TABLE}


# -- Where StatsD puts these names in Graphite -------------------------------------------------
# The npm statsd daemon's graphite backend with ``legacyNamespace: false`` (NOT the daemon's own
# default, which is the legacy layout) and ``globalPrefix: "stats"``; the daemon config shipped in
# conf/grafana/statsd-config.js sets both, and ``percentThreshold: [50, 99]``.

PERCENT_THRESHOLDS: tuple[int, ...] = (50, 99)
"""The daemon's ``percentThreshold``: timers get ``upper_50``/``upper_99`` (p50/p99) etc."""

GRAPHITE_ROOT: dict[str, str] = {COUNTER: "stats.counters", TIMER: "stats.timers",
                                 GAUGE: "stats.gauges"}
COUNTER_STATS: frozenset[str] = frozenset({"count", "rate"})
TIMER_STATS: frozenset[str] = frozenset(
    {"count", "count_ps", "lower", "upper", "mean", "median", "std", "sum", "sum_squares"}
    | {f"{k}_{p}" for p in PERCENT_THRESHOLDS
       for k in ("count", "mean", "upper", "sum", "sum_squares")})


def graphite_path(prefix: str, name: str, dim: str = "", stat: str = "") -> str:
    """The Graphite series the daemon writes for ``<prefix>.<name>[.<dim>]``.

    ``stat`` is required for counters (``count`` | ``rate``) and timers (``upper_99``, ...),
    and must be empty for gauges.
    """
    d = BY_NAME[name]
    allowed = {COUNTER: COUNTER_STATS, TIMER: TIMER_STATS, GAUGE: frozenset({""})}[d.kind]
    if stat not in allowed:
        raise ValueError(f"{name} is a {d.kind}: no Graphite stat {stat!r}")
    if bool(dim) != bool(d.dim):
        raise ValueError(f"{name}: dimension {d.dim or 'none'} expected, got {dim!r}")
    parts = [GRAPHITE_ROOT[d.kind], prefix, name, dim, stat]
    return ".".join(p for p in parts if p)


def parse_graphite_path(path: str, prefix: str) -> tuple[MetricDef, str, str]:
    """``(definition, dim, stat)`` of a Graphite series path (globs allowed in dim position).

    ``prefix`` is matched literally (``polymm.$mode.$instance`` in a dashboard). Raises
    ``ValueError`` naming what is wrong when the path is not one the table can produce.
    """
    found = [(k, f"{root}.{prefix}.") for k, root in GRAPHITE_ROOT.items()
             if path.startswith(f"{root}.{prefix}.")]
    if not found:
        raise ValueError(f"{path}: not under stats.(counters|timers|gauges).{prefix}.")
    kind, head = found[0]
    rest = path[len(head):].split(".")
    stat = ""
    if kind != GAUGE:
        stat = rest.pop() if rest else ""
        stats = COUNTER_STATS if kind == COUNTER else TIMER_STATS
        if stat not in stats:
            raise ValueError(f"{path}: {stat!r} is not a {kind} stat ({sorted(stats)})")
    name = ".".join(rest)
    d = BY_NAME.get(name)
    if d is not None and not d.dim:
        dim = ""
    else:
        name, _, dim = name.rpartition(".")
        d = BY_NAME.get(name)
        if d is None or not d.dim:
            raise ValueError(f"{path}: no metric {'.'.join(rest)!r} in the table "
                             "(or it has no dimension)")
    if d.kind != kind:
        raise ValueError(f"{path}: {d.name} is a {d.kind}, queried as a {kind}")
    return d, dim, stat


HIGH_RATE_TIMERS: frozenset[str] = frozenset({"feed.ws_message_lag_ms"})
"""Timers recorded once per market message: ``statsd.timer_sample_rate`` samples these only,
so low-rate timers (submit latency, tick-to-order) keep every value."""
