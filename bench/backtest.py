"""``backtest``: how fast ``bin/polymm backtest`` replays a recorded run, in times real time.

A dry run of ``bench.recording.RUN_S`` s is recorded first (``bench.recording``: a stand-in
venue whose tape is swept through the bot's quotes), then ``polymm.backtest.backtest_records``
replays its one run ``repeats`` times on this thread. ``speedup_x`` is the log's span over the
backtest's wall time (the target: at least 100x); ``wall_ms`` is that wall time and
``span_s`` the span, ``fills`` what each replay filled (the same every time: it is
deterministic).

Run alone with ``.venv/bin/python -m bench.backtest [repeats]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench.common import Result
from bench.recording import record_dry_run

SCENARIO = "backtest"
TARGETS = {"speedup_x": ">= 100 (times real time, over a recorded dry run)"}


def time_backtests(records: list[Any], repeats: int) -> Result:
    """``repeats`` backtests of ``records`` (one run's journal records), timed."""
    from polymm.backtest import backtest_records

    res = Result(SCENARIO)
    results = [backtest_records(records) for _ in range(repeats)]
    res.add("speedup_x", [r.speedup for r in results])
    res.add("wall_ms", [r.wall_s * 1e3 for r in results])
    res.set("span_s", round(results[0].span_s, 3))
    res.set("fills", results[0].summary["fills"])
    return res


def measure(repeats: int) -> Result:
    from polymm.backtest import read_runs

    with tempfile.TemporaryDirectory(prefix="polymm-bench-backtest-") as tmp:
        recording = record_dry_run(Path(tmp))
        (records,) = read_runs(recording.events)
    return time_backtests(records, repeats)


if __name__ == "__main__":
    print(orjson.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5).as_json(),
                       option=orjson.OPT_INDENT_2).decode())
