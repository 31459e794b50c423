"""``bin/polymm report EVENTS --out DIR [--set KEY=VALUE ...]``: the run report.

Backtests the recorded log (as ``bin/polymm backtest`` does, same parameters and overrides)
and writes one self-contained HTML page, ``DIR/report.html``, with the plots embedded
(``polymm.report``).
"""

from __future__ import annotations

import argparse
import sys

HELP = "write an HTML report (plots and key numbers) of a backtest over a recorded event log"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("events", metavar="EVENTS",
                   help="an event log file or directory (e.g. var/events-dry-run)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="where to write report.html (created if missing)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one of the run's parameters (as bin/polymm backtest --set)")
    p.add_argument("--run", type=int, metavar="N",
                   help="which run of a log that holds several (1-based; default the last)")


def run(args: argparse.Namespace) -> int:
    from polymm.backtest import pick_run, read_runs
    from polymm.commands.run import parse_overrides
    from polymm.report import write_report

    overrides = parse_overrides(args.overrides)
    runs = read_runs(args.events)
    if len(runs) > 1 and args.run is None:
        print(f"report: the log holds {len(runs)} runs; reporting on the last "
              "(--run N for another)", file=sys.stderr)
    path, result = write_report(pick_run(runs, args.run), args.out, source=str(args.events),
                                overrides=overrides)
    print(path)
    print(result.speed_line(), file=sys.stderr)
    return 0
