"""``bin/polymm backtest EVENTS [--set KEY=VALUE ...] [--sweep KEY=V1,V2,...] [--json]``.

Re-runs the State, Quoter and OrderManager decisions and a fresh paper exchange over a recorded
event log on a virtual clock (``polymm.backtest``), with the run's own parameters overridden by
``--set``. ``--sweep`` runs one backtest per value and prints one row per value. The speed
(log span over wall time) goes to stderr, so the JSON on stdout is the same on every run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP = "backtest the bot's decisions and a paper exchange over a recorded event log"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("events", metavar="EVENTS",
                   help="an event log file or directory (e.g. var/events-dry-run)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one of the run's parameters, e.g. --set "
                        "quoter.half_spread_pips=200 (VALUE is read as YAML)")
    p.add_argument("--sweep", metavar="KEY=V1,V2,...",
                   help="one backtest per value of KEY; prints one row per value")
    p.add_argument("--run", type=int, metavar="N",
                   help="which run of a log that holds several (1-based; default the last)")
    p.add_argument("--json", action="store_true", help="print JSON (a list with --sweep)")


def run(args: argparse.Namespace) -> int:
    from polymm.backtest import (
        backtest_records,
        format_sweep,
        format_table,
        params_of,
        pick_run,
        read_runs,
        sweep_row,
        to_json,
    )
    from polymm.backtest_params import parse_sweep
    from polymm.commands.run import parse_overrides

    overrides = parse_overrides(args.overrides)
    sweep = parse_sweep(args.sweep) if args.sweep else None
    runs = read_runs(args.events)
    if len(runs) > 1 and args.run is None:
        print(f"backtest: the log holds {len(runs)} runs; backtesting the last "
              "(--run N for another)", file=sys.stderr)
    records = pick_run(runs, args.run)
    if sweep is None:
        result = backtest_records(records, overrides)
        print(to_json(result.summary) if args.json else format_table(result.summary))
        print(result.speed_line(), file=sys.stderr)
        return 0
    key, values = sweep
    for value in values:  # every value refused before any backtest runs
        params_of(records, {**overrides, key: value})
    rows: list[dict[str, Any]] = []
    for value in values:
        result = backtest_records(records, {**overrides, key: value})
        rows.append(sweep_row(key, value, result.summary))
        print(f"{key}={value}: {result.speed_line()}", file=sys.stderr)
    print(to_json(rows) if args.json else format_sweep(rows))
    return 0
