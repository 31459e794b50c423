"""The run report: one self-contained HTML page over a backtest of a recorded event log.

``write_report`` backtests the log (``polymm.backtest.backtest_records`` with ``trace=True``:
the same numbers ``bin/polymm backtest --json`` prints, with the series the plots need), draws
the figures (``polymm.report_plots``) and writes ``DIR/report.html``: the key numbers in
elements with stable ids (``<td id="fills">``; each cell's text is the JSON value itself), a
table per market, the figures as base64 PNG ``<img>`` elements (``id="plot-<key>"``), and the
whole summary as JSON in ``<script id="backtest-json" type="application/json">``. No network,
no external file: the page opens from disk anywhere.

Thread ownership: the caller's (the main thread of ``bin/polymm report``).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from polymm.backtest import BacktestResult, backtest_records, to_json
from polymm.report_plots import Plot, all_plots

NUMBERS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("fills", ("fills",), "fills", ""),
    ("volume-shares", ("volume", "shares"), "volume", "shares"),
    ("volume-usd", ("volume", "usd"), "volume (notional)", "pUSD"),
    ("pnl-total", ("pnl", "total_usd"), "PnL, open positions marked", "pUSD"),
    ("pnl-spread", ("pnl", "spread_captured_usd"), "spread captured", "pUSD"),
    ("pnl-inventory", ("pnl", "inventory_usd"), "inventory (after the fills)", "pUSD"),
    ("pnl-resolutions", ("pnl", "resolutions_usd"), "paid at resolutions", "pUSD"),
    ("pnl-fees", ("pnl", "fees_usd"), "fees paid (feeSchedule)", "pUSD"),
    ("pnl-rebate", ("pnl", "rebate_estimate_usd"), "maker rebate (estimate)", "pUSD"),
    ("pnl-with-rebate", ("pnl", "total_with_rebate_usd"), "PnL with the rebate", "pUSD"),
    ("max-inventory", ("max_inventory_shares",), "maximum inventory (one token)", "shares"),
    ("quoting-fraction", ("quoting_fraction",), "time quoting (all markets)", "fraction"),
    ("markout-1s", ("markouts", "1s", "mean_pips"), "markout +1 s (size-weighted)", "pips"),
    ("markout-10s", ("markouts", "10s", "mean_pips"), "markout +10 s (size-weighted)", "pips"),
    ("markout-60s", ("markouts", "60s", "mean_pips"), "markout +60 s (size-weighted)", "pips"),
    ("markout-1s-usd", ("markouts", "1s", "usd"), "markout +1 s, total", "pUSD"),
    ("markout-10s-usd", ("markouts", "10s", "usd"), "markout +10 s, total", "pUSD"),
    ("markout-60s-usd", ("markouts", "60s", "usd"), "markout +60 s, total", "pUSD"),
)
"""The page's key numbers: element id, where the value sits in the summary, label, unit."""

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #212529; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #dee2e6; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-family: monospace; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; }
figcaption { color: #495057; font-size: 0.9em; }
p.note { color: #495057; font-size: 0.9em; max-width: 70em; }
"""


def value_at(summary: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The summary's value at ``path`` (keys, outermost first)."""
    node: Any = summary
    for key in path:
        node = node[key]
    return node


def _cell(value: object, cell_id: str | None = None) -> str:
    ident = f' id="{html.escape(cell_id)}"' if cell_id else ""
    return f'<td class="num"{ident}>{html.escape(json.dumps(value))}</td>'


def _numbers(summary: Mapping[str, Any]) -> str:
    rows = [f"<tr><th>{html.escape(label)}</th>{_cell(value_at(summary, path), ident)}"
            f"<td>{html.escape(unit)}</td></tr>" for ident, path, label, unit in NUMBERS]
    return "<table id=\"numbers\">\n" + "\n".join(rows) + "\n</table>"


def _markets(summary: Mapping[str, Any]) -> str:
    head = ("<tr><th>market</th><th>listed (s)</th><th>quoting (s)</th><th>time quoting</th>"
            "<th>max Up</th><th>max Down</th><th>max net</th></tr>")
    rows = [f"<tr><th>{html.escape(name)}</th>" + "".join(
        _cell(m[k]) for k in ("listed_s", "quoting_s", "quoting_fraction", "max_up_shares",
                              "max_down_shares", "max_net_shares")) + "</tr>"
        for name, m in summary["markets"].items()]
    return "<table id=\"markets\">\n" + "\n".join([head, *rows]) + "\n</table>"


def _figure(p: Plot) -> str:
    data = base64.b64encode(p.png).decode("ascii")
    return (f'<figure><img class="plot" id="plot-{html.escape(p.key)}" '
            f'alt="{html.escape(p.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(p.title)}</figcaption></figure>")


def render(result: BacktestResult, source: str) -> str:
    """The page for one backtest (its ``summary`` and traced series)."""
    s = result.summary
    plots = all_plots(result)
    # The summary as data for tools; "</" is escaped so no value can close the script element.
    data = to_json(s).replace("</", "<\\/")
    params = html.escape(json.dumps(s["params"], indent=2, sort_keys=True))
    markets = [p for p in plots if p.key.startswith("market-")]
    others = [p for p in plots if not p.key.startswith("market-")]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>polymm run report</title>", f"<style>{_STYLE}</style></head><body>",
        "<h1>polymm run report</h1>",
        f"<p>Backtest of <code>{html.escape(source)}</code>: {s['log']['span_s']} s of log, "
        f"{s['log']['inputs']} inputs, {len(s['markets'])} markets, "
        f'<span id="plot-count">{len(plots)}</span> figures.</p>',
        "<h2>Key numbers</h2>", _numbers(s),
        '<p class="note">PnL: the paper account (fills, fees, resolutions) with open positions '
        "marked at the State's marks (book mid, else the last trade; a resolved market's "
        "payout). It splits into the spread captured (each fill against the mid it rested "
        "against), the inventory part (what the positions did after the fills) and the fees. "
        "A markout is the mid h seconds after a fill against the fill's price, signed so that "
        "positive means the price moved our way.</p>",
        "<h2>Markets</h2>", _markets(s),
        *[_figure(p) for p in markets],
        "<h2>Inventory, PnL and markouts</h2>",
        *[_figure(p) for p in others],
        "<h2>Parameters</h2>", f'<pre id="params">{params}</pre>',
        f'<script type="application/json" id="backtest-json">{data}</script>',
        "</body></html>", ""])


def write_report(records: Sequence[Any], out_dir: str | Path, *, source: str,
                 overrides: Mapping[str, object] | None = None) -> tuple[Path, BacktestResult]:
    """Backtest ``records`` and write ``out_dir/report.html``; returns its path and the
    backtest."""
    result = backtest_records(records, overrides, trace=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    path.write_text(render(result, source), encoding="utf-8")
    return path, result


__all__ = ["NUMBERS", "render", "value_at", "write_report"]
