"""The periodic INFO status line and the run summary (built on the main thread)."""

from __future__ import annotations

from typing import Any

SUMMARY_KEYS = ("orders_posted", "orders_canceled", "rejects", "fills", "events_logged",
                "reconnects", "duplicate_orders", "unknown_orders", "faults_injected",
                "open_orders_after_shutdown")


def _ask(sup: Any, name: str, method: str, timeout: float = 2.0) -> Any:
    ref = sup.actors.refs.get(name)
    if ref is None or not ref.is_alive():
        return None
    return getattr(ref.proxy(), method)().get(timeout=timeout)


def status_line(sup: Any) -> str:
    """One line: markets, book tops, fair values, open orders, inventory, fills, feed lags."""
    st = _ask(sup, "state", "status") or {}
    om = _ask(sup, "order_manager", "stats") or {}
    q = _ask(sup, "quoter", "summary") or {}
    parts = [f"mode={sup.config.mode}"]
    decisions = q.get("decisions", {})
    for m in st.get("markets", []):
        d = decisions.get(m["condition_id"])
        fair = "-" if d is None or d.fair_up_pips is None else f"{d.fair_up_pips / 1e4:.3f}"
        gate = "-" if d is None else d.gate.value
        parts.append(
            f"[{m['alias']} up {_px(m['up_bid'])}/{_px(m['up_ask'])} "
            f"fair {fair} gate {gate} inv {m['inv_up']:.1f}/{m['inv_down']:.1f} "
            f"ttc {m['ttc_s']}s]")
    parts.append(f"open={om.get('open_orders', 0)} posted={om.get('orders_posted', 0)} "
                 f"canceled={om.get('orders_canceled', 0)} fills={om.get('fills', 0)} "
                 f"rejects={sum(om.get('rejects', {}).values())}")
    lags = st.get("lags_ms", {})
    if lags:
        parts.append("lag_ms " + " ".join(f"{k}={v:.0f}" for k, v in sorted(lags.items())))
    return " ".join(parts)


def _px(pips: int | None) -> str:
    return "-" if pips is None else f"{pips / 1e4:.2f}"
