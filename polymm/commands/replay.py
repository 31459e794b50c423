"""``bin/polymm replay PATH [--from T] [--to T]``: recompute and compare every decision."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from polymm.errors import PolymmError

HELP = "replay an event log through the same logic and compare every decision"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="an event log file or directory (var/events)")
    p.add_argument("--from", dest="t_from", help="compare decisions from T (unix s or ISO)")
    p.add_argument("--to", dest="t_to", help="compare decisions up to T (unix s or ISO)")


def parse_time(text: str | None, flag: str) -> int | None:
    """Unix seconds (int or float) or an ISO-8601 time → ns."""
    if text is None:
        return None
    try:
        return int(float(text) * 1e9)
    except ValueError:
        pass
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e9)
    except ValueError:
        raise PolymmError(f"{flag}: expected unix seconds or an ISO time, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from polymm.journal import read_journal
    from polymm.replay import replay_records

    path = Path(args.path)
    if not path.exists():
        raise PolymmError(f"replay: {path}: no such file or directory")
    t_from = parse_time(args.t_from, "--from")
    t_to = parse_time(args.t_to, "--to")
    if t_from is not None and t_to is not None and t_from > t_to:
        raise PolymmError("replay: --from is after --to")
    report = replay_records(read_journal(path), t_from_ns=t_from, t_to_ns=t_to)
    for line in report.lines():
        print(line)
    print("result:", "OK, all decisions match" if report.ok else "DIVERGED")
    return 0 if report.ok else 1
