"""Periodic gauges and the ``/status`` view, built on the main thread from the actors' views.

The supervisor calls ``emit_gauges`` about once a second: inventory and positions per market,
PnL, fair value and spread, gated markets by reason, the kill switch, open orders and every
actor's mailbox depth. These are the slow-moving numbers the dashboard shows; the per-event
timers and counters are emitted where they happen.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from messages import GateReason

logger = logging.getLogger(__name__)

ASK_S = 2.0


def _ask(sup: Any, name: str, method: str) -> Any:
    ref = sup.actors.refs.get(name)
    if ref is None or not ref.is_alive():
        return None
    try:
        return getattr(ref.proxy(), method)().get(timeout=ASK_S)
    except Exception as exc:
        logger.debug("health: %s.%s failed: %s", name, method, exc)
        return None


def market_dims(markets: list[dict[str, Any]]) -> dict[str, str]:
    """condition id → metric dimension: the alias for the soonest-closing window of an alias,
    ``<alias>-next`` for the one after it (aliases repeat across rolling windows)."""
    out: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for m in sorted(markets, key=lambda m: (m["alias"], m["ttc_s"] if m["ttc_s"] is not None
                                            else 1 << 40)):
        n = seen[m["alias"]]
        seen[m["alias"]] += 1
        out[m["condition_id"]] = m["alias"] if n == 0 else (
            f"{m['alias']}-next" if n == 1 else f"{m['alias']}-{n}")
    return out


def _lags(sup: Any) -> dict[str, float]:
    """The last message lag each feed measured on its reader thread."""
    out = {}
    for name in ("market", "user", "price"):
        stats = _ask(sup, f"{name}_feed", "stats") or {}
        if stats.get("lag_ms") is not None:
            out[name] = float(stats["lag_ms"])
    return out


def collect(sup: Any) -> dict[str, Any]:
    """The status view: feeds, lags, markets, orders, inventory, PnL, kill switch."""
    st = _ask(sup, "state", "status") or {}
    om = _ask(sup, "order_manager", "stats") or {}
    q = _ask(sup, "quoter", "summary") or {}
    decisions = q.get("decisions", {})
    markets = []
    for m in st.get("markets", []):
        d = decisions.get(m["condition_id"])
        markets.append({**m, "gate": d.gate.value if d is not None else None,
                        "fair_up_pips": getattr(d, "fair_up_pips", None),
                        "half_spread_pips": getattr(d, "half_spread_pips", None)})
    return {
        "mode": sup.config.mode,
        "feeds": st.get("feeds", {}), "lags_ms": _lags(sup),
        "markets": markets, "orders": om,
        "pnl_usd": st.get("pnl_usd"), "fills": st.get("fills"),
        "kill_switch": bool(st.get("kill_switch")) or bool(om.get("halted")),
        "actors": {n: r.is_alive() for n, r in sup.actors.refs.items()},
        "mailbox_depth": {n: r.actor_inbox.qsize() for n, r in sup.actors.refs.items()},
    }


def healthy(sup: Any) -> tuple[bool, dict[str, Any]]:
    """For ``/healthz``: every actor alive and not stopping."""
    dead = [n for n, r in sup.actors.refs.items() if not r.is_alive()]
    stopping = sup.stop_event.is_set()
    return (not dead and not stopping, {"dead_actors": dead, "stopping": stopping})


def emit_gauges(sup: Any, view: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send the periodic gauges; returns the view it used."""
    m = sup.metrics
    view = view if view is not None else collect(sup)
    if m is None:
        return view
    for name, depth in view["mailbox_depth"].items():
        m.gauge("actors.mailbox_depth", depth, dim=name)
    dims = market_dims(view["markets"])
    gated: Counter[str] = Counter()
    for mk in view["markets"]:
        dim = dims[mk["condition_id"]]
        m.gauge("risk.inventory_shares", mk["inv_up"] - mk["inv_down"], dim=dim)
        m.gauge("risk.position_shares", mk["inv_up"], dim=f"{dim}-up")
        m.gauge("risk.position_shares", mk["inv_down"], dim=f"{dim}-down")
        if mk.get("fair_up_pips") is not None:
            m.gauge("quoter.fair_pips", mk["fair_up_pips"], dim=dim)
        if mk.get("half_spread_pips") is not None:
            m.gauge("quoter.half_spread_pips", mk["half_spread_pips"], dim=dim)
        if mk.get("gate") not in (None, GateReason.NONE.value):
            gated[mk["gate"]] += 1
    for reason in GateReason:
        if reason is not GateReason.NONE:
            m.gauge("quoter.gated_markets", gated.get(reason.value, 0), dim=reason.value)
    if view.get("pnl_usd") is not None:
        m.gauge("risk.pnl_usd", view["pnl_usd"])
    m.gauge("risk.kill_switch", 1 if view["kill_switch"] else 0)
    orders = view.get("orders") or {}
    if "open_orders" in orders:
        m.gauge("orders.open", orders["open_orders"])
    return view


def pnl_report(sup: Any) -> dict[str, Any]:
    """PnL marked to the books (resolved markets at their payout), from the State."""
    ref = sup.actors.refs.get("state")
    if ref is None or not ref.is_alive():
        return {}
    try:
        st = ref.proxy().status().get(timeout=5.0)
    except Exception as exc:
        logger.warning("health: no status from state: %s", exc)
        return {}
    return {"pnl_usd": round(st["pnl_usd"], 6), "unmarked_positions": st["pnl_unmarked"],
            "fills": st["fills"],
            "inventory": {m["alias"] + ":" + m["condition_id"][:10]:
                          {"up": m["inv_up"], "down": m["inv_down"]}
                          for m in st["markets"]}}

def reconnect_counts(sup: Any) -> dict[str, int]:
    """Reconnects per feed, asked of each feed actor before it stops."""
    out = {}
    for name in ("market_feed", "user_feed", "price_feed"):
        ref = sup.actors.refs.get(name)
        if ref is None or not ref.is_alive():
            continue
        try:
            out[name] = int(ref.proxy().stats().get(timeout=2.0).get("reconnects", 0))
        except Exception as exc:
            logger.warning("health: no stats from %s: %s", name, exc)
    return out
