"""The run report's figures, drawn with matplotlib's Agg renderer into PNG bytes.

Each function takes a finished backtest (``polymm.backtest.BacktestResult`` run with
``trace=True``) and returns one ``Plot``. Figures are ``matplotlib.figure.Figure`` objects
drawn straight onto an Agg canvas: no pyplot, so no global figure state, no GUI backend and no
display, whatever ``MPLBACKEND`` says. Prices are drawn in the Up token's terms (a Down BUY at
``p`` is an Up ask at ``1 - p``), times as seconds from the log's first input.

Thread ownership: the caller's; nothing is shared between calls.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from messages.ids import PIPS_PER_UNIT, ConditionId
from polymm.backtest_metrics import HORIZONS_S, NS

if TYPE_CHECKING:  # polymm.backtest imports nothing of the report, so only the checker needs it
    from polymm.backtest import BacktestResult

DPI = 100


@dataclass(frozen=True, slots=True)
class Plot:
    """One figure: a stable key (the page's element id), a title and the PNG."""

    key: str
    title: str
    png: bytes


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)  # binds the canvas to the figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _prices(values: Sequence[int | None]) -> list[float]:
    return [float("nan") if v is None else v / PIPS_PER_UNIT for v in values]


def _seconds(ts: Sequence[int], t0_ns: int) -> list[float]:
    return [(t - t0_ns) / NS for t in ts]


def market_plot(result: BacktestResult, index: int, condition_id: ConditionId, label: str,
                t0_ns: int, end_ns: int) -> Plot:
    """Fair value, our quotes and the book's top over time, with our fills marked."""
    ms = result.engine.measures
    s = ms.series[condition_id]
    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot()
    t = _seconds(s.t_ns, t0_ns)
    ax.step(t, _prices(s.bid_pips), where="post", color="#2b8a3e", lw=0.8, label="book bid (Up)")
    ax.step(t, _prices(s.ask_pips), where="post", color="#c92a2a", lw=0.8, label="book ask (Up)")
    ax.step(t, _prices(s.our_bid_pips), where="post", color="#2b8a3e", lw=1.6, ls="--",
            label="our bid: Up BUY")
    ax.step(t, _prices(s.our_ask_pips), where="post", color="#c92a2a", lw=1.6, ls="--",
            label="our ask: 1 - Down BUY")
    ax.plot(t, _prices(s.fair_pips), color="#1c7ed6", lw=1.2, label="fair value P(Up)")
    fills = [f for f in ms.fills if f.condition_id == condition_id]
    for outcome, marker, color, name in ((0, "^", "#2b8a3e", "fill: Up BUY"),
                                         (1, "v", "#c92a2a", "fill: Down BUY (as Up ask)")):
        pts = [f for f in fills if f.outcome_index == outcome]
        if not pts:
            continue
        xs = [(f.t_ns - t0_ns) / NS for f in pts]
        # In Up terms: a Down trade at p is an Up trade at 1 - p.
        ys = [(f.price_pips if outcome == 0 else PIPS_PER_UNIT - f.price_pips) / PIPS_PER_UNIT
              for f in pts]
        ax.scatter(xs, ys, marker=marker, s=[30 + f.size_micro / 1e6 for f in pts],
                   color=color, edgecolors="black", linewidths=0.5, zorder=5, label=name)
    ax.set_xlim(0, max((end_ns - t0_ns) / NS, 1.0))  # every figure on the log's time axis
    ax.set_xlabel("seconds from the log's start")
    ax.set_ylabel("price of Up (pUSD)")
    ax.set_title(f"{label}: fair value, our quotes, the book's top and our fills")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=7, ncol=2)
    return Plot(key=f"market-{index}", title=f"Market {label}", png=_png(fig))


