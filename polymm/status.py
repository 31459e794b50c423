"""The periodic INFO status line (built on the main thread from ``health.collect``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polymm.health import StatusView, collect

if TYPE_CHECKING:
    from polymm.supervisor import Supervisor


def status_line(sup: Supervisor, view: StatusView | None = None) -> str:
    """One line: markets, book tops, fair values, open orders, inventory, fills, collateral
    (with a Treasury), feed lags."""
    view = view if view is not None else collect(sup)
    parts = [f"mode={view['mode']}"]
    for m in view["markets"]:
        fair = "-" if m["fair_up_pips"] is None else f"{m['fair_up_pips'] / 1e4:.3f}"
        parts.append(
            f"[{m['alias']} up {_px(m['up_bid'])}/{_px(m['up_ask'])} "
            f"fair {fair} gate {m['gate'] or '-'} inv {m['inv_up']:.1f}/{m['inv_down']:.1f} "
            f"ttc {m['ttc_s']}s]")
    om = view["orders"]
    parts.append(f"open={om.get('open_orders', 0)} posted={om.get('orders_posted', 0)} "
                 f"canceled={om.get('orders_canceled', 0)} fills={om.get('fills', 0)} "
                 f"rejects={sum(om.get('rejects', {}).values())}")
    c = view["collateral"]
    if c is not None:
        parts.append(f"collateral merged={c['merged_usd']:.2f} redeemed={c['redeemed_usd']:.2f} "
                     f"owed={c['redeemable_left_usd']:.2f} pending={c['pending']}")
    lags = view["lags_ms"]
    if lags:
        parts.append("lag_ms " + " ".join(f"{k}={v:.0f}" for k, v in sorted(lags.items())))
    return " ".join(parts)


def _px(pips: int | None) -> str:
    return "-" if pips is None else f"{pips / 1e4:.2f}"
