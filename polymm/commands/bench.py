"""``bin/polymm bench [SCENARIO ...] [--json]``: the benchmark suite (also ``make bench``)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from bench.common import calibration_ms
from messages.errors import PolymmError

HELP = "run benchmark scenarios and print their figures"
SCENARIOS = ("sign", "decode", "ingest", "state_path", "om_pass", "tick_to_order", "rest",
             "eventlog", "metrics", "structs", "backtest")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help=f"scenarios to run (default all): {', '.join(SCENARIOS)}")
    p.add_argument("--json", action="store_true", help="one JSON object per line only")
    p.add_argument("--repeats", type=int, default=5, help="runs per figure (median, min, max)")
    p.add_argument("--profile", metavar="DIR", default=None,
                   help="run each scenario under py-spy (every thread) and print where the CPU "
                        "time went; folded stacks are written to DIR/<scenario>.folded")


def run(args: argparse.Namespace) -> int:
    names = args.scenarios or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise PolymmError(f"unknown scenario(s) {', '.join(unknown)}; "
                          f"choose from {', '.join(SCENARIOS)}")
    if args.repeats < 1:
        raise PolymmError(f"--repeats: expected >= 1, got {args.repeats}")
    if args.profile is not None:
        return _profile(names, args)
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        calib_before = calibration_ms()
        try:
            result = module.measure(args.repeats)
        except Exception as exc:  # one broken scenario must not hide the others' figures
            failed += 1
            print(json.dumps({"scenario": name, "error": f"{type(exc).__name__}: {exc}"}),
                  flush=True)
            continue
        obj = result.as_json()
        # The machine's speed around this scenario (a fixed loop, ms; lower is faster).
        obj["calibration_ms"] = [calib_before, calibration_ms()]
        print(json.dumps(obj), flush=True)
        if not args.json:
            print(table(obj, getattr(module, "TARGETS", {})), file=sys.stderr, flush=True)
    return 1 if failed else 0


def _profile(names: list[str], args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.profile import profile

    for name in names:
        obj = profile(name, args.repeats, Path(args.profile))
        print(json.dumps(obj), flush=True)
        if not args.json:
            rows = [f"== {obj['scenario']}: {obj['samples']} running samples "
                    f"({obj['waiting_pct']} % of all were waiting), {obj['folded']}",
                    "  own time:"]
            rows += [f"    {pct:5.1f} %  {fn}" for fn, pct in obj["own_pct"]]
            rows.append("  by thread:")
            rows += [f"    {pct:5.1f} %  {fn}" for fn, pct in obj["threads_pct"]]
            rows.append("  inclusive:")
            rows += [f"    {pct:5.1f} %  {fn}" for fn, pct in obj["inclusive_pct"]]
            print("\n".join(rows), file=sys.stderr, flush=True)
    return 0


def table(obj: dict[str, Any], targets: dict[str, str]) -> str:
    """A scenario's figures as text (``obj``: its JSON line, any figures the scenario has)."""
    spread = obj.get("spread", {})
    calib = obj.get("calibration_ms")
    speed = f"; speed check {calib[0]} / {calib[1]} ms before / after" if calib else ""
    rows = [f"== {obj['scenario']} ({obj.get('machine', '')}{speed})"]
    for key, value in obj.items():
        if key in ("scenario", "spread", "machine", "calibration_ms"):
            continue
        lo_hi = spread.get(key)
        rng = f"  [{lo_hi[0]} .. {lo_hi[1]}]" if lo_hi else ""
        tgt = f"  target {targets[key]}" if key in targets else ""
        rows.append(f"  {key:<24} {value}{rng}{tgt}")
    return "\n".join(rows)
