"""Backtests over a recorded event log: the bot's decisions and a fresh paper exchange, again.

``backtest_records`` takes one run's journal records (``bin/polymm run`` in any mode writes
them: a dry run records the real tape), resolves the run's parameters with the overrides
(``polymm.backtest_params``), and replays the inputs through ``polymm.backtest_engine.Engine``
on a virtual clock. The result's ``summary`` is what ``bin/polymm backtest --json`` prints and
what the report shows:

* ``fills``, ``volume`` (shares and pUSD notional);
* ``pnl``: total (the paper account with open positions at the State's marks), spread captured
  (each fill against the mid it rested against), inventory (what the positions did after the
  fills: ``total = spread_captured + inventory - fees``), resolutions (paid at 1 per winning
  share by the paper exchange), fees per the market's ``feeSchedule``, the estimated maker
  rebate;
* ``markouts`` at +1, +10 and +60 s (``polymm.backtest_metrics`` says how they are signed);
* ``max_inventory_shares`` and, per market, the time spent quoting (resting orders);
* ``paper``: the paper gateway's account summary, the same keys as a dry run's run summary.

Deterministic: nothing in the summary depends on the wall clock (the speed is reported apart,
``BacktestResult.speedup``). Thread ownership: the caller's thread.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journal import journal_files, read_journal
from messages import Market
from messages.errors import PolymmError
from polymm.backtest_engine import Engine
from polymm.backtest_params import BacktestParams, resolve

PNL_KEYS = ("total_usd", "spread_captured_usd", "inventory_usd", "resolutions_usd", "fees_usd",
            "rebate_estimate_usd")


@dataclass
class BacktestResult:
    """One backtest: its summary (deterministic), the engine it ran on (the report's series),
    and how fast it ran."""

    summary: dict[str, Any]
    engine: Engine
    params: BacktestParams
    span_s: float
    wall_s: float

    @property
    def speedup(self) -> float:
        return self.span_s / self.wall_s if self.wall_s > 0 else float("inf")

    def speed_line(self) -> str:
        return (f"backtest: {self.span_s:.1f} s of log in {self.wall_s:.2f} s "
                f"({self.speedup:.0f}x real time)")


def read_runs(path: str | Path) -> list[list[Any]]:
    """The runs in an event-log directory or file (each ``start`` record opens one), as
    ``bin/polymm replay`` reads them.

    Raises:
        PolymmError: no such path, no journal files, unreadable or empty.
    """
    from polymm.commands.replay import runs_of

    p = Path(path)
    if not p.exists():
        raise PolymmError(f"{p}: no such file or directory")
    if p.is_dir() and not journal_files(p):
        raise PolymmError(f"{p}: no event log files (events-<n>.jsonl) in it")
    try:
        runs = runs_of(read_journal(p))
    except OSError as exc:
        raise PolymmError(f"{exc.filename or p}: cannot read: "
                          f"{exc.strerror or type(exc).__name__}") from None
    if not runs:
        raise PolymmError(f"{p}: the event log is empty")
    return runs


def pick_run(runs: Sequence[list[Any]], number: int | None) -> list[Any]:
    """Run ``number`` (1-based; default the last one).

    Raises:
        PolymmError: no such run.
    """
    if number is None:
        return runs[-1]
    if not 1 <= number <= len(runs):
        raise PolymmError(f"--run: expected 1..{len(runs)}, got {number}")
    return runs[number - 1]


def _inputs(records: Sequence[Any]) -> tuple[dict[str, Any], list[tuple[int, object]]]:
    start = next((r for r in records if r.kind == "start"), None)
    if start is None or not isinstance(start.value, dict):
        raise PolymmError("the log has no 'start' record (was it written by polymm run?)")
    inputs = [(getattr(r.value, "ts_recv_ns", None) or r.ts_ns, r.value)
              for r in records if r.kind == "in"]
    if not inputs:
        raise PolymmError("the log has no recorded inputs ('in' records) to backtest")
    return start.value, inputs


def params_of(records: Sequence[Any],
              overrides: Mapping[str, object] | None = None) -> BacktestParams:
    """The parameters a backtest of ``records`` runs with (to check ``overrides`` up front).

    Raises:
        ConfigError: an override's key or value is refused (the error names the key).
        PolymmError: the records hold no start record.
    """
    return resolve(_inputs(records)[0], overrides or {})


def backtest_records(records: Sequence[Any], overrides: Mapping[str, object] | None = None, *,
                     trace: bool = False) -> BacktestResult:
    """Backtest one run's records with its own parameters and ``overrides``.

    Raises:
        ConfigError: an override's key or value is refused (the error names the key).
        PolymmError: the records hold no start record or no inputs.
    """
    start, inputs = _inputs(records)
    params = resolve(start, overrides or {})
    first = min(ts for ts, _ in inputs)
    last = max(ts for ts, _ in inputs)
    engine = Engine(params, start_ns=first, trace=trace)
    engine.run(inputs, end_ns=last)
    span_s = (last - first) / 1e9
    return BacktestResult(summary=summarize(engine, params, span_s), engine=engine,
                          params=params, span_s=span_s, wall_s=engine.wall_s)


def market_label(m: Market) -> str:
    """How the summary names a market (as the run summary's inventory does)."""
    return f"{m.alias or m.slug}:{m.condition_id[:10]}"


def _usd(micro: int) -> float:
    return round(micro / 1e6, 6)


def summarize(engine: Engine, params: BacktestParams, span_s: float) -> dict[str, Any]:
    """The backtest's numbers (see the module docstring); plain JSON data."""
    ms = engine.measures
    acc = engine.exchange.account()
    total, unmarked = engine.pnl_micro()
    spread, no_mid = ms.spread_captured_micro()
    shares = sum(f.size_micro for f in ms.fills)
    notional = sum(f.size_micro * f.price_pips for f in ms.fills) // 10_000
    state_pnl, _ = engine.model.pnl_micro()
    stats = engine.planner.stats()
    return {
        "log": {"span_s": round(span_s, 3), "inputs": engine.inputs,
                "skipped_recorded_fills": dict(sorted(engine.skipped.items())),
                "snapshots": engine.snapshots, "decisions": engine.decisions},
        "params": params.as_dict(),
        "fills": len(ms.fills),
        "volume": {"shares": shares / 1e6, "usd": _usd(notional)},
        "pnl": {
            "total_usd": _usd(total),
            "spread_captured_usd": _usd(spread),
            "inventory_usd": _usd(total - spread + acc.fees_micro),
            "resolutions_usd": _usd(acc.payout_micro),
            "fees_usd": _usd(acc.fees_micro),
            "rebate_estimate_usd": _usd(acc.rebate_estimate_micro),
            "total_with_rebate_usd": _usd(total + acc.rebate_estimate_micro),
            "cash_usd": _usd(acc.cash_micro),
            "unmarked_positions": unmarked,
            "fills_without_mid": no_mid,
        },
        "pnl_usd": round(state_pnl / 1e6, 6),
        "markouts": ms.markout_summary(),
        "max_inventory_shares": ms.max_position_micro / 1e6,
        "quoting_fraction": ms.quoting_fraction(),
        "markets": ms.market_summary(market_label),
        "orders": {"posted": stats["orders_posted"], "canceled": stats["orders_canceled"],
                   "rejects": dict(sorted(stats["rejects"].items()))},
        "paper": engine.gateway.summary(),
    }


def to_json(obj: Any) -> str:
    """The one JSON form every output uses (sorted keys: byte-identical for equal results)."""
    return json.dumps(obj, sort_keys=True, indent=2)


# -- the readable forms ----------------------------------------------------------------------

def format_table(s: Mapping[str, Any]) -> str:
    """A backtest summary as aligned lines."""
    p, lines = s["pnl"], []

    def row(name: str, value: object) -> None:
        lines.append(f"{name:<28} {value}")

    row("log span (s)", s["log"]["span_s"])
    row("inputs", s["log"]["inputs"])
    row("fills", s["fills"])
    row("volume", f"{s['volume']['shares']:g} shares, ${s['volume']['usd']:.2f}")
    for key in PNL_KEYS:
        row(f"pnl: {key[:-4].replace('_', ' ')}", f"${p[key]:+.4f}")
    row("pnl with rebate", f"${p['total_with_rebate_usd']:+.4f}")
    for h, m in s["markouts"].items():
        mean = "-" if m["mean_pips"] is None else f"{m['mean_pips']:+.1f} pips"
        row(f"markout +{h}", f"{mean}, ${m['usd']:+.4f} ({m['fills']} fills)")
    row("max inventory (shares)", f"{s['max_inventory_shares']:g}")
    row("time quoting", f"{100 * s['quoting_fraction']:.1f} %")
    for name, m in s["markets"].items():
        row(f"  {name}", f"quoting {100 * m['quoting_fraction']:.1f} % of {m['listed_s']:.0f} s, "
                         f"max up/down/net {m['max_up_shares']:g}/{m['max_down_shares']:g}/"
                         f"{m['max_net_shares']:g} shares")
    o = s["orders"]
    row("orders posted / canceled", f"{o['posted']} / {o['canceled']}")
    if o["rejects"]:
        row("rejects", ", ".join(f"{k} {v}" for k, v in o["rejects"].items()))
    return "\n".join(lines)


SWEEP_COLUMNS = (("fills", "fills"), ("volume_usd", "volume $"), ("pnl_usd", "pnl $"),
                 ("spread_captured_usd", "spread $"), ("inventory_usd", "inventory $"),
                 ("markout_10s_pips", "mo+10s pips"), ("max_inventory_shares", "max inv"),
                 ("quoting_fraction", "quoting"))


def sweep_row(key: str, value: object, s: Mapping[str, Any]) -> dict[str, Any]:
    """One sweep value's key numbers."""
    p = s["pnl"]
    return {"key": key, "value": value, "fills": s["fills"], "volume_usd": s["volume"]["usd"],
            "pnl_usd": p["total_usd"], "spread_captured_usd": p["spread_captured_usd"],
            "inventory_usd": p["inventory_usd"], "fees_usd": p["fees_usd"],
            "rebate_estimate_usd": p["rebate_estimate_usd"],
            "markout_1s_pips": s["markouts"]["1s"]["mean_pips"],
            "markout_10s_pips": s["markouts"]["10s"]["mean_pips"],
            "markout_60s_pips": s["markouts"]["60s"]["mean_pips"],
            "max_inventory_shares": s["max_inventory_shares"],
            "quoting_fraction": s["quoting_fraction"]}


def format_sweep(rows: Sequence[Mapping[str, Any]]) -> str:
    """Sweep rows as a table, one line per value."""
    if not rows:
        return ""
    key = str(rows[0]["key"])
    widths = [max(len(key), *(len(str(r["value"])) for r in rows))]
    header = [key.ljust(widths[0])]
    for _, title in SWEEP_COLUMNS:
        widths.append(max(len(title), 10))
        header.append(title.rjust(widths[-1]))
    out = ["  ".join(header)]
    for r in rows:
        cells = [str(r["value"]).ljust(widths[0])]
        for (name, _), w in zip(SWEEP_COLUMNS, widths[1:], strict=True):
            v = r[name]
            text = "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))
            cells.append(text.rjust(w))
        out.append("  ".join(cells))
    return "\n".join(out)