def inventory_plot(result: BacktestResult, labels: dict[ConditionId, str], t0_ns: int,
                   end_ns: int) -> Plot:
    """Each market's Up and Down positions over time (shares)."""
    ms = result.engine.measures
    fig = Figure(figsize=(10, 3.5))
    ax = fig.add_subplot()
    drawn = False
    for cid, s in ms.series.items():
        if not s.inventory:
            continue
        drawn = True
        pts = [(t0_ns, 0, 0), *s.inventory, (end_ns, *s.inventory[-1][1:])]
        t = _seconds([p[0] for p in pts], t0_ns)
        name = labels.get(cid, cid[:10])
        ax.step(t, [p[1] / 1e6 for p in pts], where="post", label=f"{name} Up")
        ax.step(t, [p[2] / 1e6 for p in pts], where="post", ls="--", label=f"{name} Down")
    if not drawn:
        ax.text(0.5, 0.5, "no fills: no inventory", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlim(0, max((end_ns - t0_ns) / NS, 1.0))
    ax.set_xlabel("seconds from the log's start")
    ax.set_ylabel("position (shares)")
    ax.set_title("Inventory")
    ax.grid(True, alpha=0.3)
    if drawn:
        ax.legend(loc="upper left", fontsize=7)
    return Plot(key="inventory", title="Inventory", png=_png(fig))


def pnl_plot(result: BacktestResult, t0_ns: int) -> Plot:
    """PnL over time: the paper account with open positions marked (sampled each second), and
    the spread captured so far."""
    ms = result.engine.measures
    fig = Figure(figsize=(10, 3.5))
    ax = fig.add_subplot()
    pts = ms.pnl_series
    ax.plot(_seconds([p[0] for p in pts], t0_ns), [p[1] / 1e6 for p in pts],
            color="#1c7ed6", label="PnL, open positions marked (pUSD)")
    spread, xs, ys = 0, [0.0], [0.0]
    for f in ms.fills:
        if f.mid_pips is not None:
            spread += f.signed(f.mid_pips) * f.size_micro
        xs.append((f.t_ns - t0_ns) / NS)
        ys.append(spread / PIPS_PER_UNIT / 1e6)
    ax.step(xs, ys, where="post", color="#f08c00", label="spread captured (pUSD)")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("seconds from the log's start")
    ax.set_ylabel("pUSD")
    ax.set_title("Cumulative PnL")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    return Plot(key="pnl", title="Cumulative PnL", png=_png(fig))


def markout_plot(result: BacktestResult) -> Plot:
    """The markouts' distribution per horizon (pips per share, our way positive)."""
    ms = result.engine.measures
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    axes = fig.subplots(1, len(HORIZONS_S), sharey=True)
    for ax, h in zip(axes, HORIZONS_S, strict=True):
        values = [v for f in ms.fills if (v := f.markouts_pips.get(h)) is not None]
        if values:
            ax.hist(values, bins=min(30, max(5, len(values))), color="#5c7cfa",
                    edgecolor="black", linewidth=0.4)
            ax.axvline(0, color="black", lw=0.6)
        else:
            ax.text(0.5, 0.5, "no markouts", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"+{h} s ({len(values)} fills)")
        ax.set_xlabel("pips")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("fills")
    fig.suptitle("Markout distribution: mid at fill + h against the fill price, by side")
    return Plot(key="markouts", title="Markouts", png=_png(fig))


def all_plots(result: BacktestResult) -> list[Plot]:
    """Every figure of the report: one per market (those with a series), then inventory,
    cumulative PnL and markouts."""
    from polymm.backtest import market_label

    ms = result.engine.measures
    t0 = result.engine.start_ns
    end = result.engine.now_ns
    labels: dict[ConditionId, str] = {}
    plots: list[Plot] = []
    for cid in ms.series:
        market = ms.market_of(cid)
        labels[cid] = market_label(market) if market is not None else cid[:10]
    # Markets in the order they were first quoted on; one never seen in a snapshot has no plot.
    shown = sorted((s.t_ns[0], cid) for cid, s in ms.series.items() if s.t_ns)
    for i, (_, cid) in enumerate(shown):
        plots.append(market_plot(result, i, cid, labels[cid], t0, end))
    plots += [inventory_plot(result, labels, t0, end), pnl_plot(result, t0),
              markout_plot(result)]
    return plots
